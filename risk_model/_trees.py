"""LightGBM boosters compiled to flat arrays and walked by numba: predictions and TreeSHAP.

`Booster.predict` costs tens of microseconds of set-up per call, and `pred_contrib` about a
millisecond per row for our 300-tree risk booster; both dominated the API's answer. Here a
booster's model text is read once into flat arrays (every tree end to end) that two compiled
loops walk: one sums leaf values, one computes TreeSHAP's contributions.

Decisions follow LightGBM's rules exactly: a value within 1e-35 of zero is zero; a missing
value (NaN) is zero unless the node's missing type is NaN; zero or NaN, by the missing type,
goes to the node's default side; a category goes left when its bit is set in the node's
bitset, and NaN or a negative category goes right. Trees are summed per class in LightGBM's
order, so predictions agree to the last bit.

TreeSHAP (Lundberg, Erion and Lee, 2018) with the training rows as covers, as LightGBM's
`pred_contrib`, but leaf by leaf rather than by recursion. A leaf whose path tests d distinct
features, feature j keeping the share z_j of the training rows that reach the leaf's
ancestors (its zero fraction), adds for a row to feature i

    v (o_i - z_i) sum_k w(k) c_k,   w(k) = k! (d - 1 - k)! / d!,

c_k the coefficient of t^k in prod_{j != i} (z_j + o_j t), o_j = 1 when the row follows every
split on feature j along the path and 0 otherwise. With Q the product of z over the features
the row does not follow, every such feature gets -v Q sum_k w(k) p_k (p: the product over
the followed ones), and a followed feature i gets v (1 - z_i) Q sum_k w(k) p'_k, p' being p
with (z_i + t) divided out. That is O(d^2) per leaf over arrays read in order; per-leaf
tables of every pattern were faster on a warm cache but, at 16 MB, three times slower than
this between API requests, when the cache is cold. Agrees with LightGBM to 1e-14 (tested on
every kind of split). Single-threaded: the API's workers are the parallelism.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numba
import numpy as np
import numpy.typing as npt

__all__ = ["CompiledBooster"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]

# LightGBM's kZeroThreshold, a float constant compared in double precision
_ZERO = float(np.float32(1e-35))
_CATEGORICAL, _DEFAULT_LEFT = 1, 2  # decision_type bits
_MISSING_NONE, _MISSING_ZERO = 0, 1  # decision_type bits 2-3
_COMPARE, _LEFT, _RIGHT = 0, 1, 2  # zero_side

_IDENTITY = {"regression", "regression_l1", "huber", "fair", "quantile", "mape"}
_EXP = {"poisson", "gamma", "tweedie"}


@dataclass(frozen=True, eq=False)
class _Nodes:
    """Every tree's nodes end to end. A child >= 0 is a node; < 0 is leaf -c - 1."""

    tree_class: IntArray  # per tree: the output it adds to
    node_start: IntArray  # per tree: its nodes are node_start..node_end - 1, the first the root
    node_end: IntArray
    leaf_start: IntArray  # per tree: its leaves
    leaf_end: IntArray
    expected: FloatArray  # per tree: its mean output over the training rows
    feature: IntArray  # per node
    threshold: FloatArray
    is_category: npt.NDArray[np.uint8]
    nan_left: npt.NDArray[np.uint8]  # where NaN goes (after LightGBM's NaN-as-zero rule)
    zero_side: npt.NDArray[np.uint8]  # _COMPARE, or where zero goes when zero is missing
    left: IntArray
    right: IntArray
    cat_start: IntArray  # per categorical node: its bitset, words cat_start..+cat_len
    cat_len: IntArray
    cat_words: npt.NDArray[np.uint32]
    leaf_value: FloatArray  # per leaf
    # per leaf (CSR): the splits on its path and the distinct features they test
    step_start: IntArray
    step_node: IntArray
    step_left: npt.NDArray[np.uint8]
    step_bit: IntArray  # which of the leaf's features the step tests
    slot_start: IntArray
    slot_feature: IntArray
    zero_fraction: FloatArray  # per slot: the share of training rows its splits keep
    weights: FloatArray  # [d, k]: Shapley's weight k! (d - 1 - k)! / d!


