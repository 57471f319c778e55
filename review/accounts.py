"""Analysts, their passwords (scrypt) and their sessions (a random cookie token).

Roles: `analyst` works the queues listed on the account; `lead` sees every queue, reassigns
cases and reads the dashboard; `admin` also manages accounts.

A log-in (`log_in`) asks `review.throttle` first, hashes outside any transaction, and does the
same scrypt work for an unknown name as for a known one (against a dummy hash of the same
parameters), so neither its answer nor its timing tells which names exist.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select

from data_contracts.cards import mask_pans
from data_contracts.units import US_HOUR
from review.errors import NotLoggedInError
from review.text import storable
from review.throttle import (
    Lock,
    Subject,
    ThrottlePolicy,
    clear_failures,
    current_lock,
    record_failure,
)
from storage.tables import ANALYSTS, SESSIONS

__all__ = [
    "QUEUES",
    "Analyst",
    "LoginAttempt",
    "Role",
    "authenticate",
    "create_analyst",
    "end_session",
    "get_analyst",
    "hash_password",
    "log_in",
    "session_analyst",
    "start_session",
    "verify_password",
    "warm_up",
]

#: the queue kinds the routing policy fills
QUEUES: tuple[str, ...] = ("fraud", "card_trapping", "anomaly", "fallback")

_SESSION_US = 12 * US_HOUR  # one working day
# scrypt at n=2**14, r=8: 16 MiB and some tens of milliseconds per guess
_N, _R, _P = 2**14, 8, 1


class Role(StrEnum):
    ANALYST = "analyst"
    LEAD = "lead"
    ADMIN = "admin"


@dataclass(frozen=True)
class Analyst:
    """A logged-in person and what they may see."""

    analyst_id: int
    username: str
    role: Role
    queues: tuple[str, ...]

    @property
    def is_lead(self) -> bool:
        return self.role in (Role.LEAD, Role.ADMIN)

    def can_work(self, queue: str) -> bool:
        """Whether cases of `queue` are this person's to open."""
        return self.is_lead or queue in self.queues

    @property
    def visible_queues(self) -> tuple[str, ...]:
        return QUEUES if self.is_lead else self.queues


