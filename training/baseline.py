"""The legacy hold rules: the baseline every model is compared with (DOMAIN §4).

Four threshold rules, as the acquirer's engine has them today: a large amount, a night-time
sale, a new merchant, a card used many times a day. The rules give a count of hits; `fit`
learns what share of each class a given count held in the training period, so the rules can
be scored with the same probability metrics as the model.
"""

from __future__ import annotations

from typing import Self

import numpy as np
import numpy.typing as npt
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin  # type: ignore[import-untyped]

__all__ = ["LegacyHoldRules"]

FloatArray = npt.NDArray[np.float64]


class LegacyHoldRules(ClassifierMixin, BaseEstimator):  # type: ignore[misc]
    """Hits of the legacy rules, and per-class rates by hit count."""

    def __init__(
        self,
        *,
        classes: tuple[str, ...] = ("benign_delay", "fraud", "card_trapping"),
        large_amount_fen: int = 500_000,
        new_merchant_days: float = 30.0,
        card_count_24h: int = 3,
    ) -> None:
        self.classes = classes
        self.large_amount_fen = large_amount_fen
        self.new_merchant_days = new_merchant_days
        self.card_count_24h = card_count_24h

    def hits(self, X: pd.DataFrame) -> npt.NDArray[np.int64]:  # noqa: N803 - sklearn naming
        """How many rules each point trips (0-4)."""
        rules = [
            X["amount_fen"].fillna(0) >= self.large_amount_fen,
            X["is_night"].fillna(False).astype(bool),
            X["merchant_age_days"].fillna(np.inf) < self.new_merchant_days,
            X["card_count_24h"].fillna(0) >= self.card_count_24h,
        ]
        out: npt.NDArray[np.int64] = np.sum([r.to_numpy(dtype=bool) for r in rules], axis=0).astype(
            np.int64
        )
        return out

    def risk_score(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        """Hit count, ties broken by amount: the engine's queue order."""
        amount = X["amount_fen"].fillna(0).to_numpy(dtype=np.float64)
        out: FloatArray = self.hits(X) + amount / (amount + 1_000_000.0)
        return out

    def fit(self, X: pd.DataFrame, y: npt.ArrayLike) -> Self:  # noqa: N803
        y_arr = np.asarray(y).astype(str)
        self.classes_ = np.array(self.classes)
        hits = self.hits(X)
        # add-one smoothing: a hit count unseen in training falls back to near-uniform
        table = np.ones((5, len(self.classes)))
        for k, name in enumerate(self.classes):
            np.add.at(table[:, k], hits[y_arr == name], 1.0)
        self.rates_: FloatArray = table / table.sum(axis=1, keepdims=True)
        return self

    def predict_proba(self, X: pd.DataFrame) -> FloatArray:  # noqa: N803
        out: FloatArray = self.rates_[self.hits(X)]
        return out

    def predict(self, X: pd.DataFrame) -> npt.NDArray[np.str_]:  # noqa: N803
        out: npt.NDArray[np.str_] = self.classes_[self.predict_proba(X).argmax(axis=1)]
        return out
