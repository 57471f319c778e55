"""The declaration language of features: entity, window, sources, label delay, dtype, reason.

A `Feature` says what one column means and names the `ReasonCode` that explains an answer with
its evidence; a `FeatureSet` pins a name and version to an ordered tuple of them. The offline
builder and the online reader are both driven by the same set: the builder checks that each
family returns exactly its declared columns and dtypes, and the online reader sizes the history
it fetches from the declared windows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import polars as pl
from sqlalchemy import and_, case, func, literal, or_, true

from data_contracts.units import BEIJING_US as _BEIJING_US
from data_contracts.units import US_HOUR as _US_HOUR

__all__ = ["Dtype", "Entity", "Feature", "FeatureSet", "ReasonCode", "RowSum"]


class Entity(StrEnum):
    """Whose history a feature summarises."""

    TRANSACTION = "transaction"  # the scored transaction and the messages about it
    CARD = "card"
    TERMINAL = "terminal"
    MERCHANT = "merchant"
    SYSTEM = "system"  # every merchant of one bank tier and settlement mode


class Dtype(StrEnum):
    FLOAT = "float64"  # also counts that can be missing (MLflow's rule for integers)
    INT = "int64"
    BOOL = "bool"
    CATEGORY = "category"  # a small string vocabulary


@dataclass(frozen=True, slots=True)
class ReasonCode:
    """A kind of evidence, the words an answer explains itself with (`features.reasons`).

    Codes are stable: a code names a kind of evidence, not a column, so answers keep their
    meaning as the feature set grows; several features, even of several families, share one.

    Args:
        code: the stable name answers carry, in capitals (`CARD_VELOCITY`).
        en: its English words; also the msgid of its translations in `serving/locale/`.
    """

    code: str
    en: str

    def __post_init__(self) -> None:
        if not self.code.isupper() or not self.code.replace("_", "").isalpha():
            raise ValueError(f"reason code {self.code!r}: capitals and underscores only")
        if not self.en:
            raise ValueError(f"reason code {self.code}: no words")


@dataclass(frozen=True, slots=True)
class Feature:
    """One feature column.

    Args:
        name: column name.
        family: the module that computes it (transaction, calendar, lifecycle, card,
            terminal, merchant, system).
        entity: whose history it summarises.
        dtype: column dtype in the output.
        doc: what it measures, in the domain's words.
        window: how far back from its anchor it looks; None for no window.
        sources: contract tables it reads.
        label_delay: it uses labels, and counts one only once resolved (`resolved_at` ≤ as_of).
        reason: the reason code its evidence belongs to; every feature of a model's set has one
            (a test holds that), features outside it (the Handbook's) may have none.
    """

    name: str
    family: str
    entity: Entity
    dtype: Dtype
    doc: str
    window: dt.timedelta | None = None
    sources: tuple[str, ...] = ("transactions",)
    label_delay: bool = False
    reason: ReasonCode | None = None


@dataclass(frozen=True)
class FeatureSet:
    """A named, versioned, ordered set of features; a model is pinned to one."""

    name: str
    version: str
    features: tuple[Feature, ...]

    def __post_init__(self) -> None:
        names = [f.name for f in self.features]
        if len(names) != len(set(names)):
            raise ValueError(f"feature set {self.name}: duplicate feature names")

    @property
    def ref(self) -> str:
        """`name:version`, as recorded with a model."""
        return f"{self.name}:{self.version}"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.features)

    def family(self, family: str) -> tuple[Feature, ...]:
        return tuple(f for f in self.features if f.family == family)

    def lookback(self, entity: Entity) -> dt.timedelta:
        """The longest window declared for `entity` (zero when none)."""
        windows = [f.window for f in self.features if f.entity is entity and f.window]
        return max(windows, default=dt.timedelta(0))


@dataclass(frozen=True)
class RowSum:
    """A per-message quantity summed over a window: `value` (1 when None) where all hold.

    Declared once and read three ways: `expr()` for the vectorised builder and the store's hour
    buckets, `of(row)` for a single stored row and `sql()` for a sum in the database, both on
    the online path. A missing value never matches a condition.

    Args:
        where: column -> the values it must take.
        night_before: also require the Beijing-time hour of `ts` to be below this.
        value: an integer column to sum instead of counting.
    """

    where: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    night_before: int | None = None
    value: str | None = None

    def expr(self) -> pl.Expr:
        """The Int64 expression, one value per row."""
        cond: pl.Expr = pl.lit(True)
        for column, values in self.where.items():
            cond = cond & pl.col(column).is_in(list(values)).fill_null(False)
        if self.night_before is not None:
            local_hour = ((pl.col("ts") + _BEIJING_US) % (24 * _US_HOUR)) // _US_HOUR
            cond = cond & (local_hour < self.night_before)
        amount = pl.lit(1, dtype=pl.Int64) if self.value is None else pl.col(self.value)
        return pl.when(cond).then(amount).otherwise(0).cast(pl.Int64)

    def sql(self, columns: Any, *, when: Any = None) -> Any:
        """The sum as a SQL expression over `columns` (a table's `.c`), counted only `when`."""
        # Equalities rather than IN: plain bind parameters, compiled once and reused.
        conds = [or_(*(columns[c] == x for x in v)) for c, v in self.where.items()]
        if self.night_before is not None:
            local_hour = ((columns["ts"] + _BEIJING_US) % (24 * _US_HOUR)) / _US_HOUR
            conds.append(local_hour < self.night_before)
        if when is not None:
            conds.append(when)
        amount = literal(1) if self.value is None else columns[self.value]
        return func.sum(case((and_(true(), *conds), amount), else_=0))

    def of(self, row: Mapping[str, Any]) -> int:
        """The value for one row (a mapping of column -> Python value)."""
        for column, values in self.where.items():
            if row[column] not in values:
                return 0
        if self.night_before is not None:
            hour = ((row["ts"] + _BEIJING_US) % (24 * _US_HOUR)) // _US_HOUR
            if hour >= self.night_before:
                return 0
        if self.value is None:
            return 1
        amount = row[self.value]
        return 0 if amount is None else int(amount)
