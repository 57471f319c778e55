"""The declaration language of features: entity, window, sources, label delay, dtype.

A `Feature` says what one column means; a `FeatureSet` pins a name and version to an ordered
tuple of them. The offline builder and the online reader are both driven by the same set: the
builder checks that each family returns exactly its declared columns and dtypes, and the
online reader sizes the history it fetches from the declared windows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Dtype", "Entity", "Feature", "FeatureSet"]


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
    """

    name: str
    family: str
    entity: Entity
    dtype: Dtype
    doc: str
    window: dt.timedelta | None = None
    sources: tuple[str, ...] = ("transactions",)
    label_delay: bool = False


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
