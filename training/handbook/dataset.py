"""The Handbook's transactions as labelled, featured rows: our pipeline's features and signals.

`model_features` builds, for every sale of the days asked for (scored at its own time), the
part of settlewatch's feature set that can say something here (`PIPELINE_SET`) with
`features.build_features`, and the Handbook-specific `SIGNALS`. The pipeline runs one week of
points at a time on the history slice those points' declared windows need, as the online
reader sizes its slice, plus the sales of every label resolved by then; the features whose
value would still depend on where that slice starts (all-time, windowless label counts) are
left out, and so are the settlement families, constant on data that has no settlement.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import polars as pl

import features
from data_contracts.units import BEIJING_US, US_DAY, US_SECOND
from features import FEATURE_SET, Feature, FeatureSet, History
from training.handbook.signals import SIGNALS, handbook_signals

__all__ = ["MODEL_SET", "PIPELINE_SET", "labelled_rows", "model_features"]

CHUNK_DAYS = 7
#: Families of settlewatch's set that describe the sale, its card, terminal and merchant.
_FAMILIES = ("transaction", "card", "terminal", "merchant")
#: Always the same here: no benign outcomes, no payee-account changes.
_CONSTANT = ("m_prior_delays_90d", "m_prior_account_errors_90d", "m_days_since_payee_change")


def _kept(f: Feature) -> bool:
    windowless_label = f.label_delay and f.window is None
    return f.family in _FAMILIES and not windowless_label and f.name not in _CONSTANT


#: The part of settlewatch's feature set the benchmark builds.
PIPELINE_SET = FeatureSet(
    name=f"{FEATURE_SET.name}_handbook",
    version=FEATURE_SET.version,
    features=tuple(f for f in FEATURE_SET.features if _kept(f)),
)
#: What the model sees: the pipeline's part, then the Handbook signals.
MODEL_SET = FeatureSet(
    name="handbook_model", version="1", features=PIPELINE_SET.features + SIGNALS.features
)

Progress = Callable[[str], None]


def _noop(step: str) -> None:
    del step


def _local_day(expr: pl.Expr) -> pl.Expr:
    return pl.from_epoch((expr + BEIJING_US) // US_DAY, time_unit="d")


def labelled_rows(history: History) -> pl.DataFrame:
    """Every transaction's `tx_id`, `day` (Beijing date), `card` and `fraud` (from outcomes)."""
    fraud_ids = history.outcomes.filter(pl.col("outcome_class") == "fraud").select("tx_id")
    return history.transactions.select(
        "tx_id",
        _local_day(pl.col("ts")).alias("day"),
        pl.col("card_token").alias("card"),
        pl.col("tx_id").is_in(fraud_ids["tx_id"].implode()).cast(pl.Int8).alias("fraud"),
    )


def _chunks(days: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive runs of `days`, cut into at most CHUNK_DAYS each: `[first, end)` pairs."""
    out: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if out and out[-1][1] == day and (day - out[-1][0]).days < CHUNK_DAYS:
            out[-1] = (out[-1][0], day + dt.timedelta(days=1))
        else:
            out.append((day, day + dt.timedelta(days=1)))
    return out


def _us(day: dt.date) -> int:
    return (day - dt.date(1970, 1, 1)).days * US_DAY - BEIJING_US


def _slice(history: History, start_us: int, end_us: int) -> History:
    """The history a chunk of points in `[start_us, end_us)` needs (their windows' reach)."""
    lookback = max(f.window for f in PIPELINE_SET.features if f.window is not None)
    reach = start_us - int(lookback.total_seconds()) * US_SECOND - US_DAY
    # Labels resolved by then keep their transaction, however old: a label-delayed feature
    # (a card's fraud elsewhere) may read a label whose sale is older than every window.
    labelled = history.outcomes.filter(pl.col("resolved_at") < end_us).select("tx_id")
    tx = history.transactions.filter(
        pl.col("ts").is_between(reach, end_us, closed="left")
        | pl.col("tx_id").is_in(labelled["tx_id"].implode())
    )
    return History(
        merchants=history.merchants,
        terminals=history.terminals,
        transactions=tx,
        settlement_events=history.settlement_events.join(tx.select("tx_id"), on="tx_id",
                                                         how="semi"),
        claims=history.claims.join(tx.select("tx_id"), on="tx_id", how="semi"),
        outcomes=history.outcomes.filter(pl.col("resolved_at") < end_us).join(
            tx.select("tx_id"), on="tx_id", how="semi"
        ),
    )  # fmt: skip


def model_features(
    history: History, *, days: Iterable[dt.date], progress: Progress = _noop
) -> pl.DataFrame:
    """`tx_id` and the `MODEL_SET` columns of every transaction on `days`, scored at its time."""
    parts: list[pl.DataFrame] = []
    for first, end in _chunks(days):
        start_us, end_us = _us(first), _us(end)
        progress(f"features {first.isoformat()}..{(end - dt.timedelta(days=1)).isoformat()}")
        piece = _slice(history, start_us, end_us)
        points = piece.transactions.filter(pl.col("ts") >= start_us).select(
            "tx_id", pl.col("ts").alias("as_of")
        )
        parts.append(features.build_features(points, piece, feature_set=PIPELINE_SET))
    if not parts:
        return pl.DataFrame(schema={"tx_id": pl.String, **{n: pl.Float64 for n in MODEL_SET.names}})
    built = pl.concat(parts, how="vertical_relaxed")
    progress("Handbook signals")
    signals = handbook_signals(built.select("tx_id", "as_of"), history)
    return built.drop("as_of").join(signals.drop("as_of"), on="tx_id", how="left")
