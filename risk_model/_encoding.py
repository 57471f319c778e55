"""The feature frame as the float matrix LightGBM and the forest read, without per-row pandas.

Numbers and flags become float64 (missing -> NaN); a category becomes its index in the
vocabulary fixed at training (unseen or missing -> NaN, which LightGBM treats as missing), the
same codes pandas' `Categorical` gave LightGBM during training.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import polars as pl

from risk_model.errors import FeatureInputError

__all__ = ["FeatureEncoding", "Features", "Frame", "Records"]

FloatArray = npt.NDArray[np.float64]
Frame = pl.DataFrame | pd.DataFrame
#: feature rows as name -> Python value mappings (e.g. `OnlineFeatures.get_values`): one
#: online point costs no DataFrame at all
Records = Sequence[Mapping[str, Any]]
Features = Frame | Records

# up to this many rows, converting Python values row by row beats building columnar
# expressions (a polars select of 87 casts costs ~100 µs whatever the row count)
_ROW_PATH_MAX = 8


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):  # None, pd.NA, text in a numeric column
        return math.nan


@dataclass(frozen=True, eq=False)
class FeatureEncoding:
    """Column order and category vocabularies: what the boosters were trained on."""

    feature_names: tuple[str, ...]
    categories: Mapping[str, tuple[str, ...]]
    _codes: dict[str, dict[str, float]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.categories) - set(self.feature_names)
        if unknown:
            raise ValueError(f"categories for columns that are not features: {sorted(unknown)}")
        codes = {
            name: {value: float(k) for k, value in enumerate(vocabulary)}
            for name, vocabulary in self.categories.items()
        }
        object.__setattr__(self, "_codes", codes)

    def check(self, columns: Iterable[str]) -> None:
        """Raises FeatureInputError when a feature is missing."""
        present = set(columns)
        missing = [n for n in self.feature_names if n not in present]
        if missing:
            raise FeatureInputError(missing=missing)

    def matrix(self, frame: Features) -> FloatArray:
        """(rows, features) float64 in `feature_names` order.

        Raises:
            FeatureInputError: a feature column is missing.
            TypeError: `frame` is neither a polars nor a pandas DataFrame nor a sequence of
                mappings.
        """
        if isinstance(frame, list | tuple):
            return self._from_records(frame)
        if isinstance(frame, pl.DataFrame):
            self.check(frame.columns)
            if frame.height <= _ROW_PATH_MAX:
                # whole rows and a position lookup: a polars `select` costs milliseconds
                where = {name: k for k, name in enumerate(frame.columns)}
                at = [where[name] for name in self.feature_names]
                picked = [[row[k] for k in at] for row in frame.rows()]
                return self._from_rows(picked, frame.height)
            return self._from_polars(frame)
        if isinstance(frame, pd.DataFrame):
            self.check(frame.columns)
            if len(frame) <= _ROW_PATH_MAX:
                rows = frame[list(self.feature_names)].itertuples(index=False, name=None)
                return self._from_rows(rows, len(frame))
            return self._from_pandas(frame)
        raise TypeError(f"expected a polars or pandas DataFrame, got {type(frame).__name__}")

    def _from_records(self, records: Records) -> FloatArray:
        names = self.feature_names
        try:
            picked = [[record[name] for name in names] for record in records]
        except KeyError:
            for record in records:
                self.check(record)
            raise
        return self._from_rows(picked, len(picked))

    def _from_rows(self, rows: Iterable[Sequence[Any]], n: int) -> FloatArray:
        out = np.empty((n, len(self.feature_names)))
        maps = [self._codes.get(name) for name in self.feature_names]
        for i, row in enumerate(rows):
            out[i] = [
                _number(v) if m is None else m.get(v, math.nan) if isinstance(v, str) else math.nan
                for v, m in zip(row, maps, strict=True)
            ]
        return out

    def _from_polars(self, frame: pl.DataFrame) -> FloatArray:
        exprs = []
        for name in self.feature_names:
            codes = self._codes.get(name)
            if codes is None:
                exprs.append(pl.col(name).cast(pl.Float64, strict=False))
            else:
                exprs.append(
                    pl.col(name)
                    .cast(pl.String)
                    .replace_strict(codes, default=None, return_dtype=pl.Float64)
                )
        matrix = frame.select(exprs).to_numpy()
        return np.ascontiguousarray(matrix, dtype=np.float64)

    def _from_pandas(self, frame: pd.DataFrame) -> FloatArray:
        out = np.empty((len(frame), len(self.feature_names)))
        for j, name in enumerate(self.feature_names):
            column = frame[name]
            codes = self._codes.get(name)
            if codes is None:
                out[:, j] = pd.to_numeric(column, errors="coerce").to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
            else:
                mapped = column.astype("object").map(
                    lambda v, c=codes: c.get(v, math.nan) if isinstance(v, str) else math.nan
                )
                out[:, j] = mapped.to_numpy(dtype=np.float64)
        return out

    def values(self, frame: Features, row: int, names: Sequence[str]) -> list[float | str | None]:
        """The input values of `names` in one row, as plain Python (missing -> None)."""
        if isinstance(frame, pl.DataFrame):
            return [self._plain(name, frame[name][row]) for name in names]
        if isinstance(frame, pd.DataFrame):
            return [self._plain(name, frame[name].iloc[row]) for name in names]
        record = frame[row]
        return [self._plain(name, record[name]) for name in names]

    def value_reader(
        self, frame: Features, names: Iterable[str]
    ) -> Callable[[int, Sequence[str]], list[float | str | None]]:
        """`values` for many rows of `frame`, reading each of `names` once for all rows.

        Indexing a polars column once per row and feature costs microseconds each; a batch
        takes the columns it needs as Python lists once.
        """
        if not isinstance(frame, pl.DataFrame):
            return lambda row, wanted: self.values(frame, row, wanted)
        columns = {name: frame[name].to_list() for name in set(names)}
        return lambda row, wanted: [self._plain(n, columns[n][row]) for n in wanted]

    def _plain(self, name: str, v: Any) -> float | str | None:
        if isinstance(v, str):
            return v
        if name in self._codes:
            return None
        number = _number(v)
        return None if math.isnan(number) else number
