"""Validation with quarantine: valid rows pass, every invalid row is kept aside with its reason.

For a folder holding one file per contract table (`<table>.parquet` or `<table>.csv`):

- a file that cannot be read is copied whole to `QDIR/unreadable/` with a one-line reason;
- a file missing a required column, or carrying a forbidden card-data column, has all its rows
  quarantined with a one-line reason (forbidden columns are never written anywhere);
- otherwise each row is parsed into the contract's types and checked by the table's Great
  Expectations suite, its timestamps against the time window, and a claim against its
  transaction (same merchant, at most its amount) when both files are there; a row failing
  anything goes to `QDIR/<table>.parquet` with every failed check and column, and the rest
  are valid (written to `OUT/<table>.parquet` when asked).

For every table rows_in = rows_valid + rows_quarantined. Outputs are replaced, not appended, and
written atomically, so running twice on the same input gives the same files and duplicates
nothing. The input folder is never modified.

Duplicate keys: the first row carrying a key is kept (as an idempotent feed would); each later
row with the same key is quarantined as a duplicate. Reference checks accept any id present in
the parent file, valid or not, so one bad parent row does not cascade through its children.
The claim checks use the valid transactions only: a claim of an invalid transaction is judged
by its reference alone.

Text that names a column (reasons, extra columns, the quarantined copy) has card numbers
masked, like the values.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from data_contracts._parse import UnreadableFileError, parse_column, read_table_file
from data_contracts._schema import Kind, Table
from data_contracts.arrow import arrow_schema
from data_contracts.cards import FORBIDDEN_COLUMNS, SEPARATORS, find_pans, mask_pans
from data_contracts.claims import claim_frame_problems
from data_contracts.errors import ContractError, UnusableInputError
from data_contracts.expectations import build_suite, gx_context
from data_contracts.tables import CLAIMS, TABLES
from data_contracts.window import TimeWindow

__all__ = [
    "CheckedRows",
    "Failure",
    "TableReport",
    "TableStatus",
    "ValidationReport",
    "check_rows",
    "unproven_files",
    "validate_folder",
]

TYPE_CHECK = "expect_column_values_to_be_of_type"
PAN_CHECK = "no_full_card_number"
REFERENCE_CHECK = "expect_column_values_to_be_in_set"  # the parent table's ids
WINDOW_CHECK = "timestamp_in_window"
CLAIM_CHECK = "claim_matches_transaction"
SUMMARY_FILE = "summary.json"
#: written into `valid_dir` last: the SHA-256 of each table file this validation wrote
VALIDATED_FILE = "validated.json"
_VALIDATED_FORMAT = "settlewatch-validated/1"


class TableStatus(StrEnum):
    VALIDATED = "validated"  # rows checked one by one
    QUARANTINED_WHOLE = "quarantined_whole"  # readable, but unusable as a whole
    UNREADABLE = "unreadable"  # not a table at all; the file was copied aside
    ABSENT = "absent"  # no file for this table in the folder


@dataclass(frozen=True, slots=True)
class Failure:
    """One failed check on one row: the expectation, the column and the rule behind it."""

    expectation: str
    column: str
    check: str


@dataclass
class CheckedRows:
    """Rows of one table split into valid (typed) and quarantined (raw, with reasons)."""

    valid: pd.DataFrame
    quarantined: pd.DataFrame
    failure_counts: dict[str, int]


@dataclass
class TableReport:
    """What validation did with one table."""

    table: str
    status: TableStatus
    source: str | None = None
    rows_in: int = 0
    rows_valid: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    failures: dict[str, int] = field(default_factory=dict)
    references_checked: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["status"] = self.status.value
        return out


@dataclass
class ValidationReport:
    """The outcome of validating a folder."""

    input_dir: str
    quarantine_dir: str
    tables: dict[str, TableReport]
    ignored_files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "input_dir": self.input_dir,
            "quarantine_dir": self.quarantine_dir,
            "tables": {name: report.to_dict() for name, report in self.tables.items()},
            "ignored_files": self.ignored_files,
        }


def _cell_text(value: Any) -> str:
    """A raw cell as text. A Parquet timestamp may lie outside the years Python can print
    (year 0 once in Beijing time, or past 9999): it is written as its microseconds instead."""
    try:
        return str(value)
    except (ValueError, OverflowError, NotImplementedError):
        if isinstance(value, pd.Timestamp):
            us = int(value.asm8.astype("datetime64[us]").view("i8"))
            return f"{us} us from 1970-01-01 UTC (outside years 1-9999)"
        return f"<a {type(value).__name__} that cannot be written as text>"


def _raw_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as masked text (or null): how a quarantined row is stored, whatever broke."""
    out = pd.DataFrame(index=frame.index)
    for name in frame.columns:
        values = frame[name].to_numpy(dtype=object)
        missing = frame[name].isna().to_numpy()
        out[mask_pans(str(name))] = pd.Series(
            [None if m else mask_pans(_cell_text(v)) for v, m in zip(values, missing, strict=True)],
            index=frame.index,
            dtype=object,
        )
    return out


