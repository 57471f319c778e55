"""The Handbook's transactions as settlewatch's contract tables.

The Handbook has customers (one card each), terminals and amounts; the contract wants merchants,
terminals, card tokens, fen and aware times. The mapping:

- a card is `CUSTOMER_ID`: its `card_token` is an HMAC-SHA256 of the id under a fixed
  benchmark key (there is no card number to hash, and none is invented), `card_bin` is a
  placeholder and `card_last4` the id's last four digits;
- a terminal is `TERMINAL_ID`, and so is its merchant (one terminal per merchant), with
  neutral registration data (one MCC, one region, T1 to a state bank);
- every transaction is an approved chip sale; `TX_DATETIME` is read as Beijing time, so days
  and hours are the Handbook's own; amounts become fen, at least 1 (42 zero amounts);
- a fraud (`TX_FRAUD` = 1) gets an outcome resolved `label_delay` after the sale: the
  Handbook's 7-day feedback delay. Genuine sales get no outcome (the contract's outcomes are
  the labels learnt about, and the Handbook learns only of frauds).

Pure functions of frames; reading the parquet is the caller's job.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import pandas as pd
import polars as pl

from data_contracts import (
    TABLES,
    TIMEZONE,
    BankTier,
    CardType,
    DeviceType,
    EntryMode,
    LabelSource,
    MsgType,
    OutcomeClass,
    SettlementMode,
)
from features import History, from_pandas

__all__ = [
    "HANDBOOK_COLUMNS",
    "LABEL_DELAY",
    "card_tokens",
    "handbook_history",
    "handbook_tables",
    "merchant_id",
    "terminal_id",
    "to_pandas_tables",
    "tx_id",
]

#: The columns of the Handbook's file this mapping reads; TX_FRAUD_SCENARIO is never read.
HANDBOOK_COLUMNS = ("TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT",
                    "TX_FRAUD")  # fmt: skip
#: The Handbook's feedback delay: a fraud becomes known this long after its transaction.
LABEL_DELAY = dt.timedelta(days=7)
#: Key of the benchmark's card tokens: public on purpose, the ids it hides are public too.
_TOKEN_KEY = b"settlewatch-handbook-benchmark-card-token"
_REGISTERED = dt.datetime(2018, 1, 1, tzinfo=TIMEZONE)  # before the data's first day
_MCC = "5999"  # miscellaneous retail: the Handbook's terminals have no category
_REGION = "110000"
_BIN = "000000"  # no issuer behind a simulated customer


def tx_id(column: str = "TRANSACTION_ID") -> pl.Expr:
    """The contract's `tx_id` of a Handbook transaction id."""
    return pl.format("hb{}", pl.col(column))


def terminal_id(column: str = "TERMINAL_ID") -> pl.Expr:
    """The contract's `terminal_id` of a Handbook terminal id."""
    return pl.format("T{}", pl.col(column))


def merchant_id(column: str = "TERMINAL_ID") -> pl.Expr:
    """The contract's `merchant_id`: one merchant per Handbook terminal."""
    return pl.format("M{}", pl.col(column))


def card_tokens(customer_ids: pl.Series) -> pl.DataFrame:
    """`CUSTOMER_ID` -> `card_token` (64 hex digits) for each distinct customer."""
    ids = customer_ids.unique().sort().to_list()
    tokens = [
        hmac.new(_TOKEN_KEY, f"customer:{int(i)}".encode("ascii"), hashlib.sha256).hexdigest()
        for i in ids
    ]
    return pl.DataFrame(
        {"CUSTOMER_ID": pl.Series(ids, dtype=customer_ids.dtype), "card_token": tokens}
    )


def _aware(column: str) -> pl.Expr:
    return pl.col(column).dt.cast_time_unit("us").dt.replace_time_zone(str(TIMEZONE))


