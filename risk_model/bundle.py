"""`RiskModel`: every trained model behind one fast `predict`, saved as a folder of plain files.

A bundle folder holds:

- `risk_model.json`, the manifest: format and version, the feature set ref, feature names and
  category vocabularies, class and reason names, the calibration temperature, the arrival-time
  corrections and the anomaly detector's columns and reference scores;
- `risk.txt`, `reason.txt`, `eta_p50.txt`, `eta_p90.txt`: LightGBM boosters as text
  (`Booster.model_to_string`); `reason.txt` is absent when training saw a single reason;
- `anomaly.npz`, `anomaly_tails.npz`: the isolation forest and the per-column quantile grids
  as plain arrays (`risk_model._forest`, `risk_model._tails`), no pickle.

The manifest's `files` holds the SHA-256 and size of every other file as `save` wrote it, and
`content_sha256` the digest of the manifest's own content (canonical JSON without that key).
`load` checks them all before anything parses a file, so a file cut, damaged or swapped after
export is refused with its name. Then each booster's text is checked for structure
(`risk_model._model_text`) and parsed by LightGBM in a throwaway process first
(`risk_model._isolated`), because LightGBM's C++ parser aborts the process on some broken
texts instead of raising: whatever is wrong with a bundle, loading it raises `ModelLoadError`.
A bundle written before checksums existed (no `files`) still loads, with a warning: it gets
the structure check and the isolated parse, not the proof that its bytes are the exported ones.

What `predict` answers, per row:

- `proba`: P(benign_delay), P(fraud), P(card_trapping), temperature-calibrated on a later
  period than the one the booster learnt from;
- `risk_score`: P(fraud) + P(card_trapping);
- `reason`: the most likely benign delay reason (meaningful when the case is benign);
- `eta_p50_hours`, `eta_p90_hours`: hours after the row's `as_of` until the money is credited,
  median and 90th percentile, never negative (0 = it should already have arrived);
- `anomaly_score`: how unusual the sale's behaviour is (its amount, card, terminal and
  merchant context; no label), in [0, 1]: the share of the training period's rows that look
  less unusual, under the more alarmed of two detectors (an isolation forest over every
  behaviour column, and the empirical tails of the row's most extreme columns). A fixed
  threshold reads as a share of ordinary traffic: 0.95 flags about the top 5%, or 10% at most
  when the two detectors disagree entirely. Rows beyond everything seen in training score 1.

Speed: the boosters are compiled from their model text into flat arrays walked by numba
(`risk_model._trees`: the same numbers as LightGBM, TreeSHAP about three times faster than
`pred_contrib` between requests); one row is a handful of numpy calls and one compiled
call per booster (single-threaded), no pandas; batches go through the same code.
`predict_and_explain` answers and explains from one encoding and one risk prediction (the
API's path); feature rows may be plain mappings (one online point needs no DataFrame).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import numpy.typing as npt
import pandas as pd

from risk_model._encoding import FeatureEncoding, Features
from risk_model._forest import PackedForest
from risk_model._isolated import ProbeError, probe_model_texts
from risk_model._model_text import check_model_text
from risk_model._tails import TailScorer, percentile
from risk_model._trees import CompiledBooster
from risk_model.errors import ModelLoadError

__all__ = [
    "CLASSES",
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "OUTPUT_COLUMNS",
    "REGIMES",
    "ArrivalCorrection",
    "Contribution",
    "Prediction",
    "RiskModel",
    "arrival_regime",
    "load_model_dir",
]

FloatArray = npt.NDArray[np.float64]

log = logging.getLogger(__name__)

CLASSES: tuple[str, ...] = ("benign_delay", "fraud", "card_trapping")
FORMAT = "settlewatch-risk-model"
FORMAT_VERSION = 1
MANIFEST = "risk_model.json"

#: the pyfunc's output columns, one row per input row
OUTPUT_COLUMNS: tuple[str, ...] = (
    *(f"p_{c}" for c in CLASSES),
    "risk_score",
    "predicted_reason",
    "eta_p50_hours",
    "eta_p90_hours",
    "anomaly_score",
)

_RISK_FILE, _REASON_FILE, _ANOMALY_FILE = "risk.txt", "reason.txt", "anomaly.npz"
_TAILS_FILE = "anomaly_tails.npz"
_ETA_FILES = ("eta_p50.txt", "eta_p90.txt")


@dataclass(frozen=True, slots=True)
class Contribution:
    """How much one feature pushed a row's risk up (see `RiskModel.explain`)."""

    feature: str
    value: float | str | None
    weight: float