def _pan_rows(frame: pd.DataFrame, table: Table) -> dict[int, list[str]]:
    """Row positions whose text cells hold something that looks like a full card number."""
    hits: dict[int, list[str]] = {}
    exempt = {c.name for c in table.columns if not c.pan_scan}
    for name in frame.columns:
        if name in exempt:
            continue
        column = frame[name]
        if pd.api.types.is_float_dtype(column) or not (
            pd.api.types.is_object_dtype(column)
            or pd.api.types.is_string_dtype(column)
            or pd.api.types.is_integer_dtype(column)
        ):
            continue
        text = column.astype(object).where(column.notna(), "").astype(str)
        # Arrow's regex (no look-arounds) narrows the cells to those with 13 digits in a row,
        # single separators allowed; the exact rule and the Luhn check run only on those few.
        arrow = pa.array(text.to_numpy(dtype=object), type=pa.string())
        has_run = pc.match_substring_regex(arrow, _CANDIDATE).to_numpy(zero_copy_only=False)
        candidates = np.flatnonzero(has_run)
        for pos in candidates.tolist():
            if find_pans(text.iloc[pos]):
                hits.setdefault(pos, []).append(mask_pans(str(name)))
    return hits


_CANDIDATE = r"(?:\p{Nd}[" + "".join(f"\\x{{{ord(c):x}}}" for c in SEPARATORS) + r"]?){12}\p{Nd}"


def _window_failures(
    table: Table, typed: pd.DataFrame, window: TimeWindow
) -> dict[int, list[Failure]]:
    """Timestamps outside `window` (a fixed one): each cell's failure, by row position."""
    out: dict[int, list[Failure]] = {}
    earliest, latest = pd.Timestamp(window.earliest), pd.Timestamp(window.latest)
    for column in table.columns:
        if column.kind is not Kind.TIMESTAMP or column.name not in typed:
            continue
        values = typed[column.name]
        for outside, check in (
            (values < earliest, window.too_early()),
            (values > latest, window.too_late(window.latest)),
        ):
            for pos in np.flatnonzero(outside.fillna(False).to_numpy(dtype=bool)).tolist():
                out.setdefault(pos, []).append(Failure(WINDOW_CHECK, column.name, check))
    return out


def _one_line(failures: list[Failure]) -> str:
    return "; ".join(f"{f.column}: {f.check}" for f in failures)


def _quarantine_frame(
    raw: pd.DataFrame, rows: list[int], failures: Mapping[int, list[Failure]], source: str
) -> pd.DataFrame:
    out = _raw_text(raw.iloc[rows]).reset_index(drop=True)
    out["_source_file"] = source
    out["_source_row"] = pd.array(rows, dtype="Int64")
    out["_reason"] = [_one_line(failures[r]) for r in rows]
    out["_failures"] = [json.dumps([asdict(f) for f in failures[r]]) for r in rows]
    return out


def _run_suite(table: Table, typed: pd.DataFrame) -> list[tuple[dict[str, Any], str, list[int]]]:
    """Run the table's suite; for each expectation: its meta, its type, its failing rows."""
    if typed.empty:
        return []
    context = gx_context()
    name = f"{table.name}_{id(typed)}"
    source = context.data_sources.add_or_update_pandas(name)
    asset = source.add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe(name).get_batch(
        batch_parameters={"dataframe": typed}
    )
    try:
        result = batch.validate(build_suite(table), result_format="COMPLETE")
    finally:
        context.data_sources.delete(name)
    out = []
    for r in result.results:
        info = r.exception_info or {}
        raised = info.get("raised_exception") if isinstance(info, dict) else False
        if raised:
            # A check that could not run proves nothing: fail loudly, never pass silently.
            raise ContractError(
                f"{table.name}: expectation {r.expectation_config.type} could not run: "
                f"{info.get('exception_message')}"
            )
        rows = [int(i) for i in (r.result or {}).get("unexpected_index_list") or []]
        out.append((dict(r.expectation_config.meta or {}), r.expectation_config.type, rows))
    return out