def handbook_tables(
    raw: pl.DataFrame, *, label_delay: dt.timedelta = LABEL_DELAY
) -> dict[str, pl.DataFrame]:
    """`merchants`, `terminals`, `transactions` and `outcomes` in the contract's columns.

    Times are aware datetimes (Asia/Shanghai); the other tables are empty.

    Raises:
        ValueError: a column of `HANDBOOK_COLUMNS` is missing.
    """
    missing = [c for c in HANDBOOK_COLUMNS if c not in raw.columns]
    if missing:
        raise ValueError(f"not the Handbook's transactions: missing {missing}")
    raw = raw.select(HANDBOOK_COLUMNS)
    terminals_seen = raw.select("TERMINAL_ID").unique().sort("TERMINAL_ID")
    merchants = terminals_seen.select(
        merchant_id().alias("merchant_id"),
        pl.lit(_MCC).alias("mcc"),
        pl.lit(_REGION).alias("region_code"),
        pl.lit(0.0).alias("registered_lat"),
        pl.lit(0.0).alias("registered_lon"),
        pl.lit(_REGISTERED.date()).alias("onboard_date"),
        pl.lit(SettlementMode.T1.value).alias("settlement_mode"),
        pl.lit(BankTier.STATE.value).alias("bank_tier"),
        pl.lit(None, dtype=pl.Datetime("us", str(TIMEZONE))).alias("payee_account_changed_at"),
    )
    terminals = terminals_seen.select(
        terminal_id().alias("terminal_id"),
        merchant_id().alias("merchant_id"),
        pl.lit(DeviceType.TRADITIONAL_POS.value).alias("device_type"),
        pl.lit(0.0).alias("registered_lat"),
        pl.lit(0.0).alias("registered_lon"),
        pl.lit(_REGISTERED).dt.cast_time_unit("us").alias("activated_at"),
    )
    tokens = card_tokens(raw["CUSTOMER_ID"])
    tx = raw.join(tokens, on="CUSTOMER_ID", how="left").select(
        tx_id().alias("tx_id"),
        _aware("TX_DATETIME").alias("ts"),
        merchant_id().alias("merchant_id"),
        terminal_id().alias("terminal_id"),
        "card_token",
        pl.lit(_BIN).alias("card_bin"),
        (pl.col("CUSTOMER_ID") % 10_000).cast(pl.String).str.zfill(4).alias("card_last4"),
        pl.lit(CardType.DEBIT.value).alias("card_type"),
        (pl.col("TX_AMOUNT") * 100).round().cast(pl.Int64).clip(lower_bound=1).alias("amount_fen"),
        pl.lit(MsgType.SALE.value).alias("msg_type"),
        pl.lit(None, dtype=pl.String).alias("original_tx_id"),
        pl.lit(EntryMode.CHIP.value).alias("entry_mode"),
        pl.lit("00").alias("response_code"),
        pl.lit(_MCC).alias("mcc"),
        # one batch a day, closed at night: the day's number in the year
        pl.col("TX_DATETIME").dt.ordinal_day().cast(pl.String).str.zfill(6).alias("batch_no"),
        pl.lit(None, dtype=pl.Float64).alias("lat"),
        pl.lit(None, dtype=pl.Float64).alias("lon"),
    )
    outcomes = raw.filter(pl.col("TX_FRAUD") == 1).select(
        tx_id().alias("tx_id"),
        pl.lit(OutcomeClass.FRAUD.value).alias("outcome_class"),
        # the Handbook's frauds are cards used by someone else: stolen or compromised cards
        pl.lit("stolen_card").alias("outcome_reason"),
        (_aware("TX_DATETIME") + label_delay).alias("resolved_at"),
        pl.lit(LabelSource.SIMULATOR.value).alias("label_source"),
    )
    return {"merchants": merchants, "terminals": terminals, "transactions": tx,
            "outcomes": outcomes}  # fmt: skip


def to_pandas_tables(tables: dict[str, pl.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables as pandas frames the contract parses: dates as `datetime.date` objects."""
    out: dict[str, pd.DataFrame] = {}
    for name, frame in tables.items():
        dates = [c.name for c in TABLES[name].columns if c.kind.value == "date"]
        converted = frame.to_pandas()
        for column in dates:
            converted[column] = pd.Series(frame[column].to_list(), dtype=object)
        out[name] = converted
    return out


def handbook_history(tables: dict[str, pl.DataFrame]) -> History:
    """The feature pipeline's `History` of the mapped tables (through `features.from_pandas`)."""
    return from_pandas(to_pandas_tables(tables))
