"""The mechanics of DOMAIN.md show in the simulated data."""

from __future__ import annotations

import pathlib

import pandas as pd
import pytest

from simulator import SimulationConfig, simulate


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    out = tmp_path_factory.mktemp("sim_mechanics")
    # more skimming and card-testing terminals than the defaults, so a small run shows them
    cfg = SimulationConfig(
        merchants=150,
        days=40,
        seed=5,
        skimming_terminal_share=0.03,
        void_after_sale_terminal_share=0.03,
    )
    simulate(cfg, out_dir=out)
    frames = {p.stem: pd.read_parquet(p) for p in pathlib.Path(out).glob("*.parquet")}
    frames["scored"] = (
        frames["outcomes"]
        .merge(frames["transactions"], on="tx_id")
        .merge(frames["merchants"][["merchant_id", "bank_tier"]], on="merchant_id")
    )
    return frames


def test_outage_delays_cluster_by_bank_tier_and_time(data: dict[str, pd.DataFrame]) -> None:
    outage = data["scored"][data["scored"]["outcome_reason"] == "bank_outage"]
    assert len(outage) >= 50
    # money held back by an outage lands together when the bank is back
    cells = outage.groupby(["bank_tier", outage["resolved_at"].dt.floor("6h")]).agg(
        rows=("tx_id", "size"), merchants=("merchant_id", "nunique")
    )
    cells = cells.sort_values("rows", ascending=False)
    assert cells["rows"].head(3).sum() >= 0.5 * len(outage)
    assert cells["merchants"].iloc[0] >= 3
    assert len(cells) <= len(outage) / 5


def test_skimmed_cards_show_fraud_elsewhere_later(data: dict[str, pd.DataFrame]) -> None:
    tx, scored = data["transactions"], data["scored"]
    skimmers = set(scored.loc[scored["outcome_reason"] == "skimming", "terminal_id"])
    assert skimmers
    sales = tx[tx["msg_type"] == "sale"]
    first_visit = sales[sales["terminal_id"].isin(skimmers)].groupby("card_token")["ts"].min()
    stolen = scored[scored["outcome_reason"] == "stolen_card"]
    later = stolen.merge(first_visit.rename("visit").reset_index(), on="card_token")
    later = later[(later["ts"] > later["visit"]) & ~later["terminal_id"].isin(skimmers)]
    skimmed_rate = later["card_token"].nunique() / len(first_visit)
    others = set(sales["card_token"]) - set(first_visit.index)
    other_rate = stolen[stolen["card_token"].isin(others)]["card_token"].nunique() / len(others)
    assert skimmed_rate > 3 * other_rate


def test_void_after_sale_voids_a_small_sale_minutes_later_on_the_same_terminal(
    data: dict[str, pd.DataFrame],
) -> None:
    tx, scored = data["transactions"], data["scored"]
    testers = set(scored.loc[scored["outcome_reason"] == "void_after_sale", "terminal_id"])
    assert testers
    voids = tx[tx["msg_type"] == "void"].merge(
        tx[["tx_id", "ts", "terminal_id", "card_token", "amount_fen", "msg_type"]],
        left_on="original_tx_id",
        right_on="tx_id",
        suffixes=("", "_sale"),
    )
    assert (voids["terminal_id"] == voids["terminal_id_sale"]).all()
    assert (voids["msg_type_sale"] == "sale").all()
    gap = (voids["ts"] - voids["ts_sale"]).dt.total_seconds()
    on_testers = voids["terminal_id"].isin(testers)
    quick = on_testers & (gap <= 600)
    assert quick.sum() >= 0.5 * on_testers.sum()
    # many distinct cards are tested on each such terminal, with small amounts
    assert voids[quick].groupby("terminal_id")["card_token"].nunique().min() >= 5
    assert voids.loc[quick, "amount_fen_sale"].median() < 5_000
    # elsewhere voids are the cashier's corrections, spread over the batch
    assert gap[~on_testers].median() > 600


def test_batch_not_closed_means_a_late_batch_close(data: dict[str, pd.DataFrame]) -> None:
    scored, ev = data["scored"], data["settlement_events"]
    late = scored[scored["outcome_reason"] == "batch_not_closed"]
    assert len(late) > 0
    closed = ev[ev["event_type"] == "batch_closed"].set_index("tx_id")["ts"]
    gap_days = closed.reindex(late["tx_id"]).to_numpy() - late["ts"].to_numpy()
    assert (pd.to_timedelta(gap_days) > pd.Timedelta(hours=20)).all()


def test_account_error_fails_every_payout_until_fixed(data: dict[str, pd.DataFrame]) -> None:
    ev = data["settlement_events"]
    errors = data["scored"][data["scored"]["outcome_reason"] == "account_error"]
    failed = set(ev.loc[ev["event_type"] == "payout_failed", "tx_id"])
    assert len(errors) > 0
    assert set(errors["tx_id"]) <= failed
    sends = ev[ev["event_type"] == "payout_sent"].sort_values("ts").drop_duplicates("tx_id")
    for merchant, group in sends.groupby("merchant_id"):
        hit = group["tx_id"].isin(failed).to_numpy()
        if hit.sum() < 2:
            continue
        first, last = hit.argmax(), len(hit) - 1 - hit[::-1].argmax()
        assert hit[first : last + 1].mean() > 0.9, merchant


def test_no_event_type_or_hold_code_belongs_to_fraud_alone(data: dict[str, pd.DataFrame]) -> None:
    ev = data["settlement_events"].merge(data["outcomes"], on="tx_id")
    benign = ev[ev["outcome_class"] == "benign_delay"]
    assert set(ev["event_type"]) <= set(benign["event_type"])
    held = ev[ev["event_type"] == "held"]
    for code, rows in held.groupby("reason_code"):
        assert (rows["outcome_class"] == "benign_delay").mean() > 0.3, code
