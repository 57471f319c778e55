"""The Handbook's own 15 baseline features and its logistic regression: the harness check.

If the harness (data, folds, exclusions, metrics) is right, logistic regression on these
features reproduces the Handbook's published single-split figures. The features, from the
Handbook's columns:

- `TX_AMOUNT`; `TX_DURING_WEEKEND` (Saturday or Sunday); `TX_DURING_NIGHT` (hour ≤ 6);
- per card (`CUSTOMER_ID`), over 1, 7 and 30 days ending at the transaction and including
  it: the number of transactions and their average amount (rows at the same second after the
  transaction in file order are not included, as in a positional rolling window);
- per terminal, over 1, 7 and 30 days ending 7 days before the transaction (the label
  delay): the number of transactions and the share that were frauds (0 when none). Only labels
  at least 7 days old are read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import polars as pl
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.pipeline import Pipeline, make_pipeline  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

from training.handbook._timeline import Timeline

__all__ = ["BASELINE_FEATURES", "baseline_features", "baseline_model", "to_matrix"]

DAY_S = 86_400
WINDOWS_DAYS = (1, 7, 30)
DELAY_DAYS = 7

BASELINE_FEATURES = (
    "TX_AMOUNT",
    "TX_DURING_WEEKEND",
    "TX_DURING_NIGHT",
    *(f"CUSTOMER_ID_NB_TX_{n}DAY_WINDOW" for n in WINDOWS_DAYS),
    *(f"CUSTOMER_ID_AVG_AMOUNT_{n}DAY_WINDOW" for n in WINDOWS_DAYS),
    *(f"TERMINAL_ID_NB_TX_{n}DAY_WINDOW" for n in WINDOWS_DAYS),
    *(f"TERMINAL_ID_RISK_{n}DAY_WINDOW" for n in WINDOWS_DAYS),
)


def baseline_features(raw: pl.DataFrame) -> pl.DataFrame:
    """`TRANSACTION_ID` and the 15 baseline features of every row of the Handbook's file."""
    seconds = (raw["TX_DATETIME"].dt.epoch("s")).to_numpy().astype(np.int64)
    amount = raw["TX_AMOUNT"].to_numpy().astype(np.float64)
    fraud = raw["TX_FRAUD"].to_numpy().astype(np.float64)
    longest = (max(WINDOWS_DAYS) + DELAY_DAYS) * DAY_S
    n = raw.height

    cards = raw["CUSTOMER_ID"].to_numpy().astype(np.int64)
    by_card = Timeline.of(cards, seconds, max_window=longest)
    # each row's own sorted position + 1: the window ends at the row itself, as positional
    # rolling does
    end = np.empty(n, dtype=np.int64)
    end[by_card.order] = np.arange(1, n + 1)
    paid = by_card.running(amount)
    columns: dict[str, object] = {"TRANSACTION_ID": raw["TRANSACTION_ID"]}
    columns["TX_AMOUNT"] = amount
    columns["TX_DURING_WEEKEND"] = (raw["TX_DATETIME"].dt.weekday() >= 6).cast(pl.Int8)
    columns["TX_DURING_NIGHT"] = (raw["TX_DATETIME"].dt.hour() <= 6).cast(pl.Int8)
    for days in WINDOWS_DAYS:
        start = by_card.bound(cards, seconds - days * DAY_S, inclusive=True)
        count = end - start
        columns[f"CUSTOMER_ID_NB_TX_{days}DAY_WINDOW"] = count.astype(np.float64)
        columns[f"CUSTOMER_ID_AVG_AMOUNT_{days}DAY_WINDOW"] = (paid[end] - paid[start]) / count

    terminals = raw["TERMINAL_ID"].to_numpy().astype(np.int64)
    by_terminal = Timeline.of(terminals, seconds, max_window=longest)
    frauds = by_terminal.running(fraud)
    known_end = by_terminal.bound(terminals, seconds - DELAY_DAYS * DAY_S, inclusive=True)
    for days in WINDOWS_DAYS:
        start = by_terminal.bound(terminals, seconds - (DELAY_DAYS + days) * DAY_S, inclusive=True)
        count = known_end - start
        risk = np.divide(
            frauds[known_end] - frauds[start],
            count,
            out=np.zeros(n, dtype=np.float64),
            where=count > 0,
        )
        columns[f"TERMINAL_ID_NB_TX_{days}DAY_WINDOW"] = count.astype(np.float64)
        columns[f"TERMINAL_ID_RISK_{days}DAY_WINDOW"] = risk
    return pl.DataFrame(columns).select("TRANSACTION_ID", *BASELINE_FEATURES)


def baseline_model() -> Pipeline:
    """The Handbook's logistic regression: standardised features, solved to convergence."""
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=5_000))


def to_matrix(frame: pl.DataFrame) -> pd.DataFrame:
    """The baseline features as the float frame the model is fitted on."""
    return frame.select([pl.col(c).cast(pl.Float64) for c in BASELINE_FEATURES]).to_pandas()
