"""The application's tables that no other package declares: the API's and the review queue's.

The contract's tables (`data_contracts.sql`) and the online feature tables (`features`) are
declared with what they hold; these are the rest, in two `MetaData`: the API's own (keys,
quarantine, idempotency, decisions) and the review queue's (analysts, sessions, cases, the
login throttle and the audit log), which lives next to `decisions` (the cases' source) and the
contract's `outcomes` (where decisions become labels). SQLAlchemy Core; Alembic owns the schema
(`storage/migrations`), and times are epoch µs like the history's (`data_contracts.units`).

The audit log is append-only in the database itself: the migration installs triggers that abort
any UPDATE or DELETE (and, on SQLite, an INSERT reusing an id, which is what REPLACE does), so
neither a bug nor raw SQL through the app's engine can rewrite it. It is also a hash chain
(`review.audit`): each row carries the SHA-256 of its fields and of the row before, and
`review_audit_head` holds the last link, so a row rewritten, removed or inserted by someone who
went around the triggers (the owner, or a hand on the SQLite file) shows.

`info[RUNTIME_PRIVILEGES]` names what the API's PostgreSQL role is granted on a table when that
is not the default DML (`storage.grants`).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

from storage.grants import RUNTIME_PRIVILEGES

__all__ = [
    "ANALYSTS",
    "API_KEYS",
    "API_METADATA",
    "AUDIT",
    "AUDIT_CHAIN",
    "AUDIT_HEAD",
    "CASES",
    "DECISIONS",
    "IDEMPOTENCY",
    "LOGIN_THROTTLE",
    "QUARANTINE",
    "REVIEW_METADATA",
    "SESSIONS",
]

#: the API's own tables: keys, quarantined rows, idempotency keys, decisions
API_METADATA = MetaData()

API_KEYS = Table(
    "api_keys",
    API_METADATA,
    Column("key_id", String(32), primary_key=True),
    Column("name", String(64), nullable=False),
    # SHA-256 of the secret: keys are 32 random bytes, so a slow KDF would add nothing
    Column("secret_sha256", String(64), nullable=False),
    Column("scopes", String(128), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
)

QUARANTINE = Table(
    "quarantine",
    API_METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_at", BigInteger, nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("table_name", String(32), nullable=False),
    Column("row_index", Integer, nullable=False),
    Column("row_key", String(64), nullable=True),
    Column("reasons", Text, nullable=False),
    # the row as received, card numbers masked (BIN and last four)
    Column("row_json", Text, nullable=False),
    Index("ix_quarantine_table_received", "table_name", "received_at"),
)

IDEMPOTENCY = Table(
    "idempotency_keys",
    API_METADATA,
    Column("key_id", String(32), primary_key=True),
    Column("idempotency_key", String(128), primary_key=True),
    Column("request_sha256", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # in_flight | done
    Column("status_code", Integer, nullable=True),
    Column("response_json", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

DECISIONS = Table(
    "decisions",
    API_METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tx_id", String(64), nullable=False),
    Column("as_of", BigInteger, nullable=False),
    Column("scored_at", BigInteger, nullable=False),
    Column("decision", String(16), nullable=False),
    Column("risk_level", String(16), nullable=False),
    Column("risk_score", Float(precision=53), nullable=False),
    Column("queue", String(32), nullable=True),
    Column("priority", Float(precision=53), nullable=False),
    Column("decision_source", String(16), nullable=False),
    Column("model_version", String(32), nullable=True),
    Column("policy_version", String(32), nullable=False),
    Column("claim_id", String(64), nullable=True),
    Column("answer_json", Text, nullable=False),
    Index("ix_decisions_tx", "tx_id"),
    Index("ix_decisions_decision_scored", "decision", "scored_at"),
    # one decision per claim, whatever Idempotency-Keys it came under (NULLs do not clash)
    Index("ux_decisions_claim", "claim_id", unique=True),
)


#: the review queue's tables
REVIEW_METADATA = MetaData()

#: the name of the audit log's chain in `review_audit_head`
AUDIT_CHAIN = "review_audit"

ANALYSTS = Table(
    "review_analysts",
    REVIEW_METADATA,
    Column("analyst_id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False, unique=True),
    Column("role", String(16), nullable=False),  # analyst | lead | admin
    # comma-separated queue kinds an analyst works; leads and admins see every queue
    Column("queues", String(128), nullable=False),
    Column("password_hash", String(256), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

SESSIONS = Table(
    "review_sessions",
    REVIEW_METADATA,
    # SHA-256 of the cookie's random token: a leaked table does not log anyone in
    Column("token_sha256", String(64), primary_key=True),
    Column("analyst_id", Integer, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Index("ix_review_sessions_analyst", "analyst_id"),
)

CASES = Table(
    "review_cases",
    REVIEW_METADATA,
    Column("case_id", Integer, primary_key=True, autoincrement=True),
    Column("decision_id", Integer, nullable=False, unique=True),
    Column("tx_id", String(64), nullable=False, unique=True),
    Column("queue", String(32), nullable=False),
    # the first case of a run of open cases on the same merchant or terminal
    Column("group_id", Integer, nullable=True),
    Column("merchant_id", String(64), nullable=True),
    Column("terminal_id", String(64), nullable=True),
    Column("amount_fen", BigInteger, nullable=False),
    Column("risk_score", Float(precision=53), nullable=False),
    Column("risk_level", String(16), nullable=False),
    Column("routing_decision", String(16), nullable=False),  # review | hold
    Column("expected_loss_fen", Float(precision=53), nullable=False),
    Column("sla_deadline", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),  # open | claimed | decided | escalated
    # bumped by every change of state (claim, assignment, decision): the ETag of If-Match
    Column("version", Integer, nullable=False),
    Column("assignee_id", Integer, nullable=True),
    Column("lease_until", BigInteger, nullable=True),
    Column("decided_at", BigInteger, nullable=True),
    Column("decided_by", Integer, nullable=True),
    Column(
        "decision", String(16), nullable=True
    ),  # benign_delay | fraud | card_trapping | escalate
    Column("decision_reason", String(32), nullable=True),
    Column("note", Text, nullable=True),
    Index("ix_review_cases_status_queue", "status", "queue"),
    Index("ix_review_cases_merchant", "merchant_id", "status"),
    Index("ix_review_cases_terminal", "terminal_id", "status"),
    Index("ix_review_cases_decided", "decided_at"),
)

LOGIN_THROTTLE = Table(
    "review_login_throttle",
    REVIEW_METADATA,
    # "account:<name, card numbers masked>" or "address:<client>"
    Column("subject_key", String(96), primary_key=True),
    Column("failures", Integer, nullable=False),  # within the window that began at window_start
    Column("window_start", BigInteger, nullable=False),
    Column("locked_until", BigInteger, nullable=True),
    Column("locks", Integer, nullable=False),  # locks in a row: the next one doubles
)

AUDIT = Table(
    "review_audit",
    REVIEW_METADATA,
    Column("audit_id", Integer, primary_key=True, autoincrement=True),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(64), nullable=True),  # username; null before log-in
    Column("action", String(32), nullable=False),
    Column("case_id", Integer, nullable=True),
    Column("client", String(64), nullable=True),
    Column("outcome", String(16), nullable=False),  # ok | denied | conflict | invalid | failed
    Column("detail", Text, nullable=True),
    # the row's place in the chain (1, 2, ...), the previous row's hash and its own
    Column("seq", BigInteger, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("row_hash", String(64), nullable=False),
    Index("ix_review_audit_at", "at"),
    Index("ix_review_audit_case", "case_id"),
    Index("ux_review_audit_seq", "seq", unique=True),
    # the API may append and read, nothing else: no UPDATE, DELETE or TRUNCATE
    info={RUNTIME_PRIVILEGES: ("SELECT", "INSERT")},
)

AUDIT_HEAD = Table(
    "review_audit_head",
    REVIEW_METADATA,
    # one row per chain: the last row's seq and hash (seq 0 and the genesis hash when empty).
    # Every append updates it first, which serializes appends (see review.audit)
    Column("chain", String(32), primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("row_hash", String(64), nullable=False),
    info={RUNTIME_PRIVILEGES: ("SELECT", "UPDATE")},
)