def check_rows(
    table: Table,
    raw: pd.DataFrame,
    *,
    source: str,
    reference_ids: Mapping[str, Iterable[str]] | None = None,
    window: TimeWindow | None = None,
    row_checks: Sequence[Callable[[pd.DataFrame], Mapping[int, list[Failure]]]] = (),
) -> CheckedRows:
    """Split `raw` rows of `table` into typed valid rows and quarantined rows with reasons.

    `raw` must carry every required column (check that first); other columns are ignored.
    Timestamps must fall in `window` (default: the contract's, around the wall clock); each of
    `row_checks` takes the typed frame and returns further failures by row position.
    """
    window = (window or TimeWindow()).fixed()
    raw = raw.reset_index(drop=True)
    failures: dict[int, list[Failure]] = {}

    def fail(pos: int, failure: Failure) -> None:
        failures.setdefault(pos, []).append(failure)

    typed = pd.DataFrame(index=raw.index)
    parse_bad: set[tuple[int, str]] = set()
    for column in table.columns:
        if column.name not in raw.columns:
            typed[column.name] = pd.Series([None] * len(raw), index=raw.index, dtype=object)
            continue
        parsed = parse_column(raw[column.name], column)
        typed[column.name] = parsed.values
        for bad_pos in np.flatnonzero(parsed.bad).tolist():
            fail(bad_pos, Failure(TYPE_CHECK, column.name, f"not a {column.kind.value}"))
            parse_bad.add((bad_pos, column.name))

    # outside the window, a time is unusable (year 0001 is no Beijing time): null it as a cell
    # that did not parse, so the suite and the typed output never see it
    for pos, window_failures in _window_failures(table, typed, window).items():
        for failure in window_failures:
            fail(pos, failure)
            typed.loc[pos, failure.column] = pd.NaT
            parse_bad.add((pos, failure.column))

    for pan_pos, names in _pan_rows(raw, table).items():
        for name in names:
            fail(pan_pos, Failure(PAN_CHECK, name, "looks like a full card number (masked)"))

    for name, ids in (reference_ids or {}).items():
        values = typed[name]
        parent = table.column(name).references
        dangling = values.notna() & ~values.isin(ids if isinstance(ids, set) else set(ids))
        for pos in np.flatnonzero(dangling.to_numpy()).tolist():
            check = f"references {parent.table}.{parent.column}" if parent else "references"
            fail(pos, Failure(REFERENCE_CHECK, name, check))

    for check_more in row_checks:
        for pos, more in check_more(typed).items():
            for failure in more:
                fail(pos, failure)

    for meta, expectation, rows in _run_suite(table, typed):
        col, check = str(meta["column"]), str(meta["check"])
        if check == "unique":
            later = typed[col].duplicated(keep="first").to_numpy()
            rows = [r for r in rows if later[r]]
        if check == "not_null":
            rows = [r for r in rows if (r, col) not in parse_bad]
        for pos in rows:
            fail(pos, Failure(expectation, col, check))

    bad_rows = sorted(failures)
    valid_mask = np.ones(len(raw), dtype=bool)
    valid_mask[bad_rows] = False
    counts: dict[str, int] = {}
    for row_failures in failures.values():
        for f in {(f.column, f.check) for f in row_failures}:
            key = f"{f[0]}: {f[1]}"
            counts[key] = counts.get(key, 0) + 1
    valid = typed[valid_mask].reset_index(drop=True)
    for column in table.columns:
        if column.kind is Kind.INT and not column.nullable:
            valid[column.name] = valid[column.name].astype("int64")  # no nulls left to carry
    return CheckedRows(
        valid=valid,
        quarantined=_quarantine_frame(raw, bad_rows, failures, source),
        failure_counts=dict(sorted(counts.items())),
    )


