"""Features for the Handbook's fraud patterns, computed from the contract tables.

The Handbook's frauds come from compromised terminals (every sale for weeks) and compromised
cards (some sales at several times the card's usual amount). Our feature set sees neither
pattern directly: its label-delayed terminal feature counts the cards' frauds elsewhere, and
its card windows sum amounts without comparing the sale with the card's habits. These do, with
the point-in-time rule of `features`: at `as_of` a sale counts only if its time ≤ `as_of`, a
label only if `resolved_at` ≤ `as_of`.

- card: the sale against the card's earlier sales (mean and spread) over 7, 30 and 60 days,
  and the card's last week against its 60 days (a jump in its spending);
- terminal: frauds learnt (resolved) in the last 7, 14 and 28 days, their share of the sales
  they came from, and how long ago the first and last of them happened (a terminal compromised
  since day c shows its first fraud at c).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from data_contracts import OutcomeClass
from data_contracts.units import US_DAY, US_SECOND
from features import Dtype, Entity, Feature, FeatureSet, History
from training.handbook._timeline import Timeline, key_codes
from training.handbook.contract import LABEL_DELAY

__all__ = ["SIGNALS", "handbook_signals"]

CARD_WINDOWS = {"7d": 7, "30d": 30, "60d": 60}
LEARNT_WINDOWS = {"7d": 7, "14d": 14, "28d": 28}
_DELAY_US = int(LABEL_DELAY.total_seconds()) * US_SECOND


def _card(name: str, doc: str, days: int) -> Feature:
    return Feature(name, "handbook_card", Entity.CARD, Dtype.FLOAT, doc,
                   window=dt.timedelta(days=days))  # fmt: skip


def _term(name: str, doc: str, days: int) -> Feature:
    return Feature(name, "handbook_terminal", Entity.TERMINAL, Dtype.FLOAT, doc,
                   window=dt.timedelta(days=days) + LABEL_DELAY,
                   sources=("transactions", "outcomes"), label_delay=True)  # fmt: skip


SIGNALS = FeatureSet(
    name="handbook_signals",
    version="1",
    features=(
        *(
            f
            for w, days in CARD_WINDOWS.items()
            for f in (
                _card(f"card_prior_count_{w}", f"The card's sales before this one, {w}.", days),
                _card(f"card_amount_over_mean_{w}",
                      f"Amount over the mean of the card's earlier sales, {w}.", days),
                _card(f"card_amount_z_{w}",
                      f"Amount in standard deviations from the card's earlier sales, {w}.",
                      days),
                _card(f"card_amount_over_high_{w}",
                      f"Amount over the card's usual high (mean + 2 sd of earlier sales), {w}.",
                      days),
            )
        ),
        _card("card_week_mean_over_60d_mean",
              "Mean of the card's earlier sales over 7 days against over 60 days: a jump in "
              "its spending.", 60),
        *(
            f
            for w, days in LEARNT_WINDOWS.items()
            for f in (
                _term(f"term_frauds_learnt_{w}",
                      f"The terminal's frauds whose label was resolved in the {w} to as_of.",
                      days),
                _term(f"term_fraud_share_learnt_{w}",
                      f"Those frauds over the terminal's sales in the span they came from "
                      f"({w} ending one label delay before as_of).", days),
            )
        ),
        _term("term_days_since_first_fraud_learnt_28d",
              "Days from the earliest fraud learnt in the 28 days to as_of to the sale.", 28),
        _term("term_days_since_last_fraud_learnt_28d",
              "Days from the latest fraud learnt in the 28 days to as_of to the sale.", 28),
    ),
)  # fmt: skip


def _card_signals(points: pl.DataFrame, sales: pl.DataFrame) -> dict[str, np.ndarray]:
    keys, point_keys = key_codes(sales["card_token"], points["card_token"])
    times = sales["ts"].to_numpy().astype(np.int64)
    amount = sales["amount_fen"].to_numpy().astype(np.float64)
    line = Timeline.of(keys, times, max_window=max(CARD_WINDOWS.values()) * US_DAY)
    total, squares = line.running(amount), line.running(amount**2)
    t = points["t"].to_numpy().astype(np.int64)
    a = points["amount_fen"].to_numpy().astype(np.float64)
    # earlier sales only: the sale itself (and any at the same instant) is left out
    end = line.bound(point_keys, t, inclusive=False)
    out: dict[str, np.ndarray] = {}
    means: dict[str, np.ndarray] = {}
    for w, days in CARD_WINDOWS.items():
        start = line.bound(point_keys, t - days * US_DAY, inclusive=True)
        n = (end - start).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = (total[end] - total[start]) / n
            var = np.clip((squares[end] - squares[start]) / n - mean**2, 0.0, None)
            sd = np.sqrt(var)
            out[f"card_prior_count_{w}"] = n
            out[f"card_amount_over_mean_{w}"] = np.where(n > 0, a / mean, np.nan)
            out[f"card_amount_z_{w}"] = np.where(n > 1, (a - mean) / np.maximum(sd, 1.0), np.nan)
            out[f"card_amount_over_high_{w}"] = np.where(n > 1, a / (mean + 2 * sd), np.nan)
            means[w] = np.where(n > 0, mean, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["card_week_mean_over_60d_mean"] = means["7d"] / means["60d"]
    return out


def _terminal_signals(
    points: pl.DataFrame, sales: pl.DataFrame, frauds: pl.DataFrame
) -> dict[str, np.ndarray]:
    t = points["t"].to_numpy().astype(np.int64)
    as_of = points["as_of"].to_numpy().astype(np.int64)
    longest = (max(LEARNT_WINDOWS.values()) + 7) * US_DAY + _DELAY_US
    row_keys, point_keys = key_codes(
        pl.concat([frauds["terminal_id"], sales["terminal_id"]]), points["terminal_id"]
    )
    fraud_keys, sale_keys = row_keys[: frauds.height], row_keys[frauds.height :]
    sale_line = Timeline.of(sale_keys, sales["ts"].to_numpy().astype(np.int64),
                            max_window=longest)  # fmt: skip
    # frauds on the axis of their resolution: a window up to as_of holds only labels known then
    resolved = frauds["resolved_at"].to_numpy().astype(np.int64)
    fraud_line = Timeline.of(fraud_keys, resolved, max_window=longest)
    fraud_tx_time = frauds["ts"].to_numpy().astype(np.int64)
    learnt_end = fraud_line.bound(point_keys, as_of, inclusive=True)
    # the sales the learnt frauds came from: the same span, one nominal delay earlier
    sales_end = sale_line.bound(point_keys, as_of - _DELAY_US, inclusive=True)
    out: dict[str, np.ndarray] = {}
    for w, days in LEARNT_WINDOWS.items():
        start = fraud_line.bound(point_keys, as_of - days * US_DAY, inclusive=True)
        learnt = (learnt_end - start).astype(np.float64)
        sales_start = sale_line.bound(point_keys, as_of - _DELAY_US - days * US_DAY,
                                      inclusive=True)  # fmt: skip
        n_sales = (sales_end - sales_start).astype(np.float64)
        out[f"term_frauds_learnt_{w}"] = learnt
        out[f"term_fraud_share_learnt_{w}"] = np.where(
            n_sales > 0, learnt / np.maximum(n_sales, 1.0), 0.0
        )
        if w == "28d":
            first = fraud_line.first_time(start, learnt_end, fraud_tx_time)
            last = fraud_line.last_time(start, learnt_end, fraud_tx_time)
            out["term_days_since_first_fraud_learnt_28d"] = (t - first) / US_DAY
            out["term_days_since_last_fraud_learnt_28d"] = (t - last) / US_DAY
    return out


def handbook_signals(points: pl.DataFrame, history: History) -> pl.DataFrame:
    """`tx_id`, `as_of` and the `SIGNALS` columns for each point, in point order.

    `points` holds `tx_id` and `as_of` (epoch µs, at or after the sale), as for
    `features.build_features`. Only approved sales count as the card's and terminal's sales.
    """
    sales = history.transactions.filter(
        pl.col("msg_type").is_in(["sale", "preauth_complete"]) & (pl.col("response_code") == "00")
    ).select("tx_id", "ts", "card_token", "terminal_id", "amount_fen")
    p = points.select("tx_id", pl.col("as_of").cast(pl.Int64)).join(
        history.transactions.select(
            "tx_id", pl.col("ts").alias("t"), "card_token", "terminal_id", "amount_fen"
        ),
        on="tx_id",
        how="left",
        maintain_order="left",
    )
    frauds = history.outcomes.filter(pl.col("outcome_class") == OutcomeClass.FRAUD.value).join(
        history.transactions.select("tx_id", "ts", "terminal_id"), on="tx_id"
    )
    columns = {**_card_signals(p, sales), **_terminal_signals(p, sales, frauds)}
    return p.select("tx_id", "as_of").with_columns(
        [pl.Series(f.name, columns[f.name], dtype=pl.Float64) for f in SIGNALS.features]
    )
