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
# rows compared against the grids per numpy pass: (rows, columns, levels) booleans
_CHUNK = 2048


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
        out = np.empty(len(x))
        for start in range(0, len(x), _CHUNK):
            out[start : start + _CHUNK] = self._score_chunk(x[start : start + _CHUNK])
        return out

    def _score_chunk(self, x: FloatArray) -> FloatArray:
        levels, floor = self.levels, self.levels[0] / 2
        g = len(levels)
        values = x[:, :, None]
        at_or_below = (self.grid[None, :, :] <= values).sum(axis=2)
        below = (self.grid[None, :, :] < values).sum(axis=2)
        # P(X <= v) and P(X >= v), read off the grid
        left = np.where(at_or_below > 0, levels[np.maximum(at_or_below - 1, 0)], floor)
        under = np.where(below > 0, levels[np.maximum(below - 1, 0)], 0.0)
        right = np.where(below < g, 1.0 - under, floor)
        tail = np.clip(np.minimum(left, right), floor, 0.5)
        extreme = -np.log10(tail)
        k = min(self.top, extreme.shape[1])
        if k == 0:
            return np.zeros(len(x))
        out: FloatArray = np.sort(extreme, axis=1)[:, -k:].mean(axis=1)
        return out

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
        return scorer


def percentile(reference: FloatArray, scores: FloatArray) -> FloatArray:
    """Share of the reference distribution (its quantiles, evenly spaced) at or below each score."""
    levels = np.linspace(0.0, 1.0, len(reference))
    out: FloatArray = np.interp(scores, reference, levels, left=0.0, right=1.0)
    return out
