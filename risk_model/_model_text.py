"""LightGBM model text checked in Python before anything native reads it.

LightGBM's C++ parser trusts its input: a text cut short, or with a tree's arrays out of step,
aborts or crashes the whole process (SIGABRT, SIGSEGV) instead of raising. The compiled tree
walker (`risk_model._trees`) trusts it too: a child index out of range is an out-of-bounds
read in numba. `check_model_text` reads the text as LightGBM lays it out and raises
ValueError, naming the tree and the field, for anything either reader could trip on:

- the header's fields, one name per feature, and `tree_sizes` (LightGBM cuts the text into
  trees at those byte offsets) equal to the trees that follow, up to `end of trees`;
- per tree: arrays of the lengths its `num_leaves` implies, finite numbers, split features
  within the header's features, children that form one tree from the root (each node and
  leaf reached exactly once, no cycle), categorical splits within their bitsets.

It does not prove LightGBM will accept the text (`risk_model._isolated` asks LightGBM itself,
in a throwaway process); it proves a text is whole and self-consistent.
"""

from __future__ import annotations

import itertools
import math

__all__ = ["check_model_text"]

_HEADER_KEYS = ("version", "num_class", "num_tree_per_iteration", "max_feature_idx", "objective")
_END = "end of trees"


def _ints(tree: dict[str, str], key: str, where: str) -> list[int]:
    try:
        return [int(v) for v in tree.get(key, "").split()]
    except ValueError:
        raise ValueError(f"{where}: {key} holds a value that is not an integer") from None


def _floats(tree: dict[str, str], key: str, where: str) -> list[float]:
    try:
        values = [float(v) for v in tree.get(key, "").split()]
    except ValueError:
        raise ValueError(f"{where}: {key} holds a value that is not a number") from None
    if not all(math.isfinite(v) or abs(v) == math.inf for v in values):
        raise ValueError(f"{where}: {key} holds NaN")
    return values


def _fields(lines: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


def _check_tree(t: int, tree: dict[str, str], n_features: int) -> None:
    where = f"tree {t}"
    if tree.get("is_linear", "0") != "0":
        return  # linear trees carry more arrays; the runtime refuses them on its own
    if "num_leaves" not in tree:
        raise ValueError(f"{where}: no num_leaves")
    (n_leaves,) = _ints(tree, "num_leaves", where) or [0]
    if n_leaves < 1:
        raise ValueError(f"{where}: num_leaves is {n_leaves}")
    leaf_value = _floats(tree, "leaf_value", where)
    if len(leaf_value) != n_leaves or not all(math.isfinite(v) for v in leaf_value):
        raise ValueError(f"{where}: {len(leaf_value)} finite leaf values for {n_leaves} leaves")
    if n_leaves == 1:
        return
    n_nodes = n_leaves - 1
    left = _ints(tree, "left_child", where)
    right = _ints(tree, "right_child", where)
    feature = _ints(tree, "split_feature", where)
    decision = _ints(tree, "decision_type", where)
    threshold = _floats(tree, "threshold", where)
    for key, values, size in (
        ("left_child", left, n_nodes),
        ("right_child", right, n_nodes),
        ("split_feature", feature, n_nodes),
        ("decision_type", decision, n_nodes),
        ("threshold", threshold, n_nodes),
        ("split_gain", _floats(tree, "split_gain", where), n_nodes),
        ("internal_value", _floats(tree, "internal_value", where), n_nodes),
        ("internal_count", _floats(tree, "internal_count", where), n_nodes),
        ("leaf_count", _floats(tree, "leaf_count", where), n_leaves),
    ):
        if len(values) != size:
            raise ValueError(f"{where}: {key} has {len(values)} values, {size} expected")
    if any(not 0 <= f < n_features for f in feature):
        raise ValueError(f"{where}: a split reads a feature beyond the {n_features} declared")
    # one walk from the root: every node and every leaf exactly once, so no cycle either
    seen_nodes, seen_leaves = {0}, set()
    stack = [0]
    while stack:
        node = stack.pop()
        for child in (left[node], right[node]):
            if child >= 0:
                if child >= n_nodes or child in seen_nodes:
                    raise ValueError(f"{where}: node {node} has a bad child {child}")
                seen_nodes.add(child)
                stack.append(child)
            else:
                leaf = -child - 1
                if leaf >= n_leaves or leaf in seen_leaves:
                    raise ValueError(f"{where}: node {node} has a bad leaf {child}")
                seen_leaves.add(leaf)
    if len(seen_nodes) != n_nodes or len(seen_leaves) != n_leaves:
        raise ValueError(f"{where}: nodes or leaves unreachable from the root")
    categorical = [k for k, d in enumerate(decision) if d & 1]
    if categorical:
        (n_cat,) = _ints(tree, "num_cat", where) or [0]
        bounds = _ints(tree, "cat_boundaries", where)
        words = _ints(tree, "cat_threshold", where)
        if (
            len(bounds) != n_cat + 1
            or bounds[0] != 0
            or bounds[-1] != len(words)
            or any(b > a for b, a in itertools.pairwise(bounds))
        ):
            raise ValueError(f"{where}: cat_boundaries do not match cat_threshold")
        for k in categorical:
            if threshold[k] != int(threshold[k]) or not 0 <= int(threshold[k]) < n_cat:
                raise ValueError(f"{where}: categorical node {k} names no bitset")


def check_model_text(text: str) -> None:
    """Raise ValueError, saying where, unless `text` is whole, consistent LightGBM model text."""
    if not text.startswith("tree\n"):
        raise ValueError("not LightGBM model text (it does not start with 'tree')")
    end = text.find(f"\n{_END}\n")
    if end < 0:
        raise ValueError(f"cut short: no '{_END}' line")
    first = text.find("\nTree=")
    header = _fields(text[: first if 0 <= first < end else end].splitlines())
    missing = [k for k in (*_HEADER_KEYS, "feature_names", "tree_sizes") if k not in header]
    if missing:
        raise ValueError(f"header lacks {', '.join(missing)}")
    try:
        n_features = int(header["max_feature_idx"]) + 1
        sizes = [int(v) for v in header["tree_sizes"].split()]
    except ValueError:
        raise ValueError("header: max_feature_idx or tree_sizes is not an integer") from None
    if len(header["feature_names"].split()) != n_features:
        raise ValueError(f"header: feature_names does not name {n_features} features")
    if "feature_infos" in header and len(header["feature_infos"].split()) != n_features:
        raise ValueError(f"header: feature_infos does not describe {n_features} features")
    # LightGBM slices the text at these byte offsets, so they must land exactly on each tree
    blob = text.encode("utf-8")
    at = blob.find(b"\nTree=") + 1 if sizes else blob.find(f"\n{_END}\n".encode()) + 1
    stop = blob.find(f"\n{_END}\n".encode()) + 1
    for t, size in enumerate(sizes):
        block = blob[at : at + size]
        if (
            size <= 0
            or not block.startswith(f"Tree={t}\n".encode())
            or b"\nTree=" in block
            or at + size > stop
        ):
            raise ValueError(f"tree {t}: tree_sizes does not match the text (cut or edited)")
        _check_tree(t, _fields(block.decode("utf-8").splitlines()[1:]), n_features)
        at += size
    if at != stop:
        raise ValueError(f"{len(sizes)} trees declared in tree_sizes, more text follows them")
    tail = text[end:]
    if "\nparameters:\n" in tail and "\nend of parameters\n" not in tail:
        raise ValueError("cut short: its parameters have no 'end of parameters' line")