def _write_parquet_atomically(frame: pd.DataFrame, path: Path, schema: pa.Schema | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrow = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(arrow, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _find_files(input_dir: Path) -> tuple[dict[str, Path], list[str]]:
    found: dict[str, Path] = {}
    ignored: list[str] = []
    for path in sorted(input_dir.iterdir()):
        if path.is_dir() or path.name.startswith("."):
            continue
        if path.suffix in (".parquet", ".csv") and path.stem in TABLES:
            if path.stem in found:
                raise UnusableInputError(
                    f"two files for table {path.stem}: {found[path.stem].name} and {path.name}"
                )
            found[path.stem] = path
        else:
            ignored.append(path.name)
    return found, ignored


def _check_paths(input_dir: Path, quarantine_dir: Path, valid_dir: Path | None) -> None:
    if not input_dir.is_dir():
        raise UnusableInputError(f"input folder {input_dir} does not exist or is not a folder")
    inp = input_dir.resolve()
    for label, out in (("quarantine", quarantine_dir), ("output", valid_dir)):
        if out is None:
            continue
        if out.exists() and not out.is_dir():
            raise UnusableInputError(f"{label} path {out} exists and is not a folder")
        if out.resolve() == inp:
            raise UnusableInputError(f"the {label} folder must not be the input folder")


def _clear_outputs(name: str, quarantine_dir: Path, valid_dir: Path | None) -> None:
    """Remove what an earlier run wrote for `name`, so this run's result stands alone."""
    (quarantine_dir / f"{name}.parquet").unlink(missing_ok=True)
    for stale in (quarantine_dir / "unreadable").glob(f"{name}.*"):
        stale.unlink()
    if valid_dir is not None:
        (valid_dir / f"{name}.parquet").unlink(missing_ok=True)


def validate_folder(
    *,
    input_dir: Path,
    quarantine_dir: Path,
    valid_dir: Path | None = None,
    on_table: Callable[[str], None] | None = None,
    window: TimeWindow | None = None,
) -> ValidationReport:
    """Validate every contract table in `input_dir`, quarantining what fails.

    `on_table(name)` is called as each table starts, for progress display. Timestamps must fall
    in `window` (default: the contract's, around the wall clock when validation starts).

    Raises:
        UnusableInputError: the folders cannot be used (missing input, output is a file,
            two files for one table).
    """
    _check_paths(input_dir, quarantine_dir, valid_dir)
    files, ignored = _find_files(input_dir)
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    run = _Run(quarantine_dir, valid_dir, (window or TimeWindow()).fixed())
    reports: dict[str, TableReport] = {}

    if valid_dir is not None:  # until this run vouches for its files, nothing does
        (valid_dir / VALIDATED_FILE).unlink(missing_ok=True)
    for name, table in TABLES.items():
        _clear_outputs(name, quarantine_dir, valid_dir)
        path = files.get(name)
        if path is None:
            reports[name] = TableReport(name, TableStatus.ABSENT, reason="no file for this table")
            continue
        if on_table is not None:
            on_table(name)
        report = _validate_table(table, path, run)
        reports[name] = report

    result = ValidationReport(str(input_dir), str(quarantine_dir), reports, ignored)
    summary = json.dumps(result.to_dict(), indent=2, ensure_ascii=False)
    (quarantine_dir / SUMMARY_FILE).write_text(summary + "\n", encoding="utf-8")
    if valid_dir is not None:
        _vouch_for(valid_dir)
    return result


def _table_files(folder: Path) -> dict[str, str]:
    """SHA-256 of each contract table's Parquet file in `folder`."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for name in TABLES
        if (path := folder / f"{name}.parquet").is_file()
    }


def _vouch_for(valid_dir: Path) -> None:
    valid_dir.mkdir(parents=True, exist_ok=True)
    marker = {"format": _VALIDATED_FORMAT, "files": _table_files(valid_dir)}
    (valid_dir / VALIDATED_FILE).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")


def unproven_files(folder: Path) -> list[str]:
    """The table files in `folder` that `validate_folder` did not write as they are now (all
    of them when no validation wrote the folder): what a bulk load must check before storing.
    """
    found = _table_files(folder)
    try:
        marker = json.loads((folder / VALIDATED_FILE).read_text(encoding="utf-8"))
        vouched = marker["files"] if marker.get("format") == _VALIDATED_FORMAT else {}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        vouched = {}
    if not isinstance(vouched, dict):
        vouched = {}
    return sorted(name for name, digest in found.items() if vouched.get(name) != digest)


@dataclass
class _Run:
    """What one folder's validation carries from table to table."""

    quarantine_dir: Path
    valid_dir: Path | None
    window: TimeWindow
    ids_seen: dict[str, set[str]] = field(default_factory=dict)  # table -> keys in its file
    valid_transactions: pd.DataFrame | None = None

    def row_checks(self, table: Table) -> list[Callable[[pd.DataFrame], dict[int, list[Failure]]]]:
        """Checks across tables that `table`'s rows get (a claim against its transaction)."""
        if table is not CLAIMS or self.valid_transactions is None:
            return []
        transactions = self.valid_transactions

        def claims_match(typed: pd.DataFrame) -> dict[int, list[Failure]]:
            problems = claim_frame_problems(typed, transactions)
            return {
                pos: [Failure(CLAIM_CHECK, column, check) for column, check in found]
                for pos, found in problems.items()
            }

        return [claims_match]


def _validate_table(table: Table, path: Path, run: _Run) -> TableReport:
    name = table.name
    quarantine_dir, valid_dir, ids_seen = run.quarantine_dir, run.valid_dir, run.ids_seen
    try:
        raw = read_table_file(path)
    except UnreadableFileError as exc:
        target = quarantine_dir / "unreadable" / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        return TableReport(name, TableStatus.UNREADABLE, source=path.name, reason=str(exc))

    frame = raw.frame
    forbidden = sorted(c for c in frame.columns if str(c).lower() in FORBIDDEN_COLUMNS)
    frame = frame.drop(columns=forbidden)
    key = table.key.name
    if key in frame.columns:
        ids_seen[name] = {str(v) for v in frame[key].dropna()}
    missing = [c for c in table.required_columns if c not in frame.columns]
    extra = sorted(mask_pans(str(c)) for c in frame.columns if c not in table.column_names)

    whole_reason = None
    if forbidden:
        whole_reason = (
            f"carries forbidden card-data column(s) {', '.join(map(str, forbidden))}; "
            "their values were not stored"
        )
    elif missing:
        whole_reason = f"missing required column(s): {', '.join(missing)}"

    references: dict[str, set[str]] = {}
    if whole_reason is None:
        for column in table.columns:
            ref = column.references
            if ref is not None and ref.table in ids_seen:
                references[column.name] = ids_seen[ref.table]
        checked = check_rows(
            table,
            frame,
            source=path.name,
            reference_ids=references,
            window=run.window,
            row_checks=run.row_checks(table),
        )
        quarantined, valid, counts = checked.quarantined, checked.valid, checked.failure_counts
        if table.name == "transactions":
            run.valid_transactions = valid
    else:
        rows = list(range(len(frame)))
        failure = Failure("file", "*", whole_reason)
        quarantined = _quarantine_frame(frame, rows, {r: [failure] for r in rows}, path.name)
        valid = frame.iloc[0:0]
        counts = {whole_reason: len(frame)} if len(frame) else {}

    quarantined = _append_malformed(quarantined, raw.malformed_lines, path.name)
    if len(quarantined):
        _write_parquet_atomically(quarantined, quarantine_dir / f"{name}.parquet", None)
    if valid_dir is not None and whole_reason is None:
        _write_parquet_atomically(valid, valid_dir / f"{name}.parquet", arrow_schema(table))
    if raw.malformed_lines:
        counts["*: malformed CSV line"] = len(raw.malformed_lines)

    return TableReport(
        name,
        TableStatus.VALIDATED if whole_reason is None else TableStatus.QUARANTINED_WHOLE,
        source=path.name,
        rows_in=len(frame) + len(raw.malformed_lines),
        rows_valid=len(valid),
        rows_quarantined=len(quarantined),
        reason=whole_reason,
        failures=counts,
        references_checked=sorted(f"{c} -> {_reference_name(table, c)}" for c in references),
        extra_columns=extra,
    )


def _reference_name(table: Table, column: str) -> str:
    ref = table.column(column).references
    return "?" if ref is None else f"{ref.table}.{ref.column}"


def _append_malformed(
    quarantined: pd.DataFrame, lines: list[list[str]], source: str
) -> pd.DataFrame:
    if not lines:
        return quarantined
    extra = pd.DataFrame(
        {
            "_source_file": source,
            "_source_row": pd.array([None] * len(lines), dtype="Int64"),
            "_raw_line": [mask_pans(",".join(fields)) for fields in lines],
            "_reason": "malformed CSV line: wrong number of fields",
            "_failures": json.dumps(
                [asdict(Failure("csv", "*", "malformed CSV line: wrong number of fields"))]
            ),
        }
    )
    return pd.concat([quarantined, extra], ignore_index=True)