def hash_password(password: str) -> str:
    """The password's scrypt hash with its salt and parameters, as one string."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether `password` matches `stored` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    expected = base64.b64decode(digest)
    actual = hashlib.scrypt(
        password.encode(),
        salt=base64.b64decode(salt),
        n=int(n),
        r=int(r),
        p=int(p),
        dklen=len(expected),
    )
    return hmac.compare_digest(actual, expected)


def _analyst(row: Any) -> Analyst:
    queues = tuple(q for q in row.queues.split(",") if q)
    return Analyst(
        analyst_id=int(row.analyst_id),
        username=str(row.username),
        role=Role(row.role),
        queues=queues,
    )


def create_analyst(
    *,
    conn: Connection,
    username: str,
    password: str,
    role: Role,
    queues: tuple[str, ...] = QUEUES,
    now: int,
) -> Analyst:
    """Store a new account; `queues` limits an analyst's work (leads see everything)."""
    unknown = set(queues) - set(QUEUES)
    if unknown:
        raise ValueError(f"unknown queue(s): {', '.join(sorted(unknown))}")
    if len(password) < 8:
        raise ValueError("a password needs at least 8 characters")
    if mask_pans(username) != username:
        # it would show on every page and in every audit row
        raise ValueError("a user name must not be a card number")
    result = conn.execute(
        insert(ANALYSTS).values(
            username=username,
            role=role.value,
            queues=",".join(queues),
            password_hash=hash_password(password),
            active=True,
            created_at=now,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return Analyst(int(key[0]), username, role, queues)


def _active_row(conn: Connection, username: str) -> Any:
    return conn.execute(
        select(ANALYSTS).where(ANALYSTS.c.username == username, ANALYSTS.c.active.is_(True))
    ).first()


def get_analyst(*, conn: Connection, username: str) -> Analyst | None:
    """The active account called `username`, if any."""
    row = _active_row(conn, username)
    return _analyst(row) if row else None


@cache
def _dummy_hash() -> str:
    """A hash of a random password with the current parameters: an unknown name's stand-in."""
    return hash_password(secrets.token_urlsafe(16))


def _checked(row: Any, password: str) -> Analyst | None:
    # one verification either way: an unknown name costs what a known one costs
    stored = row.password_hash if row is not None else _dummy_hash()
    if not verify_password(password, stored) or row is None:
        return None
    return _analyst(row)


def authenticate(*, conn: Connection, username: str, password: str) -> Analyst | None:
    """The account if the password matches, else None (same work either way; no throttle)."""
    return _checked(_active_row(conn, username), password)


@dataclass(frozen=True)
class LoginAttempt:
    """How a log-in ended: a session, a wrong password, or a lock (refused unchecked)."""

    analyst: Analyst | None
    token: str | None
    #: the lock in force, or the one this failure started
    lock: Lock | None
    #: refused unchecked, by a lock already in force (no password was looked at)
    refused: bool = False


def log_in(
    *,
    engine: Engine,
    username: str,
    password: str,
    client: str | None,
    now: int,
    policy: ThrottlePolicy,
) -> LoginAttempt:
    """Refuse a locked name or address; else check the password, count a failure or start a
    session."""
    # a name holding what no account name can (NUL, which PostgreSQL cannot even compare) is
    # an unknown name: the same work, counted under its storable form
    typed = storable(username)
    subjects = {Subject.ACCOUNT: typed, Subject.ADDRESS: storable(client or "unknown")}
    with engine.connect() as conn:
        lock = current_lock(conn=conn, subjects=subjects, now=now)
        row = None if lock or typed != username else _active_row(conn, username)
    if lock is not None:
        return LoginAttempt(analyst=None, token=None, lock=lock, refused=True)
    # tens of milliseconds of scrypt: outside any transaction, so no lock is held meanwhile
    analyst = _checked(row, password)
    with engine.begin() as conn:
        if analyst is None:
            started = [
                record_failure(conn=conn, subject=s, value=v, now=now, policy=policy)
                for s, v in subjects.items()
            ]
            lock = max((x for x in started if x), key=lambda x: x.until, default=None)
            return LoginAttempt(analyst=None, token=None, lock=lock)
        clear_failures(conn=conn, subject=Subject.ACCOUNT, value=typed)
        token = start_session(conn=conn, analyst=analyst, now=now)
    return LoginAttempt(analyst=analyst, token=token, lock=None)


def warm_up() -> None:
    """Compute the dummy hash now, so that the first unknown name is not slower."""
    _dummy_hash()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(*, conn: Connection, analyst: Analyst, now: int) -> str:
    """A new session for `analyst`; returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    conn.execute(
        insert(SESSIONS).values(
            token_sha256=_token_hash(token),
            analyst_id=analyst.analyst_id,
            created_at=now,
            expires_at=now + _SESSION_US,
        )
    )
    return token


def session_analyst(*, conn: Connection, token: str | None, now: int) -> Analyst:
    """The analyst behind a session cookie; raises NotLoggedInError when there is none."""
    if not token:
        raise NotLoggedInError("no session")
    row = conn.execute(
        select(ANALYSTS)
        .join(SESSIONS, SESSIONS.c.analyst_id == ANALYSTS.c.analyst_id)
        .where(
            SESSIONS.c.token_sha256 == _token_hash(token),
            SESSIONS.c.expires_at > now,
            ANALYSTS.c.active.is_(True),
        )
    ).first()
    if row is None:
        raise NotLoggedInError("session expired")
    return _analyst(row)


def end_session(*, conn: Connection, token: str) -> None:
    """Log out: the session's row goes."""
    conn.execute(delete(SESSIONS).where(SESSIONS.c.token_sha256 == _token_hash(token)))
