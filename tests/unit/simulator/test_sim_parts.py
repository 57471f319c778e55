"""Building blocks of the simulator on tiny hand-made inputs."""

from __future__ import annotations

import datetime

import numpy as np

from data_contracts.cards import looks_like_pan
from simulator import SimulationConfig
from simulator.actors import RELOCATION, SKIMMING, assign_actors
from simulator.batch import TxBatch
from simulator.calendar import DAY, HOUR, SettlementCalendar
from simulator.incidents import Intervals
from simulator.population import _luhn_check_digits, build_population
from simulator.settlement import BatchBook, _d0_over_quota, _high_value_window


def test_intervals_merge_overlaps_and_find_the_covering_one() -> None:
    iv = Intervals.of(
        owner=np.array([1, 0, 1, 1]),
        start=np.array([100, 50, 150, 500]),
        end=np.array([200, 60, 300, 600]),
        code=np.array([7, 8, 9, 10]),
    )
    assert iv.owner.tolist() == [0, 1, 1]
    assert iv.end.tolist() == [60, 300, 600]  # 100-200 and 150-300 became one
    hit = iv.covering(np.array([1, 1, 1, 0, 2]), np.array([99, 100, 299, 55, 150]))
    assert hit.tolist() == [-1, 1, 1, 0, -1]


def test_luhn_check_digit_makes_valid_numbers() -> None:
    body = np.array([[6, 2, 2, 2, 0, 2, 1, 2, 3, 4, 5, 6, 7, 8, 9]])
    pan = "".join(map(str, body[0])) + str(int(_luhn_check_digits(body)[0]))
    assert looks_like_pan(pan)


def test_population_has_no_full_card_number() -> None:
    pop = build_population(SimulationConfig(merchants=5), np.random.default_rng(0))
    assert all(len(t) == 64 for t in pop.c_token)
    assert all(len(b) == 6 and len(f) == 4 for b, f in zip(pop.c_bin, pop.c_last4, strict=True))
    assert not any(hasattr(pop, name) for name in ("pan", "card_number", "c_pan"))


def test_batch_auto_closes_after_three_missed_days() -> None:
    cfg = SimulationConfig(merchants=3, batch_miss_rate=1.0, sloppy_batch_miss_rate=1.0)
    pop = build_population(cfg, np.random.default_rng(1))
    book = BatchBook.build(cfg, pop, np.random.default_rng(2), days=10)
    # a terminal that never closes is closed automatically every fourth day
    assert book.closes[0].tolist() == [False, False, False, True] * 2 + [False, False]
    days = np.arange(5)
    assert book.close_day(np.zeros(5, dtype=np.int64), days).tolist() == [3, 3, 3, 3, 7]
    numbers = book.batch_no(np.zeros(2, dtype=np.int64), np.array([3, 7]))
    assert numbers[1] == numbers[0] + 1


def test_d0_quota_sends_the_rest_of_the_day_to_t1() -> None:
    cfg = SimulationConfig(d0_quota_fen=10_000)
    g = TxBatch.new(
        4,
        sec=np.array([10, 20, 30, DAY + 5]),
        merchant=np.array([0, 0, 0, 0]),
        amount=np.array([6_000, 5_000, 1, 9_000]),
    )
    over = _d0_over_quota(cfg, g, np.arange(4), np.ones(4, dtype=bool))
    assert over.tolist() == [False, True, True, False]


def test_high_value_payouts_wait_for_the_system_to_open() -> None:
    cal = SettlementCalendar.build(start=datetime.date(2026, 10, 9), days=5)  # Fri
    sent = np.array([9 * HOUR, 20 * HOUR, 20 * HOUR, DAY + 7 * HOUR])
    amount = np.array([6_000_000, 6_000_000, 100, 6_000_000])
    moved = _high_value_window(cal, amount, sent)
    # Friday 09:00 stays; Friday 20:00 waits for make-up Saturday 08:30; small ones go anyway
    assert moved.tolist() == [9 * HOUR, DAY + 8.5 * HOUR, 20 * HOUR, DAY + 8.5 * HOUR]


def test_the_novel_scheme_acts_only_in_the_last_part_of_the_run() -> None:
    cfg = SimulationConfig(merchants=400, days=50, relocation_terminal_share=0.05)
    pop = build_population(cfg, np.random.default_rng(0))
    actors = assign_actors(cfg, pop, np.random.default_rng(1))
    novel = actors.t_scheme == RELOCATION
    assert novel.sum() >= 5
    assert (actors.t_from[novel] >= 40).all()
    assert (actors.t_from[novel] < 50).all()
    # the other schemes keep windows all along the run
    assert (actors.t_from[actors.t_scheme == SKIMMING] < 40).any()

    off = SimulationConfig(merchants=400, days=50, relocation_terminal_share=0.05, novel_scheme="")
    plain = assign_actors(
        off, build_population(off, np.random.default_rng(0)), np.random.default_rng(1)
    )
    assert (plain.t_from[plain.t_scheme == RELOCATION] < 40).any()