@dataclass(frozen=True, eq=False)
class Prediction:
    """Answers for n rows, as numpy arrays aligned with the input rows."""

    proba: FloatArray  # (n, 3) in CLASSES order
    risk_score: FloatArray
    reason: npt.NDArray[np.str_]
    eta_p50_hours: FloatArray
    eta_p90_hours: FloatArray
    anomaly_score: FloatArray

    def __len__(self) -> int:
        return len(self.risk_score)

    def to_pandas(self, index: pd.Index | None = None) -> pd.DataFrame:
        """The `OUTPUT_COLUMNS` frame the MLflow pyfunc returns."""
        columns: dict[str, Any] = {f"p_{c}": self.proba[:, k] for k, c in enumerate(CLASSES)}
        columns.update(
            risk_score=self.risk_score,
            predicted_reason=self.reason.astype(object),
            eta_p50_hours=self.eta_p50_hours,
            eta_p90_hours=self.eta_p90_hours,
            anomaly_score=self.anomaly_score,
        )
        return pd.DataFrame(columns, index=index)[list(OUTPUT_COLUMNS)]


@dataclass(frozen=True, slots=True)
class ArrivalCorrection:
    """Conformal shifts of log1p(hours) for P50 and P90, for the rows of one regime.

    A row's regime is the first of `REGIMES` that holds for it (`RiskModel.regime_of`); rows
    of a regime without a correction, and rows of no regime, get the default shift. Training
    measures each regime's shifts on its own calibration rows (Mondrian split conformal), so
    the P90 covers about 90% within each regime, not only on average.
    """

    regime: str
    p50: float
    p90: float


def _softmax_with_temperature(
    proba: FloatArray, temperature: float, offsets: FloatArray
) -> FloatArray:
    logits = (np.log(np.clip(proba, 1e-12, 1.0)) + offsets) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    expd = np.exp(logits)
    out: FloatArray = expd / expd.sum(axis=1, keepdims=True)
    return out


def _columns_of(raw: Any, width: int) -> FloatArray:
    """A classifier booster's output as (n, width) probabilities (binary boosters give p1)."""
    out = np.asarray(raw, dtype=np.float64)
    if out.ndim == 1:
        out = np.column_stack([1.0 - out, out])
    return out[:, :width]


#: arrival regimes, by priority: the feature each reads and the test that puts a row in it
REGIMES: dict[str, tuple[str, float]] = {
    # many payouts of the row's bank tier and mode overdue at once: an outage or a late file
    # (value: the share of that tier's due payouts overdue in the last 24 hours)
    "system_overdue": ("sys_overdue_share_24h", 0.2),
    # the next payout run is a day and a half or more away: a weekend or holiday ahead
    # (value: hours from the scoring time to the merchant's next payout run)
    "payout_run_far": ("hours_to_next_payout_run", 36.0),
}


def arrival_regime(values: Mapping[str, FloatArray], n: int) -> npt.NDArray[np.str_]:
    """Each of n rows' arrival regime (the first of `REGIMES` that holds), "" for none.

    `values` maps a regime's feature to its column; a regime whose feature is absent never
    holds, and a missing value is no evidence of its regime.
    """
    out = np.full(n, "", dtype=object)
    for name, (column, above) in reversed(REGIMES.items()):
        if column in values:
            column_values = np.asarray(values[column], dtype=np.float64)
            out[np.nan_to_num(column_values, nan=-np.inf) >= above] = name
    regime: npt.NDArray[np.str_] = out.astype(np.str_)
    return regime


