"""A small trained bundle for the risk_model tests: eight features, fit in seconds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import Dtype, Entity, Feature, FeatureSet
from training.export import to_risk_model
from training.models import (
    ArrivalQuantiles,
    BehaviourAnomaly,
    FeatureEncoder,
    ReasonClassifier,
    RiskClassifier,
)

SMALL = FeatureSet(
    name="small",
    version="1",
    features=(
        Feature("amount_fen", "transaction", Entity.TRANSACTION, Dtype.FLOAT, "amount"),
        Feature("is_night", "transaction", Entity.TRANSACTION, Dtype.BOOL, "night"),
        Feature("entry_mode", "transaction", Entity.TRANSACTION, Dtype.CATEGORY, "entry"),
        Feature("card_count_24h", "card", Entity.CARD, Dtype.INT, "card count"),
        Feature("m_count_24h", "merchant", Entity.MERCHANT, Dtype.INT, "merchant count"),
        Feature("hours_overdue", "calendar", Entity.TRANSACTION, Dtype.FLOAT, "overdue"),
        Feature("hours_to_next_payout_run", "calendar", Entity.TRANSACTION, Dtype.FLOAT, "run"),
        Feature("sys_overdue_share_24h", "system", Entity.SYSTEM, Dtype.FLOAT, "outage"),
    ),
)
NAMES = list(SMALL.names)
REASONS = np.array(["bank_outage", "batch_not_closed", "not_yet_due"])


def _frame(n: int, seed: int) -> pd.DataFrame:
    """Features in `to_pandas` form plus truth: fraud is night and swipe, trapping busy cards."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "tx_id": [f"T{seed}-{i}" for i in range(n)],
            "amount_fen": rng.lognormal(9, 1, n).round(),
            "is_night": rng.random(n) < 0.2,
            "entry_mode": pd.Categorical(rng.choice(["chip", "swipe", "qr"], n)),
            "card_count_24h": rng.poisson(2, n).astype(float),
            "m_count_24h": rng.poisson(30, n).astype(float),
            "hours_overdue": rng.exponential(5, n),
            "hours_to_next_payout_run": rng.choice([10.0, 20.0, 60.0], n),
            "sys_overdue_share_24h": rng.beta(1, 8, n),
        }
    )
    frame.loc[rng.random(n) < 0.05, "amount_fen"] = np.nan
    night_swipe = frame["is_night"] & (frame["entry_mode"] == "swipe")
    busy = frame["card_count_24h"] >= 5
    frame["outcome_class"] = np.where(
        night_swipe, "fraud", np.where(busy, "card_trapping", "benign_delay")
    )
    frame["outcome_reason"] = REASONS[
        (frame["sys_overdue_share_24h"] > 0.2) * 0
        + (frame["sys_overdue_share_24h"] <= 0.2) * (1 + (frame["hours_to_next_payout_run"] > 36))
    ]
    frame["arrival_hours"] = (
        2 + frame["hours_to_next_payout_run"] / 2 + rng.exponential(3, n)
    ) * np.where(frame["sys_overdue_share_24h"] > 0.2, 3, 1)
    return frame


class Fitted:
    def __init__(self) -> None:
        train, cal = _frame(3000, 0), _frame(1500, 1)
        self.encoder = FeatureEncoder(SMALL).fit(train)
        x, xc = self.encoder.transform(train), self.encoder.transform(cal)
        self.risk = RiskClassifier(n_estimators=40).fit(
            x, train["outcome_class"], X_calibration=xc, y_calibration=cal["outcome_class"]
        )
        benign = (train["outcome_class"] == "benign_delay").to_numpy()
        benign_cal = (cal["outcome_class"] == "benign_delay").to_numpy()
        self.reason = ReasonClassifier(n_estimators=20).fit(
            x[benign], train.loc[benign, "outcome_reason"]
        )
        self.eta = ArrivalQuantiles(n_estimators=30).fit(
            x[benign],
            train.loc[benign, "arrival_hours"],
            X_calibration=xc[benign_cal],
            y_calibration=cal.loc[benign_cal, "arrival_hours"],
        )
        self.anomaly = BehaviourAnomaly(
            columns=("amount_fen", "card_count_24h", "m_count_24h"), n_estimators=50
        ).fit(x)
        self.bundle = to_risk_model(
            encoder=self.encoder,
            risk=self.risk,
            reason=self.reason,
            eta=self.eta,
            anomaly=self.anomaly,
            reference=x,
            feature_set=SMALL,
        )
