"""The shortest history training accepts is said in the error and in `train --help`."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from data_contracts.units import US_DAY
from settlewatch.cli import app
from training.labels import split_periods


def test_a_window_of_thirty_days_or_less_names_the_minimum() -> None:
    with pytest.raises(ValueError, match=r"more than 30 days .* at least 31 days"):
        split_periods(start_us=0, cutoff_us=int(29.2 * US_DAY))
    split = split_periods(start_us=0, cutoff_us=int(30.2 * US_DAY))
    assert split.train.start_us < split.validation.start_us < split.test.start_us


def test_train_help_says_the_minimum() -> None:
    result = CliRunner().invoke(app, ["train", "--help"])
    assert result.exit_code == 0
    assert "31 days" in " ".join(result.output.split())
