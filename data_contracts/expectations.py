"""Great Expectations suites derived from the contract declarations, written as code.

Each expectation carries `meta={"column": ..., "check": ...}` so a failure maps back to the
column and the rule that produced it. Type checks are not here: values are parsed into their
declared kind before the suite runs (`_parse.py`), and a value that cannot be parsed is reported
as `expect_column_values_to_be_of_type` by the parser.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from data_contracts._schema import Column, Kind, Table

__all__ = ["build_suite", "gx_context"]

_context: Any = None


def gx_context() -> Any:
    """An ephemeral Great Expectations context, created once, with analytics and bars off."""
    global _context
    if _context is None:
        # No network here and no telemetry wanted anywhere; must be set before the import.
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(
            globally=False, metric_calculations=False
        )
        _context = context
    return _context


def _column_expectations(column: Column, reference_ids: Iterable[str] | None) -> list[Any]:
    import great_expectations as gx

    e: Any = gx.expectations  # typed as Any: GE's package does not re-export its classes
    name = column.name
    out: list[Any] = []

    def meta(check: str) -> dict[str, str]:
        return {"column": name, "check": check}

    if not column.nullable:
        out.append(e.ExpectColumnValuesToNotBeNull(column=name, meta=meta("not_null")))
    if column.kind is Kind.ENUM:
        out.append(
            e.ExpectColumnValuesToBeInSet(
                column=name, value_set=list(column.values), meta=meta("allowed_values")
            )
        )
    regex = column.regex
    if regex is not None:
        out.append(e.ExpectColumnValuesToMatchRegex(column=name, regex=regex, meta=meta("format")))
    if column.min_value is not None or column.max_value is not None:
        out.append(
            e.ExpectColumnValuesToBeBetween(
                column=name,
                min_value=column.min_value,
                max_value=column.max_value,
                meta=meta("range"),
            )
        )
    if column.unique:
        out.append(e.ExpectColumnValuesToBeUnique(column=name, meta=meta("unique")))
    if column.references is not None and reference_ids is not None:
        ref = column.references
        out.append(
            e.ExpectColumnValuesToBeInSet(
                column=name,
                value_set=sorted(set(reference_ids)),
                meta={"column": name, "check": f"references {ref.table}.{ref.column}"},
            )
        )
    return out


def build_suite(table: Table, *, reference_ids: Mapping[str, Iterable[str]] | None = None) -> Any:
    """The expectation suite of `table`.

    Args:
        table: the contract table.
        reference_ids: for each referencing column, the ids it may take; a column absent from
            the mapping gets no reference check (its parent table was not supplied).
    """
    import great_expectations as gx
    from great_expectations.expectations.row_conditions import Column as GxColumn

    e: Any = gx.expectations
    refs = reference_ids or {}
    expectations: list[Any] = []
    for column in table.columns:
        expectations += _column_expectations(column, refs.get(column.name))
    for rule in table.rules:
        condition = GxColumn(rule.when_column).is_in(rule.when_values)
        rule_meta = {"column": rule.column, "check": rule.name}
        if rule.allowed:
            expectations.append(
                e.ExpectColumnValuesToBeInSet(
                    column=rule.column,
                    value_set=list(rule.allowed),
                    row_condition=condition,
                    meta=rule_meta,
                )
            )
        else:
            expectations.append(
                e.ExpectColumnValuesToNotBeNull(
                    column=rule.column,
                    row_condition=condition,
                    meta=rule_meta,
                )
            )
    return gx.ExpectationSuite(name=f"settlewatch.{table.name}", expectations=expectations)
