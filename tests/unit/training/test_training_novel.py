"""The novel pattern comes from the labels: risky test reasons never labelled before."""

from __future__ import annotations

import pandas as pd

from training.pipeline import novel_reasons


def _labels(*pairs: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame(pairs, columns=["outcome_class", "outcome_reason"])


def test_novel_reasons_are_risky_test_reasons_absent_from_earlier_labels() -> None:
    train = _labels(("benign_delay", "bank_outage"), ("fraud", "cash_out"))
    validation = _labels(("card_trapping", "skimming"))
    test = _labels(
        ("fraud", "cash_out"),
        ("fraud", "terminal_relocation"),
        ("card_trapping", "capture_card"),
        ("benign_delay", "clearing_delay"),  # new but benign: not a pattern to hunt
        ("card_trapping", "skimming"),
    )
    assert novel_reasons(train, validation, test) == ("capture_card", "terminal_relocation")
    assert novel_reasons(train, test, test) == ()