def _parse(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    """LightGBM's model text: the header's and each tree's `key=value` lines."""
    header: dict[str, str] = {}
    trees: list[dict[str, str]] = []
    current = header
    for line in text.splitlines():
        if line.startswith("end of trees"):
            break
        if line.startswith("Tree="):
            current = {}
            trees.append(current)
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    return header, trees


def _numbers(tree: dict[str, str], key: str, dtype: Any) -> npt.NDArray[Any]:
    text = tree.get(key, "").strip()
    return np.array(text.split(), dtype=np.float64).astype(dtype) if text else np.zeros(0, dtype)


class _Builder:
    """Collects the trees' arrays, then joins them (`nodes`)."""

    def __init__(self) -> None:
        self.per_tree: dict[str, list[Any]] = {
            k: [] for k in ("class", "node_start", "node_end", "leaf_start", "leaf_end")
        }
        self.expected: list[float] = []
        self.node: dict[str, list[npt.NDArray[Any]]] = {
            k: [] for k in ("feature", "threshold", "decision", "left", "right")
        }
        self.cat_start: list[int] = []
        self.cat_len: list[int] = []
        self.words: list[npt.NDArray[np.uint32]] = []
        self.leaf_value: list[FloatArray] = []
        self.steps: list[tuple[int, int, int]] = []  # (node, went left, bit)
        self.step_start = [0]
        self.slots: list[tuple[int, float]] = []  # (feature, zero fraction)
        self.slot_start = [0]
        self.n_nodes = self.n_leaves = self.n_words = 0

    def add(self, t: int, tree: dict[str, str], n_outputs: int) -> None:
        if tree.get("is_linear", "0") != "0":
            raise ValueError("linear trees are not supported")
        n_leaves = int(tree["num_leaves"])
        values = _numbers(tree, "leaf_value", np.float64)
        counts = _numbers(tree, "leaf_count", np.float64)
        if len(values) != n_leaves:
            raise ValueError(f"tree {t}: {len(values)} leaf values for {n_leaves} leaves")
        self.per_tree["class"].append(t % n_outputs)
        self.per_tree["node_start"].append(self.n_nodes)
        self.per_tree["leaf_start"].append(self.n_leaves)
        self.leaf_value.append(values)
        if n_leaves == 1:
            self.expected.append(float(values[0]))
            self._leaf_path([], {})
        else:
            self._add_nodes(t, tree, values, counts)
        self.n_leaves += n_leaves
        self.per_tree["node_end"].append(self.n_nodes)
        self.per_tree["leaf_end"].append(self.n_leaves)

    def _add_nodes(self, t: int, tree: dict[str, str], values: FloatArray, counts: Any) -> None:
        n_leaves = len(values)
        left = _numbers(tree, "left_child", np.int64)
        right = _numbers(tree, "right_child", np.int64)
        feature = _numbers(tree, "split_feature", np.int32)
        threshold = _numbers(tree, "threshold", np.float64)
        decision = _numbers(tree, "decision_type", np.int32)
        internal = _numbers(tree, "internal_count", np.float64)
        n_nodes = n_leaves - 1
        arrays = (left, right, feature, threshold, decision, internal)
        if not all(len(a) == n_nodes for a in arrays) or len(counts) != n_leaves:
            raise ValueError(f"tree {t}: node arrays of different lengths")
        nb, lb = self.n_nodes, self.n_leaves
        # children become global: a node's index, or -(global leaf) - 1
        self.node["left"].append(np.where(left >= 0, left + nb, left - lb))
        self.node["right"].append(np.where(right >= 0, right + nb, right - lb))
        for key, array in (("feature", feature), ("threshold", threshold), ("decision", decision)):
            self.node[key].append(array)
        bounds = _numbers(tree, "cat_boundaries", np.int64)
        words = _numbers(tree, "cat_threshold", np.int64).astype(np.uint32)
        for node in range(n_nodes):
            if decision[node] & _CATEGORICAL:
                k = int(threshold[node])
                self.cat_start.append(self.n_words + int(bounds[k]))
                self.cat_len.append(int(bounds[k + 1] - bounds[k]))
            else:
                self.cat_start.append(0)
                self.cat_len.append(0)
        self.words.append(words)
        self.n_words += len(words)
        total = internal[0] if internal[0] > 0 else 1.0
        self.expected.append(float(np.sum(counts / total * values)))

        def rows(child: int) -> float:
            return float(internal[child] if child >= 0 else counts[-child - 1])

        # each leaf's path, depth first in leaf order: (local node, went left) pairs
        paths: dict[int, list[tuple[int, bool]]] = {}
        stack: list[tuple[int, list[tuple[int, bool]]]] = [(0, [])]
        while stack:
            node, path = stack.pop()
            for child, went_left in ((int(left[node]), True), (int(right[node]), False)):
                step = [*path, (node, went_left)]
                if child >= 0:
                    stack.append((child, step))
                else:
                    paths[-child - 1] = step
        for leaf in range(n_leaves):
            zero: dict[int, float] = {}
            for node, went_left in paths[leaf]:
                child = int(left[node] if went_left else right[node])
                f = int(feature[node])
                zero[f] = zero.get(f, 1.0) * rows(child) / rows(node)
            bits = {f: b for b, f in enumerate(zero)}
            self._leaf_path(
                [(nb + node, int(went_left), bits[int(feature[node])])
                 for node, went_left in paths[leaf]],
                zero,
            )  # fmt: skip
        self.n_nodes += n_nodes

    def _leaf_path(self, steps: list[tuple[int, int, int]], zero: dict[int, float]) -> None:
        self.steps.extend(steps)
        self.step_start.append(len(self.steps))
        self.slots.extend(zero.items())
        self.slot_start.append(len(self.slots))

    def nodes(self) -> _Nodes:
        def joined(key: str, dtype: Any) -> npt.NDArray[Any]:
            parts = self.node[key]
            return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype)

        def ints(values: list[Any]) -> IntArray:
            return np.array(values, dtype=np.int32)

        decision = joined("decision", np.int32)
        threshold = joined("threshold", np.float64)
        missing = (decision >> 2) & 3
        default_left = (decision & _DEFAULT_LEFT) > 0
        # NaN is read as zero unless the missing type is NaN; zero goes to the default side
        # when the missing type is Zero
        nan_left = np.where(missing == _MISSING_NONE, threshold >= 0.0, default_left)
        zero_side = np.where(
            missing == _MISSING_ZERO, np.where(default_left, _LEFT, _RIGHT), _COMPARE
        )
        steps = np.array(self.steps, dtype=np.int64).reshape(-1, 3)
        slots = np.array(self.slots, dtype=np.float64).reshape(-1, 2)
        return _Nodes(
            tree_class=ints(self.per_tree["class"]),
            node_start=ints(self.per_tree["node_start"]),
            node_end=ints(self.per_tree["node_end"]),
            leaf_start=ints(self.per_tree["leaf_start"]),
            leaf_end=ints(self.per_tree["leaf_end"]),
            expected=np.array(self.expected, dtype=np.float64),
            feature=joined("feature", np.int32),
            threshold=threshold,
            is_category=(decision & _CATEGORICAL).astype(np.uint8),
            nan_left=nan_left.astype(np.uint8),
            zero_side=zero_side.astype(np.uint8),
            left=joined("left", np.int32),
            right=joined("right", np.int32),
            cat_start=ints(self.cat_start),
            cat_len=ints(self.cat_len),
            cat_words=np.concatenate(self.words) if self.words else np.zeros(0, np.uint32),
            leaf_value=np.concatenate(self.leaf_value) if self.leaf_value else np.zeros(0),
            step_start=ints(self.step_start),
            step_node=steps[:, 0].astype(np.int32),
            step_left=steps[:, 1].astype(np.uint8),
            step_bit=steps[:, 2].astype(np.int32),
            slot_start=ints(self.slot_start),
            slot_feature=slots[:, 0].astype(np.int32),
            zero_fraction=slots[:, 1].copy(),
            weights=_shapley_weights(int(np.diff(self.slot_start).max(initial=0))),
        )


