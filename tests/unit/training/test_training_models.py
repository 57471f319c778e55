"""The estimators on small synthetic frames: contract, shapes and the behaviour that matters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.baseline import LegacyHoldRules
from training.models import ArrivalQuantiles, BehaviourAnomaly, ReasonClassifier, RiskClassifier

CLASSES = ("benign_delay", "fraud", "card_trapping")


def _frame(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n)})
    y = np.where(x["a"] > 1.2, "fraud", np.where(x["b"] > 1.5, "card_trapping", "benign_delay"))
    return x, y


def test_risk_classifier_follows_the_contract_and_ranks_the_signal() -> None:
    x, y = _frame(1500, 0)
    xc, yc = _frame(600, 1)
    model = RiskClassifier(n_estimators=40)
    assert model.fit(x, y, X_calibration=xc, y_calibration=yc) is model
    xt, yt = _frame(600, 2)
    proba = model.predict_proba(xt)
    assert proba.shape == (600, 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert list(model.classes_) == list(CLASSES)
    fraud = yt == "fraud"
    assert proba[fraud, 1].mean() > 5 * proba[~fraud, 1].mean()
    assert model.temperature_ > 0


def test_risk_classifier_refuses_an_unknown_class() -> None:
    x, y = _frame(100, 0)
    with pytest.raises(ValueError, match="unknown outcome classes"):
        RiskClassifier().fit(
            x, np.where(y == "fraud", "theft", y), X_calibration=x, y_calibration=y
        )


def test_a_class_missing_from_training_gets_a_zero_column() -> None:
    x, y = _frame(400, 0)
    y = np.where(y == "card_trapping", "benign_delay", y)
    model = RiskClassifier(n_estimators=10).fit(x, y, X_calibration=x, y_calibration=y)
    proba = model.predict_proba(x)
    assert proba.shape == (400, 3)
    assert proba[:, 2].max() < 1e-6


def test_risk_calibration_follows_a_prior_shift_in_the_later_period() -> None:
    def noisy(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
        # fraud is never certain here, so a change in its share moves every probability
        x, _ = _frame(n, seed)
        noise = np.random.default_rng(seed + 100).normal(size=n)
        return x, np.where(x["a"] + noise > 2.0, "fraud", "benign_delay")

    x, y = noisy(3000, 0)
    # the later period has three times the fraud share: only fitted offsets can follow it
    xc, yc = noisy(3000, 1)
    extra = xc[yc == "fraud"]
    xc = pd.concat([xc, extra, extra], ignore_index=True)
    yc = np.concatenate([yc, ["fraud"] * (2 * len(extra))])
    shifted = RiskClassifier(n_estimators=40).fit(x, y, X_calibration=xc, y_calibration=yc)
    fixed = RiskClassifier(n_estimators=40, fit_offsets=False).fit(
        x, y, X_calibration=xc, y_calibration=yc
    )
    share = (yc == "fraud").mean()
    np.testing.assert_allclose(fixed.logit_offsets_, -np.log([1.0, 4.0, 8.0]))
    assert shifted.logit_offsets_[0] == fixed.logit_offsets_[0]  # the first class anchors
    assert shifted.logit_offsets_[1] > fixed.logit_offsets_[1]
    assert abs(shifted.predict_proba(xc)[:, 1].mean() - share) < 0.01
    assert abs(fixed.predict_proba(xc)[:, 1].mean() - share) > 0.02


def test_a_class_absent_from_calibration_keeps_its_weight_offset() -> None:
    x, y = _frame(1500, 0)
    xc, yc = _frame(600, 1)
    keep = yc != "card_trapping"
    model = RiskClassifier(n_estimators=20).fit(
        x, y, X_calibration=xc[keep], y_calibration=yc[keep]
    )
    assert model.logit_offsets_[2] == -np.log(8.0)
    assert model.predict_proba(xc)[:, 2].max() > 0.05  # still answered, not pushed to zero


def test_reason_classifier_with_one_reason_answers_it() -> None:
    x, _ = _frame(50, 0)
    model = ReasonClassifier().fit(x, ["bank_outage"] * 50)
    assert set(model.predict(x)) == {"bank_outage"}


def test_arrival_quantiles_cover_about_ninety_percent_after_conformal_shift() -> None:
    rng = np.random.default_rng(0)

    def draw(n: int) -> tuple[pd.DataFrame, np.ndarray]:
        x = pd.DataFrame({"tier": rng.integers(0, 4, n).astype(float), "noise": rng.normal(size=n)})
        return x, rng.exponential(scale=2.0 + 6.0 * x["tier"].to_numpy())

    x, y = draw(2000)
    xc, yc = draw(1000)
    xt, yt = draw(2000)
    model = ArrivalQuantiles(n_estimators=50).fit(x, y, X_calibration=xc, y_calibration=yc)
    q = model.predict_quantiles(xt)
    assert (q[:, 1] >= q[:, 0]).all()
    assert 0.86 <= (yt <= q[:, 1]).mean() <= 0.94
    assert 0.44 <= (yt <= q[:, 0]).mean() <= 0.56


def test_behaviour_anomaly_ranks_an_outlier_first() -> None:
    rng = np.random.default_rng(0)
    x = pd.DataFrame(
        {"m_count_24h": rng.poisson(20, 500).astype(float), "ratio": rng.normal(1, 0.1, 500)}
    )
    model = BehaviourAnomaly(columns=("m_count_24h", "ratio")).fit(x)
    probe = pd.concat([x.head(20), pd.DataFrame({"m_count_24h": [900.0], "ratio": [9.0]})])
    assert model.score_samples(probe).argmax() == 20


def test_legacy_rules_count_hits_and_learn_rates_per_count() -> None:
    x = pd.DataFrame(
        {
            "amount_fen": [600_000.0, 100.0, 600_000.0, 100.0],
            "is_night": [True, False, True, False],
            "merchant_age_days": [5.0, 400.0, 5.0, np.nan],
            "card_count_24h": [4.0, 1.0, 0.0, 1.0],
        }
    )
    rules = LegacyHoldRules().fit(x, ["fraud", "benign_delay", "fraud", "benign_delay"])
    assert rules.hits(x).tolist() == [4, 0, 3, 0]
    # count 0: two benign + add-one smoothing -> (3, 1, 1) / 5
    np.testing.assert_allclose(rules.predict_proba(x)[1], [0.6, 0.2, 0.2])
    assert rules.risk_score(x)[0] > rules.risk_score(x)[2]


def test_arrival_quantiles_cover_each_regime_with_its_own_correction() -> None:
    rng = np.random.default_rng(1)

    def draw(n: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
        # the outage regime is slower than anything the features explain
        outage = rng.random(n) < 0.2
        x = pd.DataFrame({"tier": rng.integers(0, 4, n).astype(float), "noise": rng.normal(size=n)})
        y = rng.exponential(scale=2.0 + 2.0 * x["tier"].to_numpy()) * np.where(outage, 6.0, 1.0)
        return x, y, np.where(outage, "system_overdue", "")

    x, y, _ = draw(3000)
    xc, yc, gc = draw(2000)
    xt, yt, gt = draw(4000)
    pooled = ArrivalQuantiles(n_estimators=40).fit(x, y, X_calibration=xc, y_calibration=yc)
    grouped = ArrivalQuantiles(n_estimators=40).fit(
        x, y, X_calibration=xc, y_calibration=yc, groups_calibration=gc
    )
    assert set(grouped.group_shifts_) == {"system_overdue"}
    outage = gt == "system_overdue"
    pooled_cover = yt <= pooled.predict_quantiles(xt)[:, 1]
    grouped_cover = yt <= grouped.predict_quantiles(xt, gt)[:, 1]
    assert pooled_cover[outage].mean() < 0.8  # one correction for all under-covers the outage
    assert 0.85 <= grouped_cover[outage].mean() <= 0.95
    assert 0.85 <= grouped_cover[~outage].mean() <= 0.95


def test_a_regime_with_too_few_calibration_rows_shares_the_default() -> None:
    x, _ = _frame(600, 0)
    y = np.abs(x["a"].to_numpy()) * 10
    groups = np.where(np.arange(600) < 10, "system_overdue", "")
    model = ArrivalQuantiles(n_estimators=10, min_group=50).fit(
        x, y, X_calibration=x, y_calibration=y, groups_calibration=groups
    )
    assert model.group_shifts_ == {}
    np.testing.assert_array_equal(model.predict_quantiles(x, groups), model.predict_quantiles(x))
