"""An isolation forest packed into complete-tree arrays, scored without scikit-learn.

scikit-learn's `IsolationForest.score_samples` walks its trees one by one in Python (200 calls
for one row: milliseconds). Here each tree is padded to a complete binary tree of the forest's
depth, so a node's children are `2i + 1` and `2i + 2`, and one compiled loop (numba) walks
every tree for every row the same number of steps. The score is scikit-learn's, flipped so
that higher is more unusual: `2 ** (-mean path length / c(max_samples))` in (0, 1], about 0.5
or below for ordinary rows and near 1 for rows isolated in a few splits (Liu, Ting and Zhou, 2008).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numba
import numpy as np
import numpy.typing as npt

__all__ = ["PackedForest"]

#: deeper than any forest `from_sklearn` packs (scikit-learn's depth is log2(max_samples))
_MAX_DEPTH = 24

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class PackedForest:
    """Trees padded to depth `depth`: `feature`/`threshold` per internal slot, `path` per leaf slot.

    Shapes: `feature`, `threshold` (trees, 2**depth - 1); `path` (trees, 2**depth), the path
    length a row ending in that slot adds (its depth plus the expected depth of the training
    rows its leaf still holds). A leaf above the last level fills every slot below it, so the
    padding's splits do not matter. `threshold` is float32, rounded down from scikit-learn's
    float64 so that `x32 > t32` decides exactly as scikit-learn's `x32 <= t64` does not.
    `denominator` is trees x c(max_samples).
    """

    feature: npt.NDArray[np.int32]
    threshold: npt.NDArray[np.float32]
    path: FloatArray
    depth: int
    denominator: float

    @classmethod
    def from_sklearn(cls, forest: Any) -> PackedForest:
        """Pack a fitted `sklearn.ensemble.IsolationForest` (its private path tables included)."""
        depth = max(int(tree.tree_.max_depth) for tree in forest.estimators_)
        internal, leaves = 2**depth - 1, 2**depth
        n_trees = len(forest.estimators_)
        feature = np.zeros((n_trees, internal), dtype=np.int32)
        threshold = np.zeros((n_trees, internal), dtype=np.float64)
        path = np.zeros((n_trees, leaves), dtype=np.float64)
        for k, (tree, columns, lengths, expected) in enumerate(
            zip(
                forest.estimators_,
                forest.estimators_features_,
                forest._decision_path_lengths,
                forest._average_path_length_per_tree,
                strict=True,
            )
        ):
            t = tree.tree_
            stack = [(0, 0, 0)]  # (scikit-learn node, complete-tree slot, level)
            while stack:
                node, slot, level = stack.pop()
                left = int(t.children_left[node])
                if left == -1:
                    below = depth - level
                    first = (slot + 1) * 2**below - 1 - internal
                    path[k, first : first + 2**below] = lengths[node] + expected[node] - 1.0
                    continue
                feature[k, slot] = int(np.asarray(columns)[t.feature[node]])
                threshold[k, slot] = float(t.threshold[node])
                stack.append((left, 2 * slot + 1, level + 1))
                stack.append((int(t.children_right[node]), 2 * slot + 2, level + 1))
        rounded = threshold.astype(np.float32)
        too_high = rounded.astype(np.float64) > threshold
        rounded[too_high] = np.nextafter(rounded[too_high], np.float32(-np.inf))
        c = _average_path_length(float(forest._max_samples))
        return cls(feature, rounded, path, depth, n_trees * c)

    def score(self, x: FloatArray) -> FloatArray:
        """The anomaly score of each row of `x`, in (0, 1]; higher is more unusual."""
        # scikit-learn's trees see float32 inputs
        x32 = np.ascontiguousarray(x, dtype=np.float32)
        if self.denominator == 0.0:
            return np.ones(len(x32))
        total = _path_totals(x32, self.feature, self.threshold, self.path, self.depth)
        out: FloatArray = 2.0 ** (-total / self.denominator)
        return out

    def save(self, path: Path) -> None:
        np.savez(
            path,
            feature=self.feature,
            threshold=self.threshold,
            path=self.path,
            depth=np.int64(self.depth),
            denominator=np.float64(self.denominator),
        )

    @classmethod
    def load(cls, path: Path) -> PackedForest:
        """Raises KeyError or ValueError on a file that is not a packed forest.

        The compiled walk (`_path_totals`) trusts every index it reads, so each is checked
        here: a split feature below 0 would read outside the row (numba checks no bounds);
        the upper bound is the caller's, who knows the row's width (`n_features_min`).
        """
        with np.load(path, allow_pickle=False) as data:
            feature = data["feature"]
            depth = int(data["depth"])
            if not 0 <= depth <= _MAX_DEPTH:  # before 2**depth: a huge one would never end
                raise ValueError(f"depth {depth} is outside 0-{_MAX_DEPTH}")
            if feature.dtype.kind not in "iu" or (
                feature.size and (feature.min() < 0 or feature.max() > np.iinfo(np.int32).max)
            ):
                raise ValueError("split features must be column indices of 0 or more")
            forest = cls(
                feature=feature.astype(np.int32),
                threshold=data["threshold"].astype(np.float32),
                path=data["path"].astype(np.float64),
                depth=depth,
                denominator=float(data["denominator"]),
            )
        n_trees = len(forest.feature)
        internal, leaves = 2**forest.depth - 1, 2**forest.depth
        if (
            forest.feature.ndim != 2
            or forest.feature.shape != (n_trees, internal)
            or forest.threshold.shape != (n_trees, internal)
            or forest.path.shape != (n_trees, leaves)
        ):
            raise ValueError("node arrays do not match the forest's depth")
        return forest

    @property
    def n_features_min(self) -> int:
        """The narrowest matrix `score` accepts."""
        return int(self.feature.max()) + 1 if self.feature.size else 0


def _average_path_length(n: float) -> float:
    """c(n): the expected depth of an unsuccessful search in a binary search tree of n keys."""
    if n <= 1:
        return 0.0
    if n == 2:
        return 1.0
    return float(2.0 * (np.log(n - 1.0) + np.euler_gamma) - 2.0 * (n - 1.0) / n)


@numba.njit(cache=True, nogil=True)
def _path_totals(
    x: npt.NDArray[np.float32],
    feature: npt.NDArray[np.int32],
    threshold: npt.NDArray[np.float32],
    path: FloatArray,
    depth: int,
) -> FloatArray:
    """Per row, the path lengths summed over the trees."""
    n_trees, internal = feature.shape
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        row = x[i]
        total = 0.0
        for k in range(n_trees):
            slot = 0
            for _ in range(depth):
                slot = 2 * slot + (2 if row[feature[k, slot]] > threshold[k, slot] else 1)
            total += path[k, slot - internal]
        out[i] = total
    return out
