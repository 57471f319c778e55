"""How far out a row lies in its most extreme columns: empirical tails per column (ECOD-style).

An isolation forest averages over random splits of many columns, so a row extreme in one or
two columns only (a terminal suddenly 1,500 km from its registered address) ranks as merely
unusual. Here each column keeps the training period's quantiles; a value's two-sided tail
probability is read from them (ties count on both sides, so a column that is mostly zero does
not make zero look extreme), and the row's score is the mean -log10 tail probability of its
`top` most extreme columns (after Li et al., "ECOD", 2022). A value beyond every training
quantile gets half the outermost tail.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np
import numpy.typing as npt

__all__ = ["LEVELS", "TailScorer"]

FloatArray = npt.NDArray[np.float64]

#: quantile levels kept per column: dense in both tails, coarse in the body
LEVELS: FloatArray = np.r_[
    [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02],
    np.linspace(0.05, 0.95, 19),
    [0.98, 0.99, 0.995, 0.9975, 0.999, 0.9995],
]


@dataclass(frozen=True, eq=False)
class TailScorer:
    """`grid` (columns, levels): each column's training quantiles at `levels`."""

    grid: FloatArray
    levels: FloatArray
    top: int = 2

    @classmethod
    def fit(cls, x: FloatArray, *, top: int = 2) -> TailScorer:
        """Quantile grids of the training matrix `x` (rows, columns)."""
        return cls(np.quantile(x, LEVELS, axis=0).T.copy(), LEVELS.copy(), top)

    def score(self, x: FloatArray) -> FloatArray:
        """Mean -log10 two-sided tail probability of each row's `top` most extreme columns."""
        rows = np.ascontiguousarray(x, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != len(self.grid):
            raise ValueError(f"expected (rows, {len(self.grid)}) values, got {rows.shape}")
        return _tail_scores(rows, self.grid, self.levels, min(self.top, len(self.grid)))

    def save(self, path: Path) -> None:
        np.savez(path, grid=self.grid, levels=self.levels, top=np.int64(self.top))

    @classmethod
    def load(cls, path: Path) -> TailScorer:
        """Raises KeyError or ValueError on a file that is not a tail scorer."""
        with np.load(path, allow_pickle=False) as data:
            scorer = cls(
                data["grid"].astype(np.float64), data["levels"].astype(np.float64), int(data["top"])
            )
        if scorer.grid.ndim != 2 or scorer.grid.shape[1] != len(scorer.levels):
            raise ValueError("quantile grid does not match its levels")
        # the compiled scorer reads levels[0] and levels[count - 1] unchecked
        levels = scorer.levels
        if (
            levels.ndim != 1
            or not len(levels)
            or not np.all((levels > 0) & (levels < 1))
            or not np.all(np.diff(levels) > 0)
        ):
            raise ValueError("quantile levels must rise strictly within (0, 1)")
        if scorer.top < 1:
            raise ValueError(f"top must be at least 1, got {scorer.top}")
        return scorer


def percentile(reference: FloatArray, scores: FloatArray) -> FloatArray:
    """Share of the reference distribution (its quantiles, evenly spaced) at or below each score."""
    levels = np.linspace(0.0, 1.0, len(reference))
    out: FloatArray = np.interp(scores, reference, levels, left=0.0, right=1.0)
    return out


@numba.njit(cache=True, nogil=True)
def _tail_scores(x: FloatArray, grid: FloatArray, levels: FloatArray, top: int) -> FloatArray:
    """Per row: P(X <= v) and P(X >= v) read off each column's grid (the share at the last
    grid value at or below v, and one minus the share below v), the smaller of the two
    clipped to [levels[0] / 2, 0.5]; then the mean -log10 of the `top` largest."""
    n_rows, n_columns = x.shape
    g = levels.shape[0]
    floor = levels[0] / 2
    out = np.zeros(n_rows)
    extreme = np.empty(n_columns)
    for i in range(n_rows):
        for c in range(n_columns):
            v = x[i, c]
            at_or_below = 0
            below = 0
            for k in range(g):
                at_or_below += grid[c, k] <= v
                below += grid[c, k] < v
            left = levels[at_or_below - 1] if at_or_below > 0 else floor
            under = levels[below - 1] if below > 0 else 0.0
            right = 1.0 - under if below < g else floor
            tail = min(max(min(left, right), floor), 0.5)
            extreme[c] = -np.log10(tail)
        if top > 0:
            extreme.sort()
            total = 0.0
            for c in range(n_columns - top, n_columns):
                total += extreme[c]
            out[i] = total / top
    return out
