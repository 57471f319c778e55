"""The scoring API with its features given, not read: the bound any feature store could reach.

`bench_api.py --ceiling` serves this beside `settlewatch serve`: the same app, routes, models,
explanation, policy, recording and logs, but each point's feature values and transaction facts
come from a dictionary filled at start-up from the offline builder's rows for the benchmark's
points (`SETTLEWATCH_BENCH_FEATURES`, a parquet file). What it answers with is what the API
would cost if reading features were free. A benchmark instrument, never served to anyone.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import polars as pl
from fastapi import FastAPI

from features.errors import UnknownPointError

__all__ = ["FEATURES_ENV", "create_app"]

#: The parquet file of `tx_id`, `as_of`, the feature set, and the transactions row's columns
#: prefixed `tx.`.
FEATURES_ENV = "SETTLEWATCH_BENCH_FEATURES"


class GivenFeatures:
    """The two `OnlineFeatures` methods the API calls, over precomputed rows keyed by
    (tx_id, as_of)."""

    def __init__(self, frame: pl.DataFrame) -> None:
        tx_cols = [c for c in frame.columns if c.startswith("tx.")]
        self._names = [c for c in frame.columns if c not in ("tx_id", "as_of", *tx_cols)]
        self._schema = {c: frame.schema[c] for c in ("tx_id", "as_of", *self._names)}
        self._values: dict[tuple[str, int], dict[str, Any]] = {}
        self._rows: dict[str, dict[str, Any]] = {}
        for row in frame.iter_rows(named=True):
            key = (row["tx_id"], int(row["as_of"]))
            self._values[key] = {n: row[n] for n in self._names}
            self._rows[row["tx_id"]] = {c[3:]: row[c] for c in tx_cols}

    def _get(self, tx_id: str, as_of_us: int) -> dict[str, Any]:
        try:
            return self._values[(tx_id, int(as_of_us))]
        except KeyError:
            raise UnknownPointError(tx_ids=[tx_id]) from None

    def get_values_and_row(
        self, tx_id: str, as_of_us: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        return dict(self._get(tx_id, as_of_us)), self._rows[tx_id]

    def get_many(self, points: Sequence[tuple[str, int]]) -> pl.DataFrame:
        rows = [(tx_id, int(as_of), *self._get(tx_id, as_of).values()) for tx_id, as_of in points]
        return pl.DataFrame(rows, schema=self._schema, orient="row")


def create_app() -> FastAPI:
    """`settlewatch serve`'s app, its feature reader swapped for `GivenFeatures`."""
    from settlewatch.web import create_app as create_web

    app = create_web()
    frame = pl.read_parquet(os.environ[FEATURES_ENV])
    app.state.service.online = GivenFeatures(frame)
    return app


def main() -> None:
    """Serve it as `settlewatch serve` does: `python -m benchmarks._ceiling PORT WORKERS`."""
    import sys

    import uvicorn

    from serving.observability import configure_logging
    from serving.settings import get_settings

    port, workers = int(sys.argv[1]), int(sys.argv[2])
    configure_logging(json_lines=get_settings().log_json)
    uvicorn.run(
        "benchmarks._ceiling:create_app",
        factory=True,
        host="127.0.0.1",
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
