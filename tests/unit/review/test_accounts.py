"""Accounts: scrypt passwords, sessions, roles."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from data_contracts.units import US_HOUR as HOUR
from review.accounts import (
    Role,
    authenticate,
    create_analyst,
    end_session,
    hash_password,
    session_analyst,
    start_session,
    verify_password,
)
from review.errors import NotLoggedInError
from storage import upgrade
from storage.tables import ANALYSTS, SESSIONS

NOW = 1_780_000_000_000_000


def test_password_hash_is_salted_scrypt() -> None:
    first, second = hash_password("open sesame!"), hash_password("open sesame!")
    assert first.startswith("scrypt$16384$8$1$")
    assert first != second  # a fresh salt each time
    assert verify_password("open sesame!", first)
    assert not verify_password("open sesame?", first)
    assert not verify_password("open sesame!", "md5$whatever")


def test_accounts_log_in_and_sessions_expire(sqlite_engine: Engine) -> None:
    upgrade(sqlite_engine)
    with sqlite_engine.begin() as conn:
        created = create_analyst(
            conn=conn, username="mei", password="a long passphrase", role=Role.ANALYST,
            queues=("fraud",), now=NOW,
        )  # fmt: skip
        stored = conn.execute(select(ANALYSTS.c.password_hash)).scalar()
        assert stored is not None
        assert "a long passphrase" not in stored
        assert authenticate(conn=conn, username="mei", password="wrong one!") is None
        assert authenticate(conn=conn, username="nobody", password="a long passphrase") is None
        mei = authenticate(conn=conn, username="mei", password="a long passphrase")
        assert mei == created
        assert mei.can_work("fraud")
        assert not mei.can_work("anomaly")
        token = start_session(conn=conn, analyst=mei, now=NOW)
        # only the token's hash is stored
        assert conn.execute(select(SESSIONS.c.token_sha256)).scalar() != token
        assert session_analyst(conn=conn, token=token, now=NOW + HOUR) == mei
        with pytest.raises(NotLoggedInError):
            session_analyst(conn=conn, token=token, now=NOW + 13 * HOUR)
        end_session(conn=conn, token=token)
        with pytest.raises(NotLoggedInError):
            session_analyst(conn=conn, token=token, now=NOW + HOUR)
        with pytest.raises(ValueError, match="8 characters"):
            create_analyst(conn=conn, username="x", password="short", role=Role.LEAD, now=NOW)
        with pytest.raises(ValueError, match="unknown queue"):
            create_analyst(
                conn=conn, username="y", password="long enough", role=Role.ANALYST,
                queues=("chargebacks",), now=NOW,
            )  # fmt: skip
