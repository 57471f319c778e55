"""The library functions the notebooks call, on tiny hand-made inputs."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest

from data_contracts import CARD_TRAPPING_REASONS, FRAUD_REASONS
from training.analyst_labels import merge_outcomes, with_analyst_labels
from training.compare import comparison_table
from training.explore import PATTERNS
from training.registry import ChampionCheck, Comparison

BEIJING = dt.timezone(dt.timedelta(hours=8))


def _outcomes(rows: list[tuple[str, str, str, int, str]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "tx_id": [r[0] for r in rows],
            "outcome_class": [r[1] for r in rows],
            "outcome_reason": [r[2] for r in rows],
            "resolved_at": [dt.datetime(2026, 3, r[3], tzinfo=BEIJING) for r in rows],
            "label_source": [r[4] for r in rows],
        },
        schema_overrides={"resolved_at": pl.Datetime("us", "Asia/Shanghai")},
    )


OUTCOMES = _outcomes(
    [
        ("tx_a", "benign_delay", "bank_outage", 2, "settlement"),
        ("tx_b", "benign_delay", "risk_review_hold", 3, "settlement"),
    ]
)
KNOWN = pl.Series("tx_id", ["tx_a", "tx_b", "tx_c"])


def test_an_analyst_overrides_extends_and_unknown_transactions_are_dropped() -> None:
    labels = _outcomes(
        [
            ("tx_b", "fraud", "cash_out", 4, "analyst"),
            ("tx_c", "card_trapping", "skimming", 5, "analyst"),
            ("tx_z", "fraud", "stolen_card", 5, "analyst"),
        ]
    )
    merged, report = merge_outcomes(OUTCOMES, labels, known_tx=KNOWN)
    by_tx = {r["tx_id"]: r for r in merged.to_dicts()}
    assert set(by_tx) == {"tx_a", "tx_b", "tx_c"}
    assert by_tx["tx_a"]["label_source"] == "settlement"
    assert (by_tx["tx_b"]["outcome_reason"], by_tx["tx_b"]["label_source"]) == (
        "cash_out",
        "analyst",
    )
    # the analyst's own decision time, so a cutoff before it still sees the old label
    assert by_tx["tx_b"]["resolved_at"] == dt.datetime(2026, 3, 4, tzinfo=BEIJING)
    assert (report.overridden, report.added, report.dropped_unknown_tx) == (1, 1, 1)
    assert (report.outcomes_before, report.outcomes_after) == (2, 3)


def test_a_case_decided_twice_counts_by_its_last_decision() -> None:
    labels = _outcomes(
        [
            ("tx_c", "fraud", "cash_out", 6, "analyst"),
            ("tx_c", "benign_delay", "not_yet_due", 4, "analyst"),
        ]
    )
    merged, report = merge_outcomes(OUTCOMES, labels, known_tx=KNOWN)
    assert merged.filter(pl.col("tx_id") == "tx_c")["outcome_reason"].to_list() == ["cash_out"]
    assert report.added == 1


def test_labels_not_from_analysts_are_refused() -> None:
    with pytest.raises(ValueError, match="analysts"):
        merge_outcomes(OUTCOMES, OUTCOMES, known_tx=KNOWN)


def test_the_merged_copy_leaves_the_input_untouched(tmp_path: Path) -> None:
    source = tmp_path / "in"
    source.mkdir()
    OUTCOMES.write_parquet(source / "outcomes.parquet")
    pl.DataFrame({"tx_id": KNOWN}).write_parquet(source / "transactions.parquet")
    before = (source / "outcomes.parquet").read_bytes()
    labels = tmp_path / "labels.parquet"
    _outcomes([("tx_c", "fraud", "cash_out", 6, "analyst")]).write_parquet(labels)

    report = with_analyst_labels(data_dir=source, labels=labels, out_dir=tmp_path / "out")
    assert report.data_dir == tmp_path / "out"
    assert pl.read_parquet(tmp_path / "out" / "outcomes.parquet").height == 3
    assert (tmp_path / "out" / "transactions.parquet").exists()
    assert (source / "outcomes.parquet").read_bytes() == before

    none = with_analyst_labels(data_dir=source, labels=None, out_dir=tmp_path / "plain")
    assert (none.labels_in, none.outcomes_after) == (0, 2)
    with pytest.raises(ValueError, match="never modified"):
        with_analyst_labels(data_dir=source, labels=labels, out_dir=source)


def test_the_comparison_table_signs_gains_and_applies_the_rules() -> None:
    candidate = {"risk.pr_auc": 0.80, "risk.ece": 0.05, "eta.p90_coverage": 0.9}
    champion = {"risk.pr_auc": 0.75, "risk.ece": 0.03, "eta.p90_coverage": 0.8}
    check = ChampionCheck("1", candidate, champion, Comparison(False, ("risk.ece",), ""))
    table = comparison_table(check)
    assert table.loc["risk.pr_auc", "gain"] == pytest.approx(0.05)
    assert table.loc["risk.pr_auc", "passes"] is True
    # lower ECE is better: 0.05 against 0.03 loses 0.02, beyond the 0.01 tolerance
    assert table.loc["risk.ece", "gain"] == pytest.approx(-0.02)
    assert table.loc["risk.ece", "passes"] is False
    assert table.loc["eta.p90_coverage", "rule"] == ""

    first = comparison_table(ChampionCheck(None, candidate, None, Comparison(True, (), "")))
    assert math.isnan(first.loc["risk.pr_auc", "champion"])
    assert first.loc["risk.pr_auc", "passes"] is None


def test_every_fraud_and_trapping_reason_has_its_signals() -> None:
    assert {p.reason for p in PATTERNS} == set(FRAUD_REASONS) | set(CARD_TRAPPING_REASONS)