def _shapley_weights(most: int) -> FloatArray:
    """[d, k] = k! (d - 1 - k)! / d! = 1 / (d * binomial(d - 1, k)), for d up to `most`."""
    out = np.zeros((most + 1, most + 1))
    for d in range(1, most + 1):
        binomial = 1.0  # exact in floats at these sizes
        for k in range(d):
            out[d, k] = 1.0 / (d * binomial)
            binomial = binomial * (d - 1 - k) / (k + 1)
    return out


class CompiledBooster:
    """A LightGBM booster's predictions and `pred_contrib`, from its model text, by numba.

    `predict(x)` matches `Booster.predict(x)` ((rows,) for one output, (rows, classes) for
    multiclass); `contributions(x)` matches `Booster.predict(x, pred_contrib=True)`.

    Raises (at construction) ValueError for what it does not compile: linear trees, or an
    objective whose output transform it does not know.
    """

    def __init__(self, booster: lgb.Booster) -> None:
        self.booster = booster
        header, trees = _parse(booster.model_to_string())
        self.width = int(header.get("num_tree_per_iteration", "1"))
        self.n_features = int(header["max_feature_idx"]) + 1
        objective = header.get("objective", "").split()
        self._objective = objective[0] if objective else "custom"
        options = dict(o.split(":", 1) for o in objective[1:] if ":" in o)
        if "sqrt" in objective[1:]:
            raise ValueError("objective with the sqrt transform is not supported")
        self._sigmoid = float(options.get("sigmoid", "1"))
        known = {"multiclass", "binary", "custom", *_IDENTITY, *_EXP}
        if self._objective not in known:
            raise ValueError(f"objective {self._objective!r} is not supported")
        builder = _Builder()
        for t, tree in enumerate(trees):
            builder.add(t, tree, self.width)
        self._nodes = builder.nodes()

    def __reduce__(self) -> tuple[type[CompiledBooster], tuple[lgb.Booster]]:
        # the arrays rebuild from the booster
        return (CompiledBooster, (self.booster,))

    def raw(self, x: FloatArray) -> FloatArray:
        """(rows, outputs): each output's sum of leaf values (LightGBM's `raw_score`)."""
        rows = self._rows(x)
        n = self._nodes
        return _raw_scores(
            rows, n.tree_class, self.width, n.node_start, n.node_end, n.leaf_start,
            n.feature, n.threshold, n.is_category, n.nan_left, n.zero_side, n.left, n.right,
            n.cat_start, n.cat_len, n.cat_words, n.leaf_value,
        )  # fmt: skip

    def predict(self, x: FloatArray) -> FloatArray:
        """(rows,) for single-output boosters, (rows, classes) for multiclass ones."""
        raw = self.raw(x)
        if self._objective == "multiclass":
            shifted = np.exp(raw - raw.max(axis=1, keepdims=True))
            out: FloatArray = shifted / shifted.sum(axis=1, keepdims=True)
            return out
        column = raw[:, 0]
        if self._objective == "binary":
            return 1.0 / (1.0 + np.exp(-self._sigmoid * column))
        if self._objective in _EXP:
            return np.exp(column)
        return column

    def contributions(self, x: FloatArray) -> FloatArray:
        """TreeSHAP: (rows, outputs x (features + 1)), each output's block ending in its bias."""
        rows = self._rows(x)
        n = self._nodes
        return _tree_shap(
            rows, n.tree_class, self.width, n.expected, n.node_start, n.node_end,
            n.leaf_start, n.leaf_end, n.feature, n.threshold, n.is_category, n.nan_left,
            n.zero_side, n.cat_start, n.cat_len, n.cat_words, n.step_start, n.step_node,
            n.step_left, n.step_bit, n.slot_start, n.slot_feature, n.zero_fraction,
            n.leaf_value, n.weights,
        )  # fmt: skip

    def _rows(self, x: FloatArray) -> FloatArray:
        rows = np.ascontiguousarray(x, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] < self.n_features:
            raise ValueError(f"expected (rows, {self.n_features}) values, got {rows.shape}")
        return rows