class RiskModel:
    """The trained models of one registered version, ready to score feature frames.

    Args:
        feature_set_ref: the feature set the models were trained on (`name:version`).
        encoding: feature order and category vocabularies.
        risk: multiclass booster; `risk_outputs` names the class of each output column.
        temperature: divides the log-probabilities before the softmax (calibration).
        logit_offsets: added to each class's log-probability first: undoes the class weights
            of training (log(1 / weight)) plus the shift calibration fitted per class.
        reasons: every benign delay reason the reason booster can answer.
        reason: multiclass booster over `reason_outputs`, or None when training saw one reason.
        eta: the P50 and P90 boosters of log1p(hours to arrival).
        eta_corrections: per-regime conformal shifts; other rows get `eta_default`.
        anomaly, anomaly_tails: the isolation forest and the tail scorer over `anomaly_columns`
            (signed-log scaled, missing values filled with `anomaly_fill`);
            `anomaly_reference` holds each one's training scores at evenly spaced quantiles.
    """

    def __init__(
        self,
        *,
        feature_set_ref: str,
        encoding: FeatureEncoding,
        risk: lgb.Booster,
        risk_outputs: Sequence[str],
        temperature: float,
        logit_offsets: Sequence[float] | None = None,
        reasons: Sequence[str],
        reason: lgb.Booster | None,
        reason_outputs: Sequence[str],
        eta: tuple[lgb.Booster, lgb.Booster],
        eta_default: tuple[float, float],
        eta_corrections: Sequence[ArrivalCorrection] = (),
        anomaly: PackedForest,
        anomaly_tails: TailScorer,
        anomaly_columns: Sequence[str],
        anomaly_fill: Sequence[float],
        anomaly_reference: Mapping[str, Sequence[float]],
        classes: Sequence[str] = CLASSES,
    ) -> None:
        self.feature_set_ref = feature_set_ref
        self.encoding = encoding
        self.classes: tuple[str, ...] = tuple(classes)
        self.risk = risk
        self.risk_outputs = tuple(risk_outputs)
        self.temperature = float(temperature)
        self.logit_offsets = np.asarray(
            logit_offsets if logit_offsets is not None else [0.0] * len(self.classes),
            dtype=np.float64,
        )
        self.reasons: tuple[str, ...] = tuple(reasons)
        self.reason_booster = reason
        self.reason_outputs = tuple(reason_outputs)
        self.eta = eta
        self.eta_default = (float(eta_default[0]), float(eta_default[1]))
        self.eta_corrections = tuple(eta_corrections)
        self.anomaly = anomaly
        self.anomaly_columns = tuple(anomaly_columns)
        self.anomaly_fill = np.asarray(anomaly_fill, dtype=np.float64)
        self.anomaly_tails = anomaly_tails
        self.anomaly_reference = {
            k: np.asarray(anomaly_reference[k], dtype=np.float64) for k in ("forest", "tails")
        }
        self._check()
        self._risk = CompiledBooster(risk)
        self._reason_rows = CompiledBooster(reason) if reason is not None else None
        self._eta = (CompiledBooster(eta[0]), CompiledBooster(eta[1]))
        index = {name: k for k, name in enumerate(self.feature_names)}
        self._risk_idx = np.array([self.classes.index(c) for c in self.risk_outputs])
        self._reason_idx = np.array([self.reasons.index(r) for r in self.reason_outputs], dtype=int)
        self._anomaly_idx = np.array([index[c] for c in self.anomaly_columns], dtype=int)
        self._regime_columns = [
            (column, index[column]) for column, _ in REGIMES.values() if column in index
        ]
        # per present regime, by priority: its column, threshold and shifts (None: default);
        # `_arrival_hours` applies them without building `regime_of`'s string array
        shifts = {c.regime: (c.p50, c.p90) for c in self.eta_corrections}
        self._regime_plan = [
            (index[column], above, shifts.get(name))
            for name, (column, above) in REGIMES.items()
            if column in index
        ]

    def _check(self) -> None:
        width = len(self.feature_names)
        boosters = {"risk": self.risk, "eta_p50": self.eta[0], "eta_p90": self.eta[1]}
        if self.reason_booster is not None:
            boosters["reason"] = self.reason_booster
        for name, booster in boosters.items():
            if booster.num_feature() != width:
                raise ValueError(
                    f"{name} booster reads {booster.num_feature()} features, not {width}"
                )
        unknown = set(self.risk_outputs) - set(self.classes)
        unknown |= set(self.reason_outputs) - set(self.reasons)
        unknown |= set(self.anomaly_columns) - set(self.feature_names)
        present = set(self.feature_names)
        usable = {name for name, (column, _) in REGIMES.items() if column in present}
        unknown |= {c.regime for c in self.eta_corrections} - usable
        if unknown:
            raise ValueError(f"names the model does not know: {sorted(unknown)}")
        if self.reason_booster is None and len(self.reasons) != 1:
            raise ValueError("no reason booster, so exactly one reason is expected")
        if len(self.anomaly_fill) != len(self.anomaly_columns):
            raise ValueError("one anomaly fill value per anomaly column is expected")
        if self.anomaly.feature.size and self.anomaly.n_features_min > len(self.anomaly_columns):
            raise ValueError("the anomaly forest reads more columns than it is given")
        if self.anomaly_tails.grid.shape[0] != len(self.anomaly_columns):
            raise ValueError("the tail scorer needs one quantile grid per anomaly column")
        if self.logit_offsets.shape != (len(self.classes),):
            raise ValueError("one logit offset per class is expected")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be positive, got {self.temperature}")

    @property
    def feature_names(self) -> tuple[str, ...]:
        return self.encoding.feature_names

    # -- scoring ---------------------------------------------------------------------------

    def predict(self, features: Features) -> Prediction:
        """Answers for every row of a feature frame (polars or pandas; extra columns ignored),
        or of a list of name -> value mappings.

        Raises:
            FeatureInputError: a feature column is missing.
        """
        return self.predict_matrix(self.encoding.matrix(features))

    def predict_and_explain(
        self, features: Features, top: int = 5
    ) -> tuple[Prediction, list[list[Contribution]]]:
        """`predict(features)` and `explain(features, top)` together, the same answers, from
        one encoding of the rows and one risk prediction (explaining needs the probabilities).

        Raises:
            FeatureInputError: a feature column is missing.
        """
        x = self.encoding.matrix(features)
        if len(x) == 0:
            return self.predict_matrix(x), []
        proba = self._proba(x)
        prediction = self._predict(x, proba)
        weights = self.risk_contributions(x, proba=proba)
        return prediction, self._top_contributions(features, weights, top)

    def predict_matrix(self, x: FloatArray) -> Prediction:
        """Answers for an already encoded (rows, features) matrix."""
        n = len(x)
        if n == 0:
            empty = np.zeros(0)
            return Prediction(
                np.zeros((0, len(self.classes))), empty, np.array([], dtype=np.str_),
                empty, empty.copy(), empty.copy(),
            )  # fmt: skip
        return self._predict(x, self._proba(x))

    def _predict(self, x: FloatArray, proba: FloatArray) -> Prediction:
        p50, p90 = self._arrival_hours(x)
        return Prediction(
            proba=proba,
            risk_score=proba[:, 1:].sum(axis=1),
            reason=self._reason(x),
            eta_p50_hours=p50,
            eta_p90_hours=p90,
            anomaly_score=self._anomaly_score(x),
        )

    def _proba(self, x: FloatArray) -> FloatArray:
        raw = _columns_of(self._risk.predict(x), len(self.risk_outputs))
        full = np.zeros((len(x), len(self.classes)))
        full[:, self._risk_idx] = raw
        return _softmax_with_temperature(full, self.temperature, self.logit_offsets)

    def _reason(self, x: FloatArray) -> npt.NDArray[np.str_]:
        names = np.array(self.reasons)
        if self._reason_rows is None:
            return np.repeat(names, len(x))
        raw = _columns_of(self._reason_rows.predict(x), len(self.reason_outputs))
        out: npt.NDArray[np.str_] = names[self._reason_idx[raw.argmax(axis=1)]]
        return out

    def regime_of(self, x: FloatArray) -> npt.NDArray[np.str_]:
        """Each row's arrival regime (`arrival_regime`) from an encoded matrix."""
        return arrival_regime({column: x[:, k] for column, k in self._regime_columns}, len(x))

    def _arrival_hours(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        shift = np.empty((len(x), 2))
        shift[:] = self.eta_default
        if self.eta_corrections:
            # a row takes the shifts of the first regime that holds for it (`regime_of`); a
            # missing value (NaN) never puts it in a regime
            placed = np.zeros(len(x), dtype=bool)
            for k, above, shifts in self._regime_plan:
                holds = (x[:, k] >= above) & ~placed
                if shifts is not None:
                    shift[holds] = shifts
                placed |= holds
        logs = np.column_stack([b.predict(x) for b in self._eta]) + shift
        hours = np.maximum.accumulate(np.expm1(logs).clip(0.0, None), axis=1)
        return hours[:, 0], hours[:, 1]

    def _anomaly_score(self, x: FloatArray) -> FloatArray:
        """The more alarmed of the two detectors, as a share of training rows below it."""
        values = self._anomaly_matrix(x)
        forest = percentile(self.anomaly_reference["forest"], self.anomaly.score(values))
        tails = percentile(self.anomaly_reference["tails"], self.anomaly_tails.score(values))
        out: FloatArray = np.maximum(forest, tails)
        return out

    def _anomaly_matrix(self, x: FloatArray) -> FloatArray:
        values = x[:, self._anomaly_idx]
        scaled = np.sign(values) * np.log1p(np.abs(values))
        return np.where(np.isnan(scaled), self.anomaly_fill, scaled)

    # -- explanations ----------------------------------------------------------------------

    def risk_contributions(self, x: FloatArray, *, proba: FloatArray | None = None) -> FloatArray:
        """(rows, features): each feature's push on the calibrated log-odds of risk vs benign.

        LightGBM's `pred_contrib` splits each class's raw score z_k (the softmax input) into
        per-feature terms (TreeSHAP). The risk log-odds log((p_fraud + p_trap) / p_benign) is
        linearised at the row's own probabilities: its slope is s_fraud on z_fraud, s_trap on
        z_trap and -1 on z_benign, where s are the shares of fraud and trapping within the
        row's risk. So a feature's weight is (s_fraud c_fraud + s_trap c_trap - c_benign) / T,
        T the calibration temperature. Exact when one risky class dominates. `proba`: the rows'
        calibrated probabilities when already known (`_proba(x)`).
        """
        n, width = len(x), len(self.feature_names)
        raw = np.asarray(self._risk.contributions(x), dtype=np.float64)
        blocks = raw.reshape(n, -1, width + 1)[:, :, :width]
        per_class = np.zeros((n, len(self.classes), width))
        if blocks.shape[1] == 1:  # binary booster: z is the second output's logit
            per_class[:, self._risk_idx[-1]] = blocks[:, 0]
        else:
            per_class[:, self._risk_idx] = blocks[:, : len(self.risk_outputs)]
        if proba is None:
            proba = self._proba(x)
        risky = proba[:, 1:]
        shares = risky / np.clip(risky.sum(axis=1, keepdims=True), 1e-300, None)
        pushed = np.einsum("nk,nkf->nf", shares, per_class[:, 1:]) - per_class[:, 0]
        out: FloatArray = pushed / self.temperature
        return out

    def explain(self, features: Features, top: int = 5) -> list[list[Contribution]]:
        """Per row, up to `top` features that pushed its risk up the most, largest first.

        Only features with a positive weight are listed (see `risk_contributions` for the
        weight's definition); `value` is the row's input value (a category as its string).
        """
        x = self.encoding.matrix(features)
        if len(x) == 0:
            return []
        return self._top_contributions(features, self.risk_contributions(x), top)

    def _top_contributions(
        self, features: Features, weights: FloatArray, top: int
    ) -> list[list[Contribution]]:
        # one stable sort of the whole matrix: row by row it is the same order
        orders = np.argsort(-weights, axis=1, kind="stable")[:, :top]
        kept = [order[weights[i, order] > 0].tolist() for i, order in enumerate(orders)]
        names = self.feature_names
        read = self.encoding.value_reader(features, (names[j] for row in kept for j in row))
        out: list[list[Contribution]] = []
        for i, row in enumerate(kept):
            picked = [names[j] for j in row]
            values = read(i, picked)
            weight = weights[i]
            out.append(
                [
                    Contribution(feature=name, value=value, weight=float(weight[j]))
                    for name, value, j in zip(picked, values, row, strict=True)
                ]
            )
        return out

    # -- files -----------------------------------------------------------------------------

    def manifest(self) -> dict[str, Any]:
        """The JSON manifest written by `save` (which adds the files' checksums)."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "feature_set": self.feature_set_ref,
            "features": list(self.feature_names),
            "categories": {k: list(v) for k, v in self.encoding.categories.items()},
            "classes": list(self.classes),
            "risk": {
                "model": _RISK_FILE,
                "outputs": list(self.risk_outputs),
                "temperature": self.temperature,
                "logit_offsets": [float(v) for v in self.logit_offsets],
            },
            "reason": {
                "model": _REASON_FILE if self.reason_booster is not None else None,
                "reasons": list(self.reasons),
                "outputs": list(self.reason_outputs),
            },
            "eta": {
                "target": "log1p(hours from as_of to payout_credited)",
                "models": list(_ETA_FILES),
                "default_shift": list(self.eta_default),
                "corrections": [
                    {"regime": c.regime, "p50": c.p50, "p90": c.p90} for c in self.eta_corrections
                ],
                "regimes": {k: {"feature": c, "at_least": v} for k, (c, v) in REGIMES.items()},
            },
            "anomaly": {
                "model": _ANOMALY_FILE,
                "tails": _TAILS_FILE,
                "columns": list(self.anomaly_columns),
                "fill": [float(v) for v in self.anomaly_fill],
                "reference": {k: [float(v) for v in r] for k, r in self.anomaly_reference.items()},
            },
        }

    def save(self, folder: Path) -> None:
        """Write the bundle's files into `folder` (created if missing), the manifest carrying
        the checksum of each file as written."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / _RISK_FILE).write_text(self.risk.model_to_string(), encoding="utf-8")
        if self.reason_booster is not None:
            (folder / _REASON_FILE).write_text(
                self.reason_booster.model_to_string(), encoding="utf-8"
            )
        for name, booster in zip(_ETA_FILES, self.eta, strict=True):
            (folder / name).write_text(booster.model_to_string(), encoding="utf-8")
        self.anomaly.save(folder / _ANOMALY_FILE)
        self.anomaly_tails.save(folder / _TAILS_FILE)
        manifest = self.manifest()
        # the bytes on disk, read back: what a later load must find
        manifest["files"] = {
            name: _file_digest((folder / name).read_bytes()) for name in _named_files(manifest)
        }
        manifest["content_sha256"] = _content_digest(manifest)
        # the manifest last: a folder with a manifest is a complete bundle
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> RiskModel:
        """Read a bundle written by `save`.

        Raises:
            ModelLoadError: missing files, a corrupt file, or an unknown format or version.
        """
        path = folder / MANIFEST
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ModelLoadError(path=folder, detail=f"no {MANIFEST}") from exc
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelLoadError(path=folder, detail=f"unreadable {MANIFEST}: {exc}") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise ModelLoadError(path=folder, detail=f"{MANIFEST} is not a {FORMAT} manifest")
        version = manifest.get("format_version")
        if version != FORMAT_VERSION:
            raise ModelLoadError(
                path=folder,
                detail=f"format version {version!r}; this runtime reads {FORMAT_VERSION}",
            )
        contents = _verified_files(folder, manifest)
        try:
            return cls._from_manifest(manifest, contents)
        except ModelLoadError:
            raise
        except (_BadFileError, ProbeError) as exc:  # they name the file
            raise ModelLoadError(path=folder, detail=str(exc)) from exc
        except Exception as exc:  # numpy, zipfile, LightGBM...: a bad bundle never escapes
            raise ModelLoadError(path=folder, detail=f"corrupt bundle: {exc!r}") from exc

    @classmethod
    def _from_manifest(cls, m: dict[str, Any], contents: Mapping[str, bytes]) -> RiskModel:
        texts: dict[str, str] = {}
        for name in _booster_files(m):
            try:
                texts[name] = contents[name].decode("utf-8")
                check_model_text(texts[name])
            except (UnicodeDecodeError, ValueError) as exc:
                raise _BadFileError(f"{name}: {exc}") from exc
        # LightGBM's parser may abort the process on a text our check let through: it reads
        # them in a throwaway process first (about 0.1 s)
        probe_model_texts(texts)

        def booster(name: str) -> lgb.Booster:
            return lgb.Booster(model_str=texts[name])

        def arrays(name: str, kind: type[PackedForest] | type[TailScorer]) -> Any:
            # the verified bytes, not the file again: what was checked is what is read
            data: Any = io.BytesIO(contents[name])
            try:
                return kind.load(data)
            except (KeyError, ValueError, OSError) as exc:  # named: which file is not whole
                raise _BadFileError(f"{name}: {exc}") from exc

        eta = m["eta"]
        p50, p90 = (booster(name) for name in eta["models"])
        reason = m["reason"]
        anomaly = m["anomaly"]
        return cls(
            feature_set_ref=str(m["feature_set"]),
            encoding=FeatureEncoding(
                feature_names=tuple(m["features"]),
                categories={k: tuple(v) for k, v in m["categories"].items()},
            ),
            classes=tuple(m["classes"]),
            risk=booster(m["risk"]["model"]),
            risk_outputs=m["risk"]["outputs"],
            temperature=float(m["risk"]["temperature"]),
            logit_offsets=[float(v) for v in m["risk"]["logit_offsets"]],
            reasons=reason["reasons"],
            reason=booster(reason["model"]) if reason["model"] else None,
            reason_outputs=reason["outputs"],
            eta=(p50, p90),
            eta_default=(float(eta["default_shift"][0]), float(eta["default_shift"][1])),
            eta_corrections=[
                ArrivalCorrection(str(c["regime"]), float(c["p50"]), float(c["p90"]))
                for c in eta["corrections"]
            ],
            anomaly=arrays(anomaly["model"], PackedForest),
            anomaly_columns=anomaly["columns"],
            anomaly_fill=[float(v) for v in anomaly["fill"]],
            anomaly_tails=arrays(anomaly["tails"], TailScorer),
            anomaly_reference={
                k: [float(v) for v in anomaly["reference"][k]] for k in ("forest", "tails")
            },
        )


class _BadFileError(ValueError):
    """A booster's text is not whole, consistent LightGBM model text (its name first)."""


def _file_digest(data: bytes) -> dict[str, Any]:
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def _content_digest(manifest: Mapping[str, Any]) -> str:
    body = {k: v for k, v in manifest.items() if k != "content_sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _booster_files(m: Mapping[str, Any]) -> list[str]:
    names = [m["risk"]["model"], *m["eta"]["models"]]
    if m["reason"]["model"]:
        names.append(m["reason"]["model"])
    return [str(n) for n in names]


def _named_files(m: Mapping[str, Any]) -> list[str]:
    """Every file the manifest names, boosters first."""
    return [*_booster_files(m), str(m["anomaly"]["model"]), str(m["anomaly"]["tails"])]


def _verified_files(folder: Path, manifest: dict[str, Any]) -> dict[str, bytes]:
    """The bytes of every file the manifest names, each checked against its checksum.

    Raises:
        ModelLoadError: naming the file that is missing, unreadable or not as exported.
    """
    try:
        names = _named_files(manifest)
    except (KeyError, TypeError) as exc:
        raise ModelLoadError(path=folder, detail=f"corrupt bundle: {exc!r}") from exc
    files = manifest.get("files")
    if files is None:
        log.warning(
            "%s in %s has no checksums (exported before they existed): its files cannot be "
            "proven to be the exported ones",
            MANIFEST,
            folder,
        )
    else:
        if not isinstance(files, dict) or manifest.get("content_sha256") != _content_digest(
            manifest
        ):
            raise ModelLoadError(
                path=folder, detail=f"{MANIFEST}: its content does not match content_sha256"
            )
        unlisted = sorted(set(names) - set(files))
        if unlisted:
            raise ModelLoadError(
                path=folder, detail=f"{', '.join(unlisted)}: not covered by {MANIFEST}'s files"
            )
    contents: dict[str, bytes] = {}
    for name in names:
        if "/" in name or "\\" in name or name.startswith("."):
            raise ModelLoadError(path=folder, detail=f"{name}: not a file name of this bundle")
        try:
            data = (folder / name).read_bytes()
        except FileNotFoundError as exc:
            raise ModelLoadError(path=folder, detail=f"{name}: missing") from exc
        except OSError as exc:
            raise ModelLoadError(path=folder, detail=f"{name}: unreadable: {exc}") from exc
        if files is not None:
            expected, found = files[name], _file_digest(data)
            if expected != found:
                exported = expected if isinstance(expected, dict) else {}
                raise ModelLoadError(
                    path=folder,
                    detail=(
                        f"{name}: checksum mismatch: {found['bytes']} bytes with sha256 "
                        f"{found['sha256'][:16]}, exported {exported.get('bytes')} bytes "
                        f"with sha256 {str(exported.get('sha256'))[:16]}"
                    ),
                )
        contents[name] = data
    return contents


def load_model_dir(path: Path) -> RiskModel:
    """The bundle inside a downloaded MLflow model folder (or a bundle folder itself).

    `mlflow.artifacts.download_artifacts("models:/settlewatch-risk/<version>")` returns the
    model folder; the bundle is its `artifacts/bundle/` (found by its manifest).

    Raises:
        ModelLoadError: no bundle (for instance a version logged before this runtime existed),
            several bundles, or a bundle that cannot be read.
    """
    if not path.is_dir():
        raise ModelLoadError(path=path, detail="no such folder")
    if (path / MANIFEST).is_file():
        return RiskModel.load(path)
    found = sorted(p.parent for p in path.rglob(MANIFEST))
    if not found:
        raise ModelLoadError(
            path=path,
            detail=(
                f"no {MANIFEST} inside: not a risk_model bundle (versions logged before the "
                "risk_model runtime hold a pickled model instead; retrain to get a bundle)"
            ),
        )
    if len(found) > 1:
        shown = ", ".join(str(p.relative_to(path)) for p in found)
        raise ModelLoadError(path=path, detail=f"several bundles inside: {shown}")
    return RiskModel.load(found[0])
