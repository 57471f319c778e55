"""Windows over many keys at once on one sorted axis, for the Handbook's features.

Rows of every key are laid on one int64 axis, key-major then time (then input order), with a
gap between keys wider than any window, so a window of one key is a slice found by binary
search, and a sum over it is a difference of running totals: O((rows + points) log rows),
exact in integers. The point-in-time rule is the caller's choice of bounds: `(lo, hi]` or
`(lo, hi)` relative to each point's own time, never past it unless the caller asks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = ["Timeline", "key_codes"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def key_codes(rows: pl.Series, points: pl.Series) -> tuple[I64, I64]:
    """Dense integer codes of two key columns over one shared vocabulary."""
    both = pl.concat([rows.cast(pl.String), points.cast(pl.String)]).rank("dense")
    codes = both.cast(pl.Int64).to_numpy()
    return codes[: rows.len()], codes[rows.len() :]


@dataclass(frozen=True)
class Timeline:
    """Rows sorted key-major then by time; `order[i]` is the input row at sorted position i."""

    axis: I64
    order: I64
    base: int
    stride: int

    @classmethod
    def of(cls, keys: I64, times: I64, *, max_window: int) -> Timeline:
        """Lay rows (`keys` as non-negative codes, `times` as int64) on the axis.

        `max_window` bounds every offset later asked for, so no window crosses into a
        neighbouring key.
        """
        keys = np.asarray(keys, dtype=np.int64)
        times = np.asarray(times, dtype=np.int64)
        if len(times) == 0:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.int64), 0, 1)
        base = int(times.min()) - 2 * max_window - 1
        stride = int(times.max()) - base + 2 * max_window + 1
        order = np.lexsort((np.arange(len(times)), times, keys)).astype(np.int64)
        axis = keys[order] * stride + (times[order] - base)
        return cls(axis, order, base, stride)

    def bound(self, keys: I64, times: I64, *, inclusive: bool) -> I64:
        """Sorted position after the rows of `keys` at time < `times` (≤ when inclusive)."""
        probe = np.asarray(keys, np.int64) * self.stride + (np.asarray(times, np.int64) - self.base)
        return np.searchsorted(self.axis, probe, side="right" if inclusive else "left").astype(
            np.int64
        )

    def running(self, values: npt.ArrayLike) -> F64:
        """Running totals of per-row `values` in axis order, with a leading zero."""
        v = np.asarray(values, dtype=np.float64)[self.order]
        return np.concatenate([[0.0], np.cumsum(v)])

    def first_time(self, start: I64, end: I64, times: I64) -> F64:
        """Time of the first row in each slice `[start, end)`, NaN for an empty slice."""
        return self._pick(start, end, times, start)

    def last_time(self, start: I64, end: I64, times: I64) -> F64:
        """Time of the last row in each slice `[start, end)`, NaN for an empty slice."""
        return self._pick(start, end, times, end - 1)

    def _pick(self, start: I64, end: I64, times: I64, at: I64) -> F64:
        sorted_times = np.asarray(times, dtype=np.float64)[self.order]
        out = np.full(len(start), np.nan)
        some = end > start
        out[some] = sorted_times[at[some]]
        return out
