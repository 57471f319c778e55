"""Log-in throttling: failed attempts counted per user name and per client address, in the
database, so that every worker of the app shares the same counters.

`policy.limit(subject)` failures within `policy.window_us` lock the name (or the address) for
`policy.lock_us`; a lock that follows within a window of the previous one's end lasts twice as
long as that one, up to `policy.max_lock_us`. While a lock holds, every attempt is refused
before any password is checked, a correct one too. A successful log-in clears the name's
counter; an address's counter runs out with its window (a shared office address must not be
cleared by whoever guesses one account right).
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from data_contracts.units import US_SECOND
from review.text import masked
from serving.settings import Settings
from storage.tables import LOGIN_THROTTLE

__all__ = [
    "Lock",
    "RefusalsSeen",
    "Subject",
    "ThrottlePolicy",
    "clear_failures",
    "current_lock",
    "record_failure",
    "subject_key",
]

_KEY_LENGTH = 96  # the column's
#: 2**20 first locks is far past any maximum: the exponent stops growing there
_MAX_DOUBLINGS = 20


class Subject(StrEnum):
    """What a counter throttles."""

    ACCOUNT = "account"
    ADDRESS = "address"


@dataclass(frozen=True)
class ThrottlePolicy:
    """When failed log-ins lock a name or an address, and for how long (times in µs)."""

    max_failures: int = 5
    max_failures_per_address: int = 20
    window_us: int = 900 * US_SECOND
    lock_us: int = 60 * US_SECOND
    max_lock_us: int = 3_600 * US_SECOND

    @classmethod
    def from_settings(cls, settings: Settings) -> ThrottlePolicy:
        """The policy of `SETTLEWATCH_LOGIN_*`."""
        return cls(
            max_failures=settings.login_max_failures,
            max_failures_per_address=settings.login_max_failures_per_address,
            window_us=int(settings.login_window_seconds * US_SECOND),
            lock_us=int(settings.login_lock_seconds * US_SECOND),
            max_lock_us=int(settings.login_lock_max_seconds * US_SECOND),
        )

    def limit(self, subject: Subject) -> int:
        """Failures within a window that lock `subject`."""
        return self.max_failures if subject is Subject.ACCOUNT else self.max_failures_per_address


@dataclass(frozen=True)
class Lock:
    """A lock in force: on what, and until when (epoch µs)."""

    subject: Subject
    until: int

    def seconds_left(self, now: int) -> int:
        """Whole seconds until the lock ends, rounded up (at least 1)."""
        return max(1, math.ceil((self.until - now) / US_SECOND))


class RefusalsSeen:
    """The locks whose first refused attempt this process has audited (the newest `size`).

    The audit log is append-only and can never be pruned: were every attempt refused by a
    lock written to it, one client could add hundreds of rows a second, for ever, and slow
    every other write. The lock's start and its first refusal are audited; later refusals of
    the same lock only reach the request log.
    """

    def __init__(self, size: int = 4_096) -> None:
        self._size = size
        self._seen: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._mutex = threading.Lock()

    def first(self, key: str, lock: Lock) -> bool:
        """True the first time `lock` of the counter `key` is seen here, False after."""
        entry = (key, lock.until)
        with self._mutex:
            if entry in self._seen:
                self._seen.move_to_end(entry)
                return False
            self._seen[entry] = None
            if len(self._seen) > self._size:
                self._seen.popitem(last=False)
            return True


def subject_key(subject: Subject, value: str) -> str:
    """The counter's key; a card number typed as a user name is masked before it is stored
    (and a NUL, which PostgreSQL cannot store, replaced)."""
    return f"{subject.value}:{masked(value)}"[:_KEY_LENGTH]


def current_lock(*, conn: Connection, subjects: Mapping[Subject, str], now: int) -> Lock | None:
    """The lock in force on any of `subjects` (the one that ends last), if any."""
    keys = {subject_key(s, v): s for s, v in subjects.items()}
    rows = conn.execute(
        select(LOGIN_THROTTLE.c.subject_key, LOGIN_THROTTLE.c.locked_until).where(
            LOGIN_THROTTLE.c.subject_key.in_(list(keys)), LOGIN_THROTTLE.c.locked_until > now
        )
    ).all()
    if not rows:
        return None
    key, until = max(rows, key=lambda r: int(r.locked_until))
    return Lock(subject=keys[key], until=int(until))


def record_failure(
    *, conn: Connection, subject: Subject, value: str, now: int, policy: ThrottlePolicy
) -> Lock | None:
    """Count one failed log-in of `subject`; the lock it starts, if it reaches the limit."""
    key = subject_key(subject, value)
    dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    # the row first, so that the read below can lock it (PostgreSQL) or, on SQLite, so that
    # this transaction holds the write lock: two workers never count from the same old value
    conn.execute(
        dialect_insert(LOGIN_THROTTLE)
        .values(subject_key=key, failures=0, window_start=now, locked_until=None, locks=0)
        .on_conflict_do_nothing()
    )
    row = conn.execute(
        select(LOGIN_THROTTLE).where(LOGIN_THROTTLE.c.subject_key == key).with_for_update()
    ).one()
    failures, window_start = int(row.failures), int(row.window_start)
    if now - window_start > policy.window_us:
        failures, window_start = 0, now
    failures += 1
    values: dict[str, int | None] = {"failures": failures, "window_start": window_start}
    lock = None
    if failures >= policy.limit(subject):
        follows = row.locked_until is not None and now - int(row.locked_until) <= policy.window_us
        locks = min(int(row.locks) + 1, _MAX_DOUBLINGS) if follows else 1
        until = now + min(policy.lock_us * 2 ** (locks - 1), policy.max_lock_us)
        values.update(failures=0, window_start=now, locked_until=until, locks=locks)
        lock = Lock(subject=subject, until=until)
    conn.execute(update(LOGIN_THROTTLE).where(LOGIN_THROTTLE.c.subject_key == key).values(values))
    return lock


def clear_failures(*, conn: Connection, subject: Subject, value: str) -> None:
    """Forget `subject`'s failures (after a successful log-in)."""
    conn.execute(
        delete(LOGIN_THROTTLE).where(LOGIN_THROTTLE.c.subject_key == subject_key(subject, value))
    )
