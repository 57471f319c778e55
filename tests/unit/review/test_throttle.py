"""Log-in throttling against the real databases: counters per name and per address, a lock
that grows, windows that run out, and a correct password refused while a lock holds."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import Engine, select
from unit.review.review_data import NOW, PASSWORD, add_analyst

from data_contracts.units import US_SECOND as S
from review.accounts import authenticate, log_in, warm_up
from review.throttle import Lock, Subject, ThrottlePolicy, current_lock, record_failure
from storage.tables import LOGIN_THROTTLE

POLICY = ThrottlePolicy(
    max_failures=5,
    max_failures_per_address=8,
    window_us=900 * S,
    lock_us=60 * S,
    max_lock_us=200 * S,
)


def _fail(db: Engine, times: int, *, at: int, value: str = "ana") -> list[Lock | None]:
    with db.begin() as conn:
        return [
            record_failure(
                conn=conn, subject=Subject.ACCOUNT, value=value, now=at + i, policy=POLICY
            )
            for i in range(times)
        ]


def _lock_at(db: Engine, at: int, value: str = "ana") -> Lock | None:
    with db.connect() as conn:
        return current_lock(conn=conn, subjects={Subject.ACCOUNT: value}, now=at)


def test_five_failures_lock_for_a_minute_then_the_lock_doubles_up_to_the_maximum(
    db: Engine,
) -> None:
    started = _fail(db, 5, at=NOW)
    assert started[:4] == [None] * 4
    lock = started[4]
    assert lock is not None
    assert lock.until == NOW + 4 + 60 * S
    assert _lock_at(db, NOW + 59 * S) is not None
    assert _lock_at(db, NOW + 61 * S) is None
    # the next five right after: twice as long, then four times, then the maximum
    lengths = []
    at = NOW + 61 * S
    for _ in range(3):
        lock = _fail(db, 5, at=at)[-1]
        assert lock is not None
        lengths.append((lock.until - (at + 4)) // S)
        at = lock.until + S
    assert lengths == [120, 200, 200]


def test_failures_outside_the_window_do_not_add_up(db: Engine) -> None:
    _fail(db, 4, at=NOW)
    assert _fail(db, 4, at=NOW + 901 * S) == [None] * 4  # a new window: 4, not 8
    assert _fail(db, 1, at=NOW + 902 * S)[0] is not None


def test_a_lock_long_after_the_last_one_starts_short_again(db: Engine) -> None:
    assert _fail(db, 5, at=NOW)[-1] is not None
    again = _fail(db, 5, at=NOW + 3_600 * S)[-1]
    assert again is not None
    assert again.until - (NOW + 3_600 * S + 4) == 60 * S


def test_a_card_number_typed_as_a_name_is_not_stored(db: Engine) -> None:
    _fail(db, 1, at=NOW, value="4111111111111111")
    with db.connect() as conn:
        keys = conn.execute(select(LOGIN_THROTTLE.c.subject_key)).scalars().all()
    assert keys == ["account:411111******1111"]


def test_log_in_refuses_a_correct_password_while_locked_and_a_success_clears(
    db: Engine,
) -> None:
    add_analyst(db, "ana")
    common = {"engine": db, "client": "10.0.0.7", "policy": POLICY}
    for i in range(4):
        assert log_in(username="ana", password="wrong-guess", now=NOW + i, **common).lock is None
    fifth = log_in(username="ana", password="wrong-guess", now=NOW + 4, **common)
    assert fifth.lock is not None
    assert fifth.lock.subject is Subject.ACCOUNT
    refused = log_in(username="ana", password=PASSWORD, now=NOW + 30 * S, **common)
    assert (refused.token, refused.analyst) == (None, None)
    assert refused.lock is not None
    assert refused.lock.seconds_left(NOW + 30 * S) == 31
    after = log_in(username="ana", password=PASSWORD, now=NOW + 61 * S, **common)
    assert after.token is not None
    with db.connect() as conn:
        keys = conn.execute(select(LOGIN_THROTTLE.c.subject_key)).scalars().all()
    assert keys == ["address:10.0.0.7"]  # the name's counter is gone; the address's stays


def test_one_address_guessing_many_names_is_locked(db: Engine) -> None:
    common = {"engine": db, "client": "10.0.0.9", "policy": POLICY, "password": "x" * 10}
    locks = [log_in(username=f"user{i}", now=NOW + i, **common).lock for i in range(8)]
    assert locks[:7] == [None] * 7
    assert locks[7] is not None
    assert locks[7].subject is Subject.ADDRESS
    # another address is not affected
    other = log_in(username="user0", now=NOW + 9, **{**common, "client": "10.0.0.10"})
    assert other.lock is None


def test_known_and_unknown_names_cost_one_scrypt_each(
    db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_analyst(db, "ana")
    warm_up()
    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*args: object, **kwargs: object) -> bytes:
        calls.append(int(kwargs["n"]))  # type: ignore[call-overload]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashlib, "scrypt", counting)
    with db.connect() as conn:
        assert authenticate(conn=conn, username="ana", password="wrong-guess") is None
        known = list(calls)
        calls.clear()
        assert authenticate(conn=conn, username="nobody", password="wrong-guess") is None
    assert known == calls == [2**14]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        # 0 or less: every failure starts a new window, or a lock ends as it starts (no
        # throttle at all, silently); nan or inf: the first failed log-in answered 500
        ("SETTLEWATCH_LOGIN_WINDOW_SECONDS", "0"),
        ("SETTLEWATCH_LOGIN_WINDOW_SECONDS", "nan"),
        ("SETTLEWATCH_LOGIN_LOCK_SECONDS", "-60"),
        ("SETTLEWATCH_LOGIN_LOCK_SECONDS", "inf"),
        ("SETTLEWATCH_LOGIN_LOCK_MAX_SECONDS", "0"),
        ("SETTLEWATCH_LOGIN_LOCK_MAX_SECONDS", "nan"),
    ],
)
def test_a_throttle_setting_that_would_switch_it_off_or_fail_is_refused(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    from serving.settings import load_settings

    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=variable):
        load_settings()
