"""PSI against training quantiles, checked by hand on a uniform reference."""

from __future__ import annotations

import math

import numpy as np
import pytest

from review.drift import psi

# the quantiles of U(0, 1) at 5 %, 10 %, …, 95 %: the deciles are 0.1 … 0.9
LEVELS = np.linspace(0.05, 0.95, 19)
GRID = LEVELS.copy()


def test_the_same_distribution_does_not_drift() -> None:
    values = (np.arange(1_000) + 0.5) / 1_000
    assert psi(GRID, LEVELS, values) == pytest.approx(0.0, abs=1e-12)


def test_everything_in_the_top_decile() -> None:
    # actual: 1 in the top bin, the 1e-4 floor in the nine others; expected: 0.1 each
    expected = 9 * (1e-4 - 0.1) * math.log(1e-4 / 0.1) + (1 - 0.1) * math.log(1 / 0.1)
    assert psi(GRID, LEVELS, np.full(500, 0.95)) == pytest.approx(expected)


def test_half_the_mass_moved_to_the_top() -> None:
    values = np.r_[(np.arange(1_000) + 0.5) / 1_000, np.full(1_000, 0.95)]
    # actual 0.05 in nine bins, 0.55 in the top one
    expected = 9 * (0.05 - 0.1) * math.log(0.05 / 0.1) + (0.55 - 0.1) * math.log(0.55 / 0.1)
    assert psi(GRID, LEVELS, values) == pytest.approx(expected)


def test_a_two_valued_feature_gets_its_own_bins() -> None:
    # a flag that is 1 for 30 % of training rows: its quantiles are 0 up to 70 %, then 1;
    # the grid ends at 99.9 %, so 0.1 % of training is read as lying above 1
    levels = np.r_[LEVELS, 0.99, 0.999]
    grid = np.where(levels <= 0.7 + 1e-9, 0.0, 1.0)
    bins = [0.7, 0.299, 0.001]  # ≤ 0, (0, 1], > 1

    def by_hand(actual: list[float]) -> float:
        return sum(
            (max(a, 1e-4) - e) * math.log(max(a, 1e-4) / e)
            for a, e in zip(actual, bins, strict=True)
        )

    same = np.r_[np.zeros(700), np.ones(300)]
    assert psi(grid, levels, same) == pytest.approx(by_hand([0.7, 0.3, 0.0]))
    assert psi(grid, levels, same) < 0.01
    shifted = np.r_[np.zeros(400), np.ones(600)]
    assert psi(grid, levels, shifted) == pytest.approx(by_hand([0.4, 0.6, 0.0]))
    assert psi(grid, levels, shifted) > 0.25
