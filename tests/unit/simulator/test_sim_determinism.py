"""Same seed, same files; another seed, other files; config errors are clear."""

from __future__ import annotations

import pathlib

import pytest

from simulator import SimulationConfig, SimulationConfigError, SimulationError, simulate

FILES = ("merchants", "terminals", "transactions", "settlement_events", "claims", "outcomes")


def _run(out: pathlib.Path, seed: int) -> dict[str, bytes]:
    progress: list[tuple[int, int]] = []
    summary = simulate(
        SimulationConfig(merchants=40, days=14, seed=seed),
        out_dir=out,
        progress=lambda done, total: progress.append((done, total)),
    )
    assert progress == [(d, 14) for d in range(1, 15)]
    assert summary.out_dir == out
    assert set(summary.rows) == set(FILES)
    assert sum(summary.unsettled_by_class.values()) == summary.rows["outcomes"]
    assert sum(summary.unsettled_by_reason.values()) == summary.rows["outcomes"]
    return {name: (out / f"{name}.parquet").read_bytes() for name in FILES}


def test_same_seed_gives_identical_files_and_another_seed_other_ones(
    tmp_path: pathlib.Path,
) -> None:
    first = _run(tmp_path / "a", seed=1)
    again = _run(tmp_path / "b", seed=1)
    other = _run(tmp_path / "c", seed=2)
    assert first == again
    for name in FILES:
        assert first[name] != other[name], name


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("merchants", 0),
        ("days", 0),
        ("seed", -1),
        ("d0_share", 1.5),
        ("void_rate", -0.1),
        ("clearing_cutoff_hour", 24),
        ("novel_scheme", "stolen_card"),
        ("novel_from_share", 1.2),
        ("return_notice_hours", (5.0, 1.0)),
    ],
)
def test_bad_config_is_refused_with_the_field_named(field: str, value: float) -> None:
    with pytest.raises(SimulationConfigError, match=field) as caught:
        SimulationConfig(**{field: value})
    assert isinstance(caught.value, SimulationError)