# -- compiled loops -----------------------------------------------------------------------
# cache=True keeps the machine code beside this file, so only the first process compiles


# Helpers take scalars: an array argument costs reference counting on every call, which made
# the tree walk four times slower.


@numba.njit(cache=True, nogil=True, inline="always")
def _numeric_left(value: float, threshold: float, nan_left: int, zero_side: int) -> bool:
    """LightGBM's numerical decision for `value` (already 0.0 when within 1e-35 of zero)."""
    if value != value:
        return nan_left == 1
    if value == 0.0 and zero_side != _COMPARE:
        return zero_side == _LEFT
    return value <= threshold


@numba.njit(cache=True, nogil=True)
def _category_left(value: float, words: npt.NDArray[np.uint32], start: int, length: int) -> bool:
    """LightGBM's categorical decision: left when the category's bit is set."""
    if value != value:
        return False
    category = int(value)
    if category < 0 or category >> 5 >= length:
        return False
    return bool((words[start + (category >> 5)] >> (category & 31)) & 1)


@numba.njit(cache=True, nogil=True, inline="always")
def _zeroed(row: FloatArray, out: FloatArray) -> None:
    """LightGBM reads a value within 1e-35 of zero as zero."""
    for j in range(row.shape[0]):
        value = row[j]
        out[j] = 0.0 if -_ZERO <= value <= _ZERO else value


