"""Analysts' labels (the review queue's export) merged into a data folder's outcomes.

An analyst's decision is the newest word on a transaction: it replaces the label the folder
holds for the same `tx_id` (override) and adds one where there was none (extend). Each label
keeps its own `resolved_at`, so "labels as of a cutoff" still sees it only from the moment the
analyst decided. A label for a transaction the folder does not hold is dropped and counted: it
could never be a training point there, and the contract forbids the dangling reference.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from data_contracts import OUTCOMES, TABLES, LabelSource

__all__ = ["LabelMerge", "merge_outcomes", "with_analyst_labels"]

_COLUMNS = [c.name for c in OUTCOMES.columns]


@dataclass(frozen=True, slots=True)
class LabelMerge:
    """How the analysts' labels changed a folder's outcomes."""

    data_dir: Path
    labels_in: int
    overridden: int
    added: int
    dropped_unknown_tx: int
    outcomes_before: int
    outcomes_after: int


def _latest_per_tx(labels: pl.DataFrame) -> pl.DataFrame:
    # a case decided twice (re-opened, re-decided) counts by its last decision
    return labels.sort("resolved_at", "tx_id").unique(subset="tx_id", keep="last")


def merge_outcomes(
    outcomes: pl.DataFrame, labels: pl.DataFrame, *, known_tx: pl.Series
) -> tuple[pl.DataFrame, LabelMerge]:
    """The outcomes with the analysts' labels laid over them, and what changed.

    `outcomes` and `labels` are contract `outcomes` frames (the same column types); `known_tx`
    holds the folder's transaction ids. The returned `LabelMerge.data_dir` is empty.

    Raises:
        ValueError: `labels` lacks a contract column or holds a label not from an analyst.
    """
    missing = [c for c in _COLUMNS if c not in labels.columns]
    if missing:
        raise ValueError(f"the labels file has no {', '.join(missing)} column")
    sources = set(labels["label_source"].unique().to_list())
    if sources - {LabelSource.ANALYST.value}:
        raise ValueError(f"labels must come from analysts, found label_source {sorted(sources)}")
    labels = labels.select(_COLUMNS).cast(outcomes.select(_COLUMNS).schema)
    latest = _latest_per_tx(labels)
    usable = latest.filter(pl.col("tx_id").is_in(known_tx.implode()))
    existing = outcomes.select("tx_id")
    overridden = usable.join(existing, on="tx_id", how="semi").height
    merged = pl.concat(
        [outcomes.select(_COLUMNS).join(usable, on="tx_id", how="anti"), usable]
    ).sort("resolved_at", "tx_id")
    report = LabelMerge(
        data_dir=Path(),
        labels_in=labels.height,
        overridden=overridden,
        added=usable.height - overridden,
        dropped_unknown_tx=latest.height - usable.height,
        outcomes_before=outcomes.height,
        outcomes_after=merged.height,
    )
    return merged, report


def with_analyst_labels(*, data_dir: Path, labels: Path | None, out_dir: Path) -> LabelMerge:
    """Copy `data_dir`'s contract tables to `out_dir` with `labels` merged into its outcomes.

    Without a labels file (None, or a file with no rows) the copy holds the outcomes as they
    were, so a retraining notebook follows one path whether or not analysts decided anything.

    Raises:
        ValueError: `out_dir` is `data_dir`, or the labels file is unusable (see
            `merge_outcomes`).
    """
    if out_dir.resolve() == data_dir.resolve():
        raise ValueError("the merged folder must not be the input folder: it is never modified")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        source = data_dir / f"{name}.parquet"
        if name != OUTCOMES.name and source.exists():
            shutil.copyfile(source, out_dir / source.name)
    outcomes = pl.read_parquet(data_dir / f"{OUTCOMES.name}.parquet")
    decided = pl.read_parquet(labels) if labels is not None else outcomes.clear()
    known_tx = pl.read_parquet(data_dir / "transactions.parquet", columns=["tx_id"])["tx_id"]
    merged, report = merge_outcomes(outcomes, decided, known_tx=known_tx)
    merged.write_parquet(out_dir / f"{OUTCOMES.name}.parquet")
    return replace(report, data_dir=out_dir)
