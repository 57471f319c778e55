"""The compiled boosters answer as LightGBM does: predictions and TreeSHAP, every kind of split."""

from __future__ import annotations

import pickle
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest

from risk_model._trees import CompiledBooster

N_FEATURES = 7
CATEGORY = 3  # a categorical column: codes 0..24


def _rows(rng: np.random.Generator, n: int) -> np.ndarray:
    x = rng.normal(size=(n, N_FEATURES))
    x[rng.random(x.shape) < 0.12] = np.nan
    x[:, CATEGORY] = rng.integers(0, 25, n).astype(float)
    x[rng.random(n) < 0.1, CATEGORY] = np.nan
    x[:, 4] = np.where(rng.random(n) < 0.3, 0.0, x[:, 4])  # many exact zeros
    return x


def _query_rows(rng: np.random.Generator) -> np.ndarray:
    x = _rows(rng, 400)
    x[:20, CATEGORY] = rng.integers(25, 80, 20)  # categories never seen in training
    x[20:30, CATEGORY] = -rng.random(10) * 3  # negative codes, some in (-1, 0)
    x[30:40, 4] = 1e-40  # within LightGBM's zero threshold
    x[40:50, 4] = -0.0
    x[50:60] = np.nan  # nothing known
    return x


def _train(objective: str, extra: dict[str, Any], seed: int = 0) -> lgb.Booster:
    rng = np.random.default_rng(seed)
    x = _rows(rng, 3000)
    signal = np.nan_to_num(x[:, 0]) + (np.nan_to_num(x[:, CATEGORY]) % 3 == 0)
    signal = signal + np.where(np.nan_to_num(x[:, 4]) == 0, 0.7, 0) + rng.normal(size=3000) * 0.4
    if objective == "multiclass":
        y = np.digitize(signal, [0.3, 1.2])
    elif objective == "binary":
        y = (signal > 0.8).astype(int)
    elif objective == "poisson":
        y = rng.poisson(np.exp(signal / 3))
    else:
        y = signal
    params = {"objective": objective, "num_leaves": 15, "verbose": -1, "seed": seed, **extra}
    data = lgb.Dataset(x, y, categorical_feature=[CATEGORY])
    return lgb.train(params, data, num_boost_round=25)


CASES = [
    ("multiclass", {"num_class": 3}),
    ("binary", {}),
    ("quantile", {"alpha": 0.9}),
    ("regression", {"zero_as_missing": True}),  # missing type Zero: zero goes to the default
    ("regression", {"use_missing": False}),  # missing type None: NaN reads as zero
    ("poisson", {}),
]


@pytest.mark.parametrize(("objective", "extra"), CASES, ids=[c[0] + str(c[1]) for c in CASES])
def test_predictions_and_contributions_match_lightgbm(
    objective: str, extra: dict[str, Any]
) -> None:
    booster = _train(objective, extra)
    compiled = CompiledBooster(booster)
    x = _query_rows(np.random.default_rng(1))
    np.testing.assert_allclose(compiled.predict(x), booster.predict(x), rtol=1e-12, atol=0)
    contributions = np.asarray(booster.predict(x, pred_contrib=True))
    np.testing.assert_allclose(compiled.contributions(x), contributions, rtol=0, atol=1e-10)
    # one row at a time gives the same numbers as the batch
    for i in (0, 25, 35, 55, 399):
        np.testing.assert_array_equal(compiled.predict(x[i : i + 1])[0], compiled.predict(x)[i])
        np.testing.assert_allclose(
            compiled.contributions(x[i : i + 1])[0], contributions[i], rtol=0, atol=1e-10
        )


def test_the_cases_exercise_every_kind_of_decision() -> None:
    """Categorical splits, NaN going either way, and zero-as-missing sending zero either way."""
    seen: dict[str, set[int]] = {"category": set(), "nan_left": set(), "zero_side": set()}
    for objective, extra in CASES:
        nodes = CompiledBooster(_train(objective, extra))._nodes
        seen["category"] |= set(np.unique(nodes.is_category).tolist())
        seen["nan_left"] |= set(np.unique(nodes.nan_left).tolist())
        seen["zero_side"] |= set(np.unique(nodes.zero_side).tolist())
    assert seen == {"category": {0, 1}, "nan_left": {0, 1}, "zero_side": {0, 1, 2}}


def test_constant_trees_and_an_empty_batch() -> None:
    # a single-leaf first tree: nothing to split on yet
    x = np.zeros((50, 2))
    booster = lgb.train(
        {"objective": "regression", "verbose": -1, "min_data_in_leaf": 1},
        lgb.Dataset(x, np.arange(50.0)),
        num_boost_round=3,
    )
    compiled = CompiledBooster(booster)
    np.testing.assert_allclose(compiled.predict(x[:3]), booster.predict(x[:3]), rtol=1e-12)
    np.testing.assert_allclose(
        compiled.contributions(x[:3]), booster.predict(x[:3], pred_contrib=True), atol=1e-12
    )
    assert compiled.predict(np.zeros((0, 2))).shape == (0,)


def test_pickles_and_rejects_what_it_cannot_compile() -> None:
    booster = _train("multiclass", {"num_class": 3})
    again = pickle.loads(pickle.dumps(CompiledBooster(booster)))
    x = _query_rows(np.random.default_rng(3))
    np.testing.assert_allclose(again.predict(x), booster.predict(x), rtol=1e-12)
    with pytest.raises(ValueError, match="values"):
        again.predict(np.zeros((2, N_FEATURES - 1)))
    rng = np.random.default_rng(4)
    x = rng.random((200, 3))
    entropy = lgb.train(
        {"objective": "cross_entropy", "verbose": -1}, lgb.Dataset(x, x[:, 0]), num_boost_round=2
    )
    with pytest.raises(ValueError, match="cross_entropy"):
        CompiledBooster(entropy)
