"""Great Expectations suites derived from the contract declarations, written as code.

Each expectation carries `meta={"column": ..., "check": ...}` so a failure maps back to the
column and the rule that produced it. Type checks are not here: values are parsed into their
declared kind before the suite runs (`_parse.py`), and a value that cannot be parsed is reported
as `expect_column_values_to_be_of_type` by the parser.
"""

from __future__ import annotations

import os
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


def _column_expectations(column: Column) -> list[Any]:
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
    return out


def build_suite(table: Table) -> Any:
    """The expectation suite of `table`: types aside, every per-row rule of its declaration.

    References between tables are checked by the validator itself (`validate.py`): GE copies
    an expectation's value set on every access, and a set of 100,000 parent ids made one
    suite take minutes.
    """
    import great_expectations as gx
    from great_expectations.expectations.row_conditions import Column as GxColumn

    e: Any = gx.expectations
    expectations: list[Any] = []
    for column in table.columns:
        expectations += _column_expectations(column)
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
