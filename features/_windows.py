"""The point-in-time rule and the window primitives, in one place.

The rule: at `as_of`, an event counts only if its time ≤ `as_of`, and a label only if its
`resolved_at` ≤ `as_of`. Every window is half-open to the past, `(anchor - W, anchor]`, with
`anchor` ≤ `as_of`, so a window can never see past `as_of`.

Two ways to aggregate a window, chosen by cost, with identical results wherever both apply:

- `window_sums`: counts and integer sums over long windows, as differences of per-key running
  totals found by as-of joins (O(n log n), exact in integers);
- `window_rows`: a range join of each point with its key's rows in the window, for distinct
  counts and anything else that needs the rows themselves (use on short or sparse histories).
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

# the units are data_contracts'; named here too, so the families import one module
from data_contracts.units import US_DAY, US_HOUR, US_MINUTE

__all__ = ["US_DAY", "US_HOUR", "US_MINUTE", "window_rows", "window_sums"]


def window_sums(
    points: pl.DataFrame,
    rows: pl.DataFrame,
    *,
    key: str,
    anchor: str,
    time: str,
    windows: Mapping[str, int],
    values: Mapping[str, pl.Expr],
) -> pl.DataFrame:
    """Integer sums of `values` over `rows` of each point's `key` in each window.

    Args:
        points: frame with `pid`, `key` and `anchor` (epoch µs).
        rows: history rows with `key` and `time` (epoch µs).
        windows: suffix -> window length in µs; output columns are `<value>_<suffix>`.
        values: name -> integer expression evaluated on `rows` (1 per row counts rows).

    Returns:
        `pid` plus one Int64 column per value and window (0 when nothing falls inside).
    """
    names = list(values)
    if points.height <= FEW_POINTS:
        return _window_sums_by_rows(points, rows, key=key, anchor=anchor, time=time,
                                    windows=windows, values=values)  # fmt: skip
    running = (
        rows.select(
            pl.col(key),
            pl.col(time).alias("_t"),
            *[expr.cast(pl.Int64).alias(n) for n, expr in values.items()],
        )
        .sort(key, "_t")
        .with_columns([pl.col(n).cum_sum().over(key) for n in names])
        # Rows at the same instant: the running total after the last of them counts.
        .group_by(key, "_t", maintain_order=True)
        .last()
    )
    base = points.select("pid", key, anchor)

    def totals_at(offset: int, suffix: str) -> pl.DataFrame:
        probe = base.with_columns((pl.col(anchor) - offset).alias("_at")).sort("_at")
        joined = probe.join_asof(
            running,
            left_on="_at",
            right_on="_t",
            by=key,
            strategy="backward",
            check_sortedness=False,
        )
        return joined.select(
            "pid", *[pl.col(n).fill_null(0).alias(f"{n}{suffix}") for n in names]
        ).sort("pid")

    now = totals_at(0, "")
    out = now.select("pid")
    for suffix, length in windows.items():
        before = totals_at(length, "_start")
        out = out.with_columns(
            [(now[n] - before[f"{n}_start"]).alias(f"{n}_{suffix}") for n in names]
        )
    return out


#: Up to this many points (the online path scores one), sums come from the rows themselves:
#: three operations instead of a dozen sorts and as-of joins. Both ways give the same integers.
FEW_POINTS = 16


def _window_sums_by_rows(
    points: pl.DataFrame,
    rows: pl.DataFrame,
    *,
    key: str,
    anchor: str,
    time: str,
    windows: Mapping[str, int],
    values: Mapping[str, pl.Expr],
) -> pl.DataFrame:
    longest = max(windows.values())
    picked = rows.select(
        pl.col(key), pl.col(time).alias("_t"),
        *[expr.cast(pl.Int64).alias(n) for n, expr in values.items()],
    )  # fmt: skip
    joined = (
        points.select("pid", key, anchor)
        .join(picked, on=key, how="inner")
        .filter((pl.col("_t") <= pl.col(anchor)) & (pl.col("_t") > pl.col(anchor) - longest))
    )
    sums = joined.group_by("pid").agg(
        pl.col(n).filter(pl.col("_t") > pl.col(anchor) - length).sum().alias(f"{n}_{suffix}")
        for suffix, length in windows.items()
        for n in values
    )
    columns = [f"{n}_{suffix}" for suffix in windows for n in values]
    return (
        points.select("pid")
        .join(sums, on="pid", how="left")
        .select("pid", *[pl.col(c).fill_null(0).cast(pl.Int64) for c in columns])
        .sort("pid")
    )


def window_rows(
    points: pl.DataFrame,
    rows: pl.DataFrame,
    *,
    on: str | list[str],
    anchor: str,
    time: str,
    length: int | None,
    upper: str | None = None,
) -> pl.DataFrame:
    """Each point joined to its rows with `anchor - length < time ≤ anchor`.

    With `upper`, the window is `(anchor, upper]` instead (what happened after the anchor,
    up to `upper` ≤ as_of), and `length` is ignored. Points without rows are absent. A bounded
    window joins through time buckets of its own length (a point meets only its bucket and
    the one before), so a busy key costs what its window holds, not its whole history.
    """
    keys = [on] if isinstance(on, str) else list(on)
    if upper is not None:
        keep = (pl.col(time) > pl.col(anchor)) & (pl.col(time) <= pl.col(upper))
        return points.join(rows, on=keys, how="inner", suffix="_h").filter(keep)
    if length is None:
        return points.join(rows, on=keys, how="inner", suffix="_h").filter(
            pl.col(time) <= pl.col(anchor)
        )
    bucketed = rows.with_columns((pl.col(time) // length).alias("_bucket"))
    probes = points.with_columns(
        ((pl.col(anchor) // length) - pl.int_range(0, 2).implode()).alias("_bucket")
    ).explode("_bucket")
    keep = (pl.col(time) > pl.col(anchor) - length) & (pl.col(time) <= pl.col(anchor))
    return (
        probes.join(bucketed, on=[*keys, "_bucket"], how="inner", suffix="_h")
        .filter(keep)
        .drop("_bucket")
    )
