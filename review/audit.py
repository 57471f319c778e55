"""The audit log: who did or saw what, when, from where, and how it ended.

Rows are only ever inserted; the database refuses UPDATE and DELETE (triggers, see the
migrations), so the log holds even against the application's own engine. On PostgreSQL the API's
role may only INSERT and SELECT it (`storage.grants`), so it cannot switch the triggers off.

What the triggers cannot stop (the table's owner, or a hand on the SQLite file) the chain shows:
each row stores `prev_hash`, the previous row's `row_hash`, and its own `row_hash`, the SHA-256 of
`canonical_bytes(...)` (a fixed version tag, its place `seq`, its fields and `prev_hash`). The
first row chains from `GENESIS`. `review_audit_head` holds the last row's seq and hash; an append
updates that row first, which serializes appends: PostgreSQL locks the row until the append's
transaction ends, and on SQLite the UPDATE takes the database's write lock before anything is read.
`verify_chain` walks the chain and names each row that was rewritten, removed or inserted.

Free text is masked (`mask_pans`) before it is hashed and stored: no card number in the log. NUL
and lone surrogates, which PostgreSQL cannot store as text, become U+FFFD first: a request
quoting one (`/review/lang/%00`) must still leave its row. `verify_chain` reads whatever a hand
on the database stored, of any type (SQLite keeps text or bytes in an integer column), and
reports it instead of failing on it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, Row, insert, select, update

from data_contracts.cards import mask_pans
from review.errors import ReviewError
from review.text import masked
from storage.tables import AUDIT, AUDIT_CHAIN, AUDIT_HEAD

__all__ = [
    "GENESIS",
    "AuditChainError",
    "ChainProblem",
    "ChainReport",
    "ProblemKind",
    "canonical_bytes",
    "record",
    "record_now",
    "row_hash",
    "verify_chain",
]

#: what the first row chains from
GENESIS = "0" * 64

# bumped if the encoding ever changes, so that two encodings can never produce the same bytes
_VERSION = "settlewatch.review_audit.v1"


class AuditChainError(ReviewError):
    """The audit chain cannot be appended to (its head row is missing: not migrated)."""

    status = 500


class ProblemKind(StrEnum):
    """How a row departs from the chain."""

    REWRITTEN = "rewritten"
    REMOVED = "removed"
    INSERTED = "inserted"


@dataclass(frozen=True)
class ChainProblem:
    """One break of the chain: the row (its place and id, when there is one) and why."""

    kind: ProblemKind
    seq: int | None
    audit_id: int | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The problem as JSON-ready values."""
        return {
            "kind": self.kind.value,
            "seq": self.seq,
            "audit_id": self.audit_id,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ChainReport:
    """What `verify_chain` found: the rows walked, the head, and every problem in chain order."""

    rows: int
    head_seq: int | None
    head_hash: str | None
    problems: tuple[ChainProblem, ...]

    @property
    def intact(self) -> bool:
        """True when no row was rewritten, removed or inserted."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values."""
        return {
            "intact": self.intact,
            "rows": self.rows,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "problems": [p.to_dict() for p in self.problems],
        }


def canonical_bytes(
    *,
    seq: int,
    at: int,
    actor: str | None,
    action: str,
    case_id: int | None,
    client: str | None,
    outcome: str,
    detail: str | None,
    prev_hash: str,
) -> bytes:
    """The bytes a row's hash is taken over: a JSON array in a fixed order (ints and strings
    only, so there is exactly one encoding of each row)."""
    fields = [_VERSION, seq, at, actor, action, case_id, client, outcome, detail, prev_hash]
    return json.dumps(fields, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def row_hash(**fields: Any) -> str:
    """SHA-256 (hex) of `canonical_bytes(**fields)`."""
    return hashlib.sha256(canonical_bytes(**fields)).hexdigest()


def _masked(text: str | None) -> str | None:
    # a user name typed at log-in or a note is free text: a card number in it stays out, and
    # so does a character that would make the append fail (and the trail of a refusal vanish)
    return masked(text) if text else text


#: the actor column's width (a typed log-in name can be longer)
_ACTOR_WIDTH: int | None = getattr(AUDIT.c.actor.type, "length", None)


def _fit(text: str | None, length: int | None) -> str | None:
    return text[:length] if text and length else text


def record(
    *,
    conn: Connection,
    at: int,
    actor: str | None,
    action: str,
    outcome: str,
    case_id: int | None = None,
    client: str | None = None,
    detail: str | None = None,
) -> None:
    """Append one row inside the caller's transaction.

    Raises:
        AuditChainError: the chain's head row is missing (the database is not migrated).
    """
    fields: dict[str, Any] = {
        "at": at,
        # masked before it is cut to the column, so no card number is left half masked
        "actor": _fit(_masked(actor), _ACTOR_WIDTH),
        "action": _masked(action) or action,
        "case_id": case_id,
        "client": _masked(client),
        "outcome": _masked(outcome) or outcome,
        "detail": _masked(detail) or None,
    }
    # the head first: it is the append's lock (see the module doc), so no two appends read the
    # same previous hash. RETURNING gives the new seq and the still unchanged previous hash
    head = conn.execute(
        update(AUDIT_HEAD)
        .where(AUDIT_HEAD.c.chain == AUDIT_CHAIN)
        .values(seq=AUDIT_HEAD.c.seq + 1)
        .returning(AUDIT_HEAD.c.seq, AUDIT_HEAD.c.row_hash)
    ).one_or_none()
    if head is None:
        raise AuditChainError("the audit log has no chain head: run `settlewatch migrate`")
    seq, prev_hash = int(head.seq), str(head.row_hash)
    digest = row_hash(seq=seq, prev_hash=prev_hash, **fields)
    conn.execute(insert(AUDIT).values(seq=seq, prev_hash=prev_hash, row_hash=digest, **fields))
    conn.execute(
        update(AUDIT_HEAD).where(AUDIT_HEAD.c.chain == AUDIT_CHAIN).values(row_hash=digest)
    )


def record_now(
    *,
    engine: Engine,
    at: int,
    actor: str | None,
    action: str,
    outcome: str,
    case_id: int | None = None,
    client: str | None = None,
    detail: str | None = None,
) -> None:
    """Append one row in its own transaction (for refusals, whose transaction rolled back)."""
    with engine.begin() as conn:
        record(
            conn=conn,
            at=at,
            actor=actor,
            action=action,
            outcome=outcome,
            case_id=case_id,
            client=client,
            detail=detail,
        )


#: the Python type each hashed column must read back as (None where the column allows it)
_TYPES: dict[str, tuple[type, ...]] = {
    "seq": (int,),
    "at": (int,),
    "actor": (str, type(None)),
    "action": (str,),
    "case_id": (int, type(None)),
    "client": (str, type(None)),
    "outcome": (str,),
    "detail": (str, type(None)),
    "prev_hash": (str,),
    "row_hash": (str,),
}


def _well_typed(row: Row[Any]) -> bool:
    """Whether every hashed field reads back as the application writes it (a hand on an
    SQLite file can store text or bytes anywhere); exact types, so no bool passes as an int."""
    mapping = row._mapping
    return all(type(mapping[name]) in kinds for name, kinds in _TYPES.items())


def _stored_hash_matches(row: Row[Any]) -> bool:
    if not _well_typed(row):
        return False
    return bool(row.row_hash) and str(row.row_hash) == row_hash(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        case_id=row.case_id,
        client=row.client,
        outcome=row.outcome,
        detail=row.detail,
        prev_hash=row.prev_hash,
    )


def _places(first: int, last: int) -> str:
    return f"row {first} is" if first == last else f"rows {first} to {last} are"


def _walk(
    rows: Iterable[Row[Any]], *, head_seq: int, problems: list[ChainProblem]
) -> tuple[int, int, str]:
    """Check each row against the one before; returns (rows seen, last seq, last hash)."""
    seen, last_seq, last_hash = 0, 0, GENESIS

    def placed(stream: Iterable[Row[Any]]) -> Iterable[Row[Any]]:
        # a place that is not a whole number (text, bytes, a fraction stored by hand) names no
        # place in the chain: that row was added outside the application, and is skipped
        nonlocal seen
        for row in stream:
            if type(row.seq) is int:
                yield row
                continue
            seen += 1
            problems.append(
                ChainProblem(
                    kind=ProblemKind.INSERTED,
                    seq=None,
                    audit_id=_int_or_none(row.audit_id),
                    reason=f"its place {_shown(row.seq)} is not a whole number: added outside "
                    "the application",
                )
            )

    for seq, group in itertools.groupby(placed(rows), key=lambda r: r.seq):
        candidates = list(group)
        seen += len(candidates)
        if seq <= 0 or seq > head_seq:
            for row in candidates:
                where = f"beyond the chain's head (row {head_seq})" if seq > 0 else "not a place"
                problems.append(
                    ChainProblem(
                        kind=ProblemKind.INSERTED,
                        seq=seq,
                        audit_id=row.audit_id,
                        reason=f"place {seq} is {where}: added outside the application",
                    )
                )
            continue
        # of several rows claiming one place, the chain's is the one linking to the row before
        linked = [r for r in candidates if r.prev_hash == last_hash]
        row = linked[0] if linked else candidates[0]
        for other in candidates:
            if other is not row:
                problems.append(
                    ChainProblem(
                        kind=ProblemKind.INSERTED,
                        seq=seq,
                        audit_id=other.audit_id,
                        reason=f"a second row at place {seq}, not linked into the chain",
                    )
                )
        if seq > last_seq + 1:
            problems.append(
                ChainProblem(
                    kind=ProblemKind.REMOVED,
                    seq=last_seq + 1,
                    audit_id=None,
                    reason=f"{_places(last_seq + 1, seq - 1)} missing: row {seq} "
                    f"(audit_id {row.audit_id}) follows row {last_seq}",
                )
            )
        elif row.prev_hash != last_hash:
            # the places follow on but the link does not: the row before was replaced by one
            # whose hash was recomputed (or, for the first row, the chain has a forged start)
            before = f"row {last_seq}" if last_seq else "the genesis value"
            problems.append(
                ChainProblem(
                    kind=ProblemKind.REWRITTEN,
                    seq=last_seq or seq,
                    audit_id=None if last_seq else row.audit_id,
                    reason=f"row {seq} (audit_id {row.audit_id}) does not chain from {before}: "
                    f"{before} was rewritten and its hash recomputed",
                )
            )
        if not _stored_hash_matches(row):
            problems.append(
                ChainProblem(
                    kind=ProblemKind.REWRITTEN,
                    seq=seq,
                    audit_id=row.audit_id,
                    reason="its fields do not match its hash",
                )
            )
        last_seq, last_hash = seq, row.row_hash
    return seen, last_seq, last_hash


def _int_or_none(value: object) -> int | None:
    return value if type(value) is int else None


def _shown(value: object) -> str:
    """A stored value as a report quotes it (short, and masked like everything else)."""
    return mask_pans(repr(value)[:40])


def verify_chain(*, engine: Engine, expect: tuple[int, str] | None = None) -> ChainReport:
    """Walk the audit chain in one snapshot and report every row rewritten, removed or inserted.

    Args:
        engine: the API's database (SELECT on the audit tables is enough).
        expect: (seq, hash) of a row as noted earlier (e.g. a head printed by a past run):
            the chain must still hold that row with that hash. This catches the last rows cut
            off together with a head set back, which the chain alone cannot show.
    """
    problems: list[ChainProblem] = []
    with engine.connect() as conn:
        # the head and the rows must come from the same moment, or a concurrent append would
        # look like an inserted row
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN")  # pysqlite begins nothing before a read by itself
        head = conn.execute(
            select(AUDIT_HEAD.c.seq, AUDIT_HEAD.c.row_hash).where(AUDIT_HEAD.c.chain == AUDIT_CHAIN)
        ).one_or_none()
        if head is None:
            problems.append(
                ChainProblem(
                    kind=ProblemKind.REMOVED,
                    seq=None,
                    audit_id=None,
                    reason="the chain's head row (review_audit_head) is missing",
                )
            )
        elif type(head.seq) is not int or type(head.row_hash) is not str:
            problems.append(
                ChainProblem(
                    kind=ProblemKind.REWRITTEN,
                    seq=None,
                    audit_id=None,
                    reason=f"the chain's head row (review_audit_head) holds no usable place and "
                    f"hash ({_shown(head.seq)}, {_shown(head.row_hash)}): rewritten by hand",
                )
            )
            head = None
        head_seq = int(head.seq) if head else 2**62
        rows = conn.execution_options(yield_per=2_000).execute(
            select(AUDIT).order_by(AUDIT.c.seq, AUDIT.c.audit_id)
        )
        seen, last_seq, last_hash = _walk(rows, head_seq=head_seq, problems=problems)
        expected_hash: str | None = None
        if expect is not None:
            expected_hash = conn.execute(
                select(AUDIT.c.row_hash).where(AUDIT.c.seq == expect[0]).limit(1)
            ).scalar_one_or_none()
    if head is not None:
        if head.seq > last_seq:
            problems.append(
                ChainProblem(
                    kind=ProblemKind.REMOVED,
                    seq=last_seq + 1,
                    audit_id=None,
                    reason=f"{_places(last_seq + 1, int(head.seq))} missing: the chain's head "
                    f"is row {head.seq}, the last row is {last_seq}",
                )
            )
        elif head.row_hash != last_hash:
            problems.append(
                ChainProblem(
                    kind=ProblemKind.REWRITTEN,
                    seq=last_seq,
                    audit_id=None,
                    reason="the chain's head holds another hash for it: rewritten with its "
                    "hash recomputed",
                )
            )
    if expect is not None and expected_hash != expect[1]:
        problems.append(
            ChainProblem(
                kind=ProblemKind.REMOVED if expected_hash is None else ProblemKind.REWRITTEN,
                seq=expect[0],
                audit_id=None,
                reason="the expected row is not in the chain"
                if expected_hash is None
                else "its hash is not the one expected",
            )
        )
    return ChainReport(
        rows=seen,
        head_seq=int(head.seq) if head else None,
        head_hash=str(head.row_hash) if head else None,
        problems=tuple(sorted(problems, key=_in_chain_order)),
    )


def _in_chain_order(problem: ChainProblem) -> tuple[int, int]:
    return (problem.seq if problem.seq is not None else -1, problem.audit_id or 0)
