"""The runtime bundle against the training-side estimators it was made from, on a small set."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import lightgbm as lgb
import mlflow.pyfunc
import numpy as np
import pandas as pd
import polars as pl
import pytest
from small_bundle import NAMES, REASONS, Fitted, _frame

from risk_model import (
    MANIFEST,
    OUTPUT_COLUMNS,
    ArrivalCorrection,
    FeatureInputError,
    ModelLoadError,
    RiskModel,
    load_model_dir,
)
from risk_model._tails import TailScorer
from risk_model.pyfunc import BUNDLE_ARTIFACT, RiskPyfunc


@pytest.fixture(scope="module")
def fitted() -> Fitted:
    return Fitted()


@pytest.fixture(scope="module")
def test_frame() -> pd.DataFrame:
    return _frame(400, 2)


def test_round_trip_answers_exactly_as_the_training_estimators(
    fitted: Fitted, test_frame: pd.DataFrame, tmp_path: Path
) -> None:
    fitted.bundle.save(tmp_path / "bundle")
    loaded = RiskModel.load(tmp_path / "bundle")
    assert loaded.feature_set_ref == "small:1"
    assert loaded.feature_names == tuple(NAMES)
    assert loaded.classes == ("benign_delay", "fraud", "card_trapping")
    assert set(loaded.reasons) == set(REASONS)

    answers = loaded.predict(test_frame)
    x = fitted.encoder.transform(test_frame)
    np.testing.assert_allclose(answers.proba, fitted.risk.predict_proba(x), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(answers.risk_score, answers.proba[:, 1:].sum(axis=1))
    assert (answers.reason == fitted.reason.predict(x)).all()
    quantiles = fitted.eta.predict_quantiles(x)
    np.testing.assert_allclose(answers.eta_p50_hours, quantiles[:, 0], rtol=1e-9)
    np.testing.assert_allclose(answers.eta_p90_hours, quantiles[:, 1], rtol=1e-9)
    # the packed forest scores exactly as scikit-learn's IsolationForest
    values = loaded._anomaly_matrix(loaded.encoding.matrix(test_frame))
    np.testing.assert_array_equal(values, fitted.anomaly.scaled(x))
    forest = loaded.anomaly.score(values)
    np.testing.assert_allclose(forest, fitted.anomaly.score_samples(x), rtol=1e-12)
    assert ((answers.anomaly_score >= 0) & (answers.anomaly_score <= 1)).all()
    assert (answers.eta_p90_hours >= answers.eta_p50_hours).all()
    assert (answers.eta_p50_hours >= 0).all()


def test_polars_pandas_one_row_and_batch_agree(fitted: Fitted, test_frame: pd.DataFrame) -> None:
    batch = fitted.bundle.predict(test_frame)
    as_polars = pl.from_pandas(test_frame.astype({"entry_mode": "object"}))
    from_polars = fitted.bundle.predict(as_polars)
    np.testing.assert_array_equal(from_polars.proba, batch.proba)
    np.testing.assert_array_equal(from_polars.anomaly_score, batch.anomaly_score)
    for i in (0, 7, 123):
        one = fitted.bundle.predict(as_polars.slice(i, 1))
        np.testing.assert_array_equal(one.proba[0], batch.proba[i])
        assert one.reason[0] == batch.reason[i]
        assert one.eta_p90_hours[0] == batch.eta_p90_hours[i]
        assert one.anomaly_score[0] == batch.anomaly_score[i]
        single_pandas = fitted.bundle.predict(test_frame.iloc[[i]])
        np.testing.assert_array_equal(single_pandas.proba[0], batch.proba[i])


def test_unseen_categories_and_missing_values_score_as_missing(fitted: Fitted) -> None:
    row = pl.DataFrame(
        {name: [None] for name in NAMES},
        schema={n: (pl.String if n == "entry_mode" else pl.Float64) for n in NAMES},
    )
    unseen = row.with_columns(pl.lit("contactless").alias("entry_mode"))
    a, b = fitted.bundle.predict(row), fitted.bundle.predict(unseen)
    np.testing.assert_array_equal(a.proba, b.proba)
    assert np.isfinite(a.proba).all()


def test_missing_feature_and_empty_frame(fitted: Fitted, test_frame: pd.DataFrame) -> None:
    with pytest.raises(FeatureInputError, match="card_count_24h"):
        fitted.bundle.predict(test_frame.drop(columns=["card_count_24h"]))
    empty = fitted.bundle.predict(test_frame.head(0))
    assert len(empty) == 0
    assert list(empty.to_pandas().columns) == list(OUTPUT_COLUMNS)


def test_explain_lists_the_largest_pred_contrib_pushes(
    fitted: Fitted, test_frame: pd.DataFrame
) -> None:
    frame = test_frame.head(50)
    explained = fitted.bundle.explain(frame, top=3)
    assert len(explained) == 50

    # the same definition straight from LightGBM: (s_f c_f + s_t c_t - c_b) / T, the class
    # weights' offsets being constant per class
    booster = fitted.risk.booster_.booster_
    x = fitted.encoder.transform(frame)
    contrib = np.asarray(booster.predict(x, pred_contrib=True)).reshape(50, 3, len(NAMES) + 1)
    proba = fitted.risk.predict_proba(x)
    shares = proba[:, 1:] / proba[:, 1:].sum(axis=1, keepdims=True)
    expected = (
        shares[:, [0]] * contrib[:, 1, :-1]
        + shares[:, [1]] * contrib[:, 2, :-1]
        - contrib[:, 0, :-1]
    ) / fitted.risk.temperature_
    for i, row in enumerate(explained):
        ranked = [NAMES[j] for j in np.argsort(-expected[i]) if expected[i, j] > 0][:3]
        assert [c.feature for c in row] == ranked
        for c in row:
            assert c.weight == pytest.approx(expected[i, NAMES.index(c.feature)], rel=1e-9)
            assert c.weight > 0
    # a fraud-like row is pushed by the features that define fraud here, valued as given
    night_swipe = frame.index[(frame["outcome_class"] == "fraud")][0]
    top = {c.feature: c.value for c in explained[int(night_swipe)]}
    assert {"is_night", "entry_mode"} <= set(top)
    assert top["entry_mode"] == "swipe"
    assert top["is_night"] == 1.0


def test_regime_corrections_apply_first_match(fitted: Fitted, test_frame: pd.DataFrame) -> None:
    model = fitted.bundle
    corrected = RiskModel(
        feature_set_ref=model.feature_set_ref,
        encoding=model.encoding,
        risk=model.risk,
        risk_outputs=model.risk_outputs,
        temperature=model.temperature,
        reasons=model.reasons,
        reason=model.reason_booster,
        reason_outputs=model.reason_outputs,
        eta=model.eta,
        eta_default=model.eta_default,
        eta_corrections=[
            ArrivalCorrection("system_overdue", 0.0, 1.0),
            ArrivalCorrection("payout_run_far", 0.0, 0.5),
        ],
        anomaly=model.anomaly,
        anomaly_tails=model.anomaly_tails,
        anomaly_columns=model.anomaly_columns,
        anomaly_fill=model.anomaly_fill,
        anomaly_reference=model.anomaly_reference,
        logit_offsets=model.logit_offsets,
    )
    base, shifted = model.predict(test_frame), corrected.predict(test_frame)
    outage = (test_frame["sys_overdue_share_24h"] >= 0.2).to_numpy()
    ahead = (test_frame["hours_to_next_payout_run"] >= 36).to_numpy() & ~outage
    neither = ~outage & ~ahead
    assert (shifted.eta_p90_hours[outage] > base.eta_p90_hours[outage]).all()
    assert (shifted.eta_p90_hours[ahead] > base.eta_p90_hours[ahead]).all()
    np.testing.assert_array_equal(shifted.eta_p90_hours[neither], base.eta_p90_hours[neither])


def _copy_bundle(fitted: Fitted, folder: Path) -> Path:
    fitted.bundle.save(folder)
    return folder


def test_corrupt_or_unknown_bundles_raise_model_load_error(fitted: Fitted, tmp_path: Path) -> None:
    good = _copy_bundle(fitted, tmp_path / "good")

    corrupt = tmp_path / "corrupt"
    shutil.copytree(good, corrupt)
    (corrupt / MANIFEST).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelLoadError, match="unreadable"):
        RiskModel.load(corrupt)

    newer = tmp_path / "newer"
    shutil.copytree(good, newer)
    manifest = json.loads((newer / MANIFEST).read_text())
    manifest["format_version"] = 99
    (newer / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="format version 99"):
        RiskModel.load(newer)

    truncated = tmp_path / "truncated"
    shutil.copytree(good, truncated)
    (truncated / "risk.txt").write_text("tree\nversion=v4\n")
    with pytest.raises(ModelLoadError, match=r"risk\.txt: checksum mismatch"):
        RiskModel.load(truncated)

    no_key = tmp_path / "no_key"
    shutil.copytree(good, no_key)
    manifest = json.loads((no_key / MANIFEST).read_text())
    del manifest["risk"]
    (no_key / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ModelLoadError, match="corrupt bundle"):
        RiskModel.load(no_key)

    with pytest.raises(ModelLoadError, match="no such folder"):
        load_model_dir(tmp_path / "absent")
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "python_model.pkl").write_bytes(b"")
    with pytest.raises(ModelLoadError, match="not a risk_model bundle"):
        load_model_dir(tmp_path / "legacy")


def test_mlflow_pyfunc_and_load_model_dir_find_the_same_bundle(
    fitted: Fitted, test_frame: pd.DataFrame, tmp_path: Path
) -> None:
    bundle = _copy_bundle(fitted, tmp_path / "bundle")
    example = test_frame[NAMES].head(3).astype({"entry_mode": "object"})
    mlflow.pyfunc.save_model(
        path=str(tmp_path / "model"),
        python_model=RiskPyfunc(),
        artifacts={BUNDLE_ARTIFACT: str(bundle)},
    )
    served = mlflow.pyfunc.load_model(str(tmp_path / "model")).predict(example)
    assert list(served.columns) == list(OUTPUT_COLUMNS)

    found = load_model_dir(tmp_path / "model")
    direct = found.predict(example).to_pandas()
    pd.testing.assert_frame_equal(served.reset_index(drop=True), direct)
    assert isinstance(found.risk, lgb.Booster)


def test_anomaly_score_ranks_an_extreme_row_first_and_reads_as_a_share(
    fitted: Fitted, test_frame: pd.DataFrame
) -> None:
    ordinary = fitted.bundle.predict(test_frame).anomaly_score
    # about 5% of rows like the training ones pass the training period's 0.95 mark (at most
    # 10%: two detectors)
    assert 0.02 <= (ordinary >= 0.95).mean() <= 0.12
    # one column far beyond anything seen (a card's count, say) puts a row in the top 1%
    extreme = test_frame.head(1).assign(card_count_24h=500.0)
    assert fitted.bundle.predict(extreme).anomaly_score[0] >= 0.99
    assert fitted.bundle.predict(test_frame.head(1)).anomaly_score[0] < 0.99


def test_tail_scorer_reads_two_sided_tails_and_ties_as_ordinary() -> None:
    rng = np.random.default_rng(0)
    mostly_zero = np.where(rng.random(5000) < 0.7, 0.0, rng.exponential(1.0, 5000))
    train = np.column_stack([rng.normal(size=5000), mostly_zero])
    scorer = TailScorer.fit(train, top=1)
    scores = scorer.score(np.array([[0.0, 0.0], [-4.0, 0.0], [0.0, 30.0], [0.1, 0.5]]))
    assert scores[0] == pytest.approx(-np.log10(0.5))  # the median, and zero is most values
    assert scores[1] > 3.0  # far in the left tail
    assert scores[2] > 3.0  # beyond every training value
    assert scores[3] < 1.0


def test_predict_and_explain_is_predict_then_explain(
    fitted: Fitted, test_frame: pd.DataFrame
) -> None:
    """One encoding and one risk prediction for both; the same answers on every input form."""
    model = fitted.bundle
    frame = test_frame.head(60)
    as_polars = pl.from_pandas(frame.astype({"entry_mode": "object"}))
    # rows as name -> value dicts (the online path's form), with extra keys ignored
    records = as_polars.to_dicts()
    for features in (frame, as_polars, records, records[:1], as_polars.head(3)):
        prediction, explained = model.predict_and_explain(features, top=4)
        expected = model.predict(features)
        for field in (
            "proba", "risk_score", "reason", "eta_p50_hours", "eta_p90_hours", "anomaly_score",
        ):  # fmt: skip
            np.testing.assert_array_equal(getattr(prediction, field), getattr(expected, field))
        assert explained == model.explain(features, top=4)
    # dicts answer exactly as the frame they came from, one row or many
    one, _ = model.predict_and_explain(records[7:8])
    np.testing.assert_array_equal(one.proba[0], model.predict(frame).proba[7])
    assert model.explain(records, top=4) == model.explain(frame, top=4)
    empty, none = model.predict_and_explain(frame.head(0))
    assert len(empty) == 0
    assert none == []
    with pytest.raises(FeatureInputError, match="card_count_24h"):
        model.predict_and_explain([{k: v for k, v in records[0].items() if k != "card_count_24h"}])
