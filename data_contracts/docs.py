"""The contract as a Markdown reference, generated from the declarations."""

from __future__ import annotations

from data_contracts._schema import Column, Kind, Table
from data_contracts.tables import MAX_AMOUNT_FEN, TABLES
from data_contracts.window import DEFAULT_EARLIEST, DEFAULT_MAX_AHEAD

__all__ = ["contract_markdown"]


def _constraint(column: Column) -> str:
    parts: list[str] = []
    if column.kind in (Kind.ENUM, Kind.TAGS):
        parts.append(" \\| ".join(f"`{v}`" for v in column.values))
    elif column.pattern is not None:
        parts.append(f"`{column.pattern}`")
    for sign, bound in (("≥", column.min_value), ("≤", column.max_value)):
        if bound is not None:
            parts.append(
                f"{sign} {int(bound):,}" if column.kind is Kind.INT else f"{sign} {bound:g}"
            )
    if column.unique:
        parts.append("unique key")
    if column.references is not None:
        parts.append(f"→ `{column.references.table}.{column.references.column}`")
    return "; ".join(parts)


def _table_markdown(table: Table) -> str:
    presence = "" if table.required else " Optional: a folder without this file has none."
    lines = [
        f"## `{table.name}`",
        "",
        table.doc + presence,
        "",
        "| column | kind | null | constraint | meaning |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in table.columns:
        null = "yes" if c.nullable else "no"
        lines.append(f"| `{c.name}` | {c.kind.value} | {null} | {_constraint(c)} | {c.doc} |")
    for rule in table.rules:
        lines.append("")
        lines.append(f"Rule `{rule.name}`: {rule.doc}")
    return "\n".join(lines)


def contract_markdown() -> str:
    """Every contract table as Markdown: columns, kinds, constraints and meanings."""
    head = (
        "# The data contract\n\n"
        "Generated from `data_contracts/tables.py` by `settlewatch contract --markdown`; "
        "do not edit by hand.\n\n"
        "Kinds: `timestamp` is timezone-aware (ISO 8601 with an offset in CSV; "
        "stored as Asia/Shanghai), `date` is `YYYY-MM-DD`, `int` money is fen "
        "(1 yuan = 100 fen), `tags` is a comma-separated set or the word `none`.\n\n"
        f"Every timestamp lies in the time window: not before {DEFAULT_EARLIEST:%Y-%m-%d} "
        f"(Beijing time), not more than {DEFAULT_MAX_AHEAD.total_seconds() / 3600:g} hours "
        "after now (both configurable: `settlewatch validate --earliest "
        "--max-ahead-hours --now`, `SETTLEWATCH_EVENTS_NOT_BEFORE` and "
        "`SETTLEWATCH_EVENTS_MAX_AHEAD_HOURS` for the API). "
        f"Amounts are at most {MAX_AMOUNT_FEN:,} fen (100 million yuan). "
        "A claim names its transaction's merchant and claims at most its amount "
        "(checked where both rows are at hand). "
        "Text may not hold a NUL character or a lone surrogate.\n\n"
        "A full card number, CVV or PIN is refused everywhere. A card number is 13 to 19 "
        "digits passing the Luhn check, in one run or in groups joined by single spaces or "
        "dashes (`4111 1111 1111 1111`, `4111-1111-1111-1111`), whatever letters or "
        "punctuation stand around it, but not digits of a longer run nor the fraction of a "
        "decimal number; it is refused in data and masked to BIN and last four in text "
        "(reasons, field names, logs). An id made of such digit groups is refused too."
    )
    return head + "\n\n" + "\n\n".join(_table_markdown(t) for t in TABLES.values()) + "\n"
