"""Engines: SQLite's pragmas on every connection."""

from __future__ import annotations

from pathlib import Path

from storage import make_engine


def test_sqlite_connections_read_through_mmap_in_wal_mode(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    with engine.connect() as conn:
        pragma = {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "mmap_size", "cache_size", "busy_timeout")
        }
    engine.dispose()
    assert pragma == {
        "journal_mode": "wal", "mmap_size": 268435456, "cache_size": -32768,
        "busy_timeout": 10000,
    }  # fmt: skip
