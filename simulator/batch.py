"""A day's POS messages as parallel numpy arrays, plus the simulator's hidden truth per row."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["SCHEMES", "TxBatch", "scheme_code"]

Arr = npt.NDArray[Any]

#: Hidden truth per row: 0 = genuine, k = SCHEMES[k - 1] (fraud then card-trapping reasons).
SCHEMES: tuple[str, ...] = (
    "cash_out",
    "mcc_jumping",
    "terminal_relocation",
    "stolen_card",
    "double_claim",
    "void_after_sale",
    "fake_failure_repay",
    "skimming",
    "capture_card",
)
FRAUD_SCHEME_CODES = frozenset(range(1, 6))


def scheme_code(reason: str) -> int:
    """The row code of a fraud or trapping reason."""
    return SCHEMES.index(reason) + 1


@dataclass
class TxBatch:
    """Messages of one simulated day (columns of equal length)."""

    sec: Arr  # int64 seconds since the simulation epoch
    merchant: Arr  # int64
    terminal: Arr  # int64
    card: Arr  # int64 index into the card pool
    amount: Arr  # int64 fen
    msg: Arr  # int64 index into catalog.MSG_TYPES
    orig: Arr  # int64 row index of the original message in this batch, -1 none
    entry: Arr  # int64 index into catalog.ENTRY_MODES
    resp: Arr  # int64 index into catalog.RESPONSE_CODES
    mcc: Arr  # int64 index into catalog.MCCS (as sent)
    lat: Arr  # float64, nan when the terminal reported none
    lon: Arr
    scheme: Arr  # int64 hidden truth, see SCHEMES
    chargeback: Arr  # int64 seconds of the issuer's chargeback, -1 none
    cpp_source: Arr  # int64 terminal that compromised the card (for CPP analysis), -1 none
    void_after: Arr  # int64 seconds after which this sale is voided, -1 not

    def __len__(self) -> int:
        return len(self.sec)

    @classmethod
    def empty(cls) -> TxBatch:
        return cls(**{f.name: np.zeros(0, dtype=_dtype(f.name)) for f in fields(cls)})

    @classmethod
    def new(cls, n: int, **columns: Arr) -> TxBatch:
        """A batch of `n` rows: given columns, the rest at their neutral value."""
        values: dict[str, Arr] = {}
        for f in fields(cls):
            if f.name in columns:
                values[f.name] = np.asarray(columns[f.name]).astype(_dtype(f.name), copy=False)
            else:
                values[f.name] = np.full(n, _neutral(f.name), dtype=_dtype(f.name))
        return cls(**values)

    def take(self, index: Arr) -> TxBatch:
        """Rows at `index` (original pointers are not remapped)."""
        return TxBatch(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    @staticmethod
    def concat(parts: list[TxBatch], *, shift_orig: bool = True) -> TxBatch:
        """Rows of all `parts`; `orig` pointers are shifted to stay valid unless they already
        point into the first part (`shift_orig=False`)."""
        out: dict[str, list[Arr]] = {f.name: [] for f in fields(TxBatch)}
        offset = 0
        for p in parts:
            for f in fields(TxBatch):
                col = getattr(p, f.name)
                if f.name == "orig" and shift_orig:
                    col = np.where(col >= 0, col + offset, -1)
                out[f.name].append(col)
            offset += len(p)
        return TxBatch(
            **{k: np.concatenate(v) if v else np.zeros(0, dtype=_dtype(k)) for k, v in out.items()}
        )

    def reorder(self, order: Arr) -> TxBatch:
        """Rows in `order`, with `orig` pointers remapped; dropped originals become -1."""
        position = np.full(len(self), -1, dtype=np.int64)
        position[order] = np.arange(len(order))
        out = self.take(order)
        out.orig = np.where(out.orig >= 0, position[np.maximum(out.orig, 0)], -1)
        return out


def _dtype(name: str) -> type[np.generic]:
    return np.float64 if name in ("lat", "lon") else np.int64


def _neutral(name: str) -> float:
    if name in ("lat", "lon"):
        return float("nan")
    if name in ("orig", "chargeback", "cpp_source", "void_after"):
        return -1
    return 0