@numba.njit(cache=True, nogil=True)
def _raw_scores(
    x: FloatArray,
    tree_class: IntArray,
    width: int,
    node_start: IntArray,
    node_end: IntArray,
    leaf_start: IntArray,
    feature: IntArray,
    threshold: FloatArray,
    is_category: npt.NDArray[np.uint8],
    nan_left: npt.NDArray[np.uint8],
    zero_side: npt.NDArray[np.uint8],
    left: IntArray,
    right: IntArray,
    cat_start: IntArray,
    cat_len: IntArray,
    cat_words: npt.NDArray[np.uint32],
    leaf_value: FloatArray,
) -> FloatArray:
    out = np.zeros((x.shape[0], width))
    row = np.empty(x.shape[1])
    for i in range(x.shape[0]):
        _zeroed(x[i], row)
        for t in range(tree_class.shape[0]):
            # a tree without splits is its one leaf
            node = node_start[t] if node_end[t] > node_start[t] else -leaf_start[t] - 1
            while node >= 0:
                value = row[feature[node]]
                if is_category[node]:
                    goes_left = _category_left(value, cat_words, cat_start[node], cat_len[node])
                else:
                    goes_left = _numeric_left(
                        value, threshold[node], nan_left[node], zero_side[node]
                    )
                node = left[node] if goes_left else right[node]
            out[i, tree_class[t]] += leaf_value[-node - 1]
    return out


