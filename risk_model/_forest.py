"""An isolation forest packed into complete-tree arrays, scored by numpy without scikit-learn.

scikit-learn's `IsolationForest.score_samples` walks its trees one by one in Python (200 calls
for one row: milliseconds). Here each tree is padded to a complete binary tree of the forest's
depth, so a node's children are `2i + 1` and `2i + 2` and every tree advances one level per
numpy step for all rows at once. The score is scikit-learn's, flipped so that higher is more
unusual: `2 ** (-mean path length / c(max_samples))` in (0, 1], about 0.5 or below for ordinary
rows and near 1 for rows isolated in a few splits (Liu, Ting and Zhou, 2008).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["PackedForest"]

FloatArray = npt.NDArray[np.float64]

# rows scored per numpy pass: keeps the (rows x trees) working arrays within the CPU caches
_CHUNK = 512


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
    _flat_feature: npt.NDArray[np.int32] = field(init=False, repr=False)
    _flat_threshold: npt.NDArray[np.float32] = field(init=False, repr=False)
    _flat_path: FloatArray = field(init=False, repr=False)
    _tree_base: npt.NDArray[np.int32] = field(init=False, repr=False)
    _leaf_base: npt.NDArray[np.int32] = field(init=False, repr=False)

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

    def __post_init__(self) -> None:
        n_trees, internal = self.feature.shape
        # per-tree offsets into the flattened node and leaf arrays, computed once
        object.__setattr__(self, "_flat_feature", self.feature.ravel())
        object.__setattr__(self, "_flat_threshold", self.threshold.ravel())
        object.__setattr__(self, "_flat_path", self.path.ravel())
        object.__setattr__(
            self, "_tree_base", (np.arange(n_trees, dtype=np.int32) * internal)[None, :]
        )
        object.__setattr__(
            self,
            "_leaf_base",
            (np.arange(n_trees, dtype=np.int32) * (internal + 1) - internal)[None, :],
        )

    def score(self, x: FloatArray) -> FloatArray:
        """The anomaly score of each row of `x`, in (0, 1]; higher is more unusual."""
        # scikit-learn's trees see float32 inputs
        x32 = np.ascontiguousarray(x, dtype=np.float32)
        out = np.empty(len(x32))
        for start in range(0, len(x32), _CHUNK):
            out[start : start + _CHUNK] = self._score_chunk(x32[start : start + _CHUNK])
        return out

    def _score_chunk(self, x: npt.NDArray[np.float32]) -> FloatArray:
        n, width = x.shape
        flat_x = x.ravel()
        feature, threshold, tree_base = self._flat_feature, self._flat_threshold, self._tree_base
        row_base = (np.arange(n, dtype=np.int32) * width)[:, None]
        slot = np.zeros((n, tree_base.shape[1]), dtype=np.int32)
        for _ in range(self.depth):
            at = slot + tree_base
            goes_right = flat_x[row_base + feature[at]] > threshold[at]
            slot = 2 * slot + 1 + goes_right
        total = self._flat_path[slot + self._leaf_base].sum(axis=1)
        if self.denominator == 0.0:
            return np.ones(n)
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
        """Raises KeyError or ValueError on a file that is not a packed forest."""
        with np.load(path, allow_pickle=False) as data:
            forest = cls(
                feature=data["feature"].astype(np.int32),
                threshold=data["threshold"].astype(np.float32),
                path=data["path"].astype(np.float64),
                depth=int(data["depth"]),
                denominator=float(data["denominator"]),
            )
        n_trees = len(forest.feature)
        internal, leaves = 2**forest.depth - 1, 2**forest.depth
        if (
            forest.feature.shape != (n_trees, internal)
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
