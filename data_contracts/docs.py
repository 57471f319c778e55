"""The contract as a Markdown reference, generated from the declarations."""

from __future__ import annotations

from data_contracts._schema import Column, Kind, Table
from data_contracts.tables import TABLES

__all__ = ["contract_markdown"]


def _constraint(column: Column) -> str:
    parts: list[str] = []
    if column.kind in (Kind.ENUM, Kind.TAGS):
        parts.append(" \\| ".join(f"`{v}`" for v in column.values))
    elif column.pattern is not None:
        parts.append(f"`{column.pattern}`")
    if column.min_value is not None:
        parts.append(f"≥ {column.min_value:g}")
    if column.max_value is not None:
        parts.append(f"≤ {column.max_value:g}")
    if column.unique:
        parts.append("unique key")
    if column.references is not None:
        parts.append(f"→ `{column.references.table}.{column.references.column}`")
    return "; ".join(parts)


def _table_markdown(table: Table) -> str:
    lines = [
        f"## `{table.name}`",
        "",
        table.doc,
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
        "(1 yuan = 100 fen), `tags` is a comma-separated set or the word `none`. "
        "A full card number, CVV or PIN is refused everywhere."
    )
    return head + "\n\n" + "\n\n".join(_table_markdown(t) for t in TABLES.values()) + "\n"