@numba.njit(cache=True, nogil=True)
def _tree_shap(
    x: FloatArray,
    tree_class: IntArray,
    width: int,
    expected: FloatArray,
    node_start: IntArray,
    node_end: IntArray,
    leaf_start: IntArray,
    leaf_end: IntArray,
    feature: IntArray,
    threshold: FloatArray,
    is_category: npt.NDArray[np.uint8],
    nan_left: npt.NDArray[np.uint8],
    zero_side: npt.NDArray[np.uint8],
    cat_start: IntArray,
    cat_len: IntArray,
    cat_words: npt.NDArray[np.uint32],
    step_start: IntArray,
    step_node: IntArray,
    step_left: npt.NDArray[np.uint8],
    step_bit: IntArray,
    slot_start: IntArray,
    slot_feature: IntArray,
    zero_fraction: FloatArray,
    leaf_value: FloatArray,
    weights: FloatArray,
) -> FloatArray:
    """TreeSHAP, leaf by leaf (the module's docstring gives the terms)."""
    n_rows, n_features = x.shape
    block = n_features + 1
    out = np.zeros((n_rows, width * block))
    row = np.empty(n_features)
    most = 1
    for t in range(tree_class.shape[0]):
        most = max(most, node_end[t] - node_start[t])
    went_left = np.empty(most, dtype=np.uint8)
    most_d = weights.shape[0]
    a = np.empty(most_d)  # the followed features' zero fractions
    held = np.empty(most_d, dtype=np.int64)  # and their slots
    poly = np.empty(most_d + 1)
    part = np.empty(most_d + 1)
    for i in range(n_rows):
        _zeroed(x[i], row)
        o = out[i]
        for t in range(tree_class.shape[0]):
            base = tree_class[t] * block
            o[base + n_features] += expected[t]
            first = node_start[t]
            for node in range(first, node_end[t]):
                value = row[feature[node]]
                if is_category[node]:
                    went_left[node - first] = _category_left(
                        value, cat_words, cat_start[node], cat_len[node]
                    )
                else:
                    went_left[node - first] = _numeric_left(
                        value, threshold[node], nan_left[node], zero_side[node]
                    )
            for leaf in range(leaf_start[t], leaf_end[t]):
                s0 = slot_start[leaf]
                d = slot_start[leaf + 1] - s0
                if d == 0:
                    continue
                # bit b set: the row follows every split on the leaf's b-th feature
                # (branch-free: the branch was mispredicted half the time)
                pattern = (1 << d) - 1
                for step in range(step_start[leaf], step_start[leaf + 1]):
                    off = np.int64(went_left[step_node[step] - first] ^ step_left[step])
                    pattern &= ~(off << step_bit[step])
                w = weights[d]
                scale = leaf_value[leaf]  # v Q, Q over the features not followed
                s = 0
                for k in range(d):
                    z = zero_fraction[s0 + k]
                    if (pattern >> k) & 1:
                        a[s] = z
                        held[s] = k
                        s += 1
                    else:
                        scale *= z
                # p: the product over the followed features of (z + t), poly[k] at t^k
                poly[0] = 1.0
                for j in range(s):
                    poly[j + 1] = poly[j]
                    for k in range(j, 0, -1):
                        poly[k] = poly[k] * a[j] + poly[k - 1]
                    poly[0] *= a[j]
                if s < d:
                    total = 0.0
                    for k in range(s + 1):
                        total += w[k] * poly[k]
                    unfollowed = -scale * total
                    for k in range(d):
                        if not (pattern >> k) & 1:
                            o[base + slot_feature[s0 + k]] += unfollowed
                for h in range(s):
                    # the product without a[h]: divide (t + a[h]) out, from the top
                    ah = a[h]
                    part[s - 1] = poly[s]
                    for k in range(s - 1, 0, -1):
                        part[k - 1] = poly[k] - ah * part[k]
                    total = 0.0
                    for k in range(s):
                        total += w[k] * part[k]
                    o[base + slot_feature[s0 + held[h]]] += scale * (1.0 - ah) * total
    return out
