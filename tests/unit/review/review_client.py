"""The app with the review pages mounted, and a test client that logs in as a browser does:
the log-in form first (its CSRF cookie and field), then the page's token on every POST."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from unit.review.review_data import PASSWORD

from review.csrf import session_token
from review.web import mount
from serving.app import create_app
from serving.settings import Settings

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def review_app(engine: Engine, tmp_path: Path, **settings: Any) -> FastAPI:
    """The API with the pages, no model, plain-HTTP cookies (the test client speaks http)."""
    base = Settings(
        database_url="unused://",
        tracking_uri=f"sqlite:///{tmp_path / 'no-models.db'}",
        model_cache=tmp_path / "models",
        model_poll_seconds=0,
        cookie_secure=False,
    )
    app = create_app(base.with_(**settings), engine=engine)
    mount(app)
    return app


def form_token(html: str) -> str:
    """The CSRF token of a page's forms."""
    found = _TOKEN.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def try_login(
    app: FastAPI, username: str, password: str = PASSWORD, client: TestClient | None = None
) -> tuple[TestClient, Any]:
    """Post the log-in form as a browser would; the client and the answer."""
    client = client or TestClient(app, follow_redirects=False)
    token = form_token(client.get("/review/login").text)
    answer = client.post(
        "/review/login", data={"username": username, "password": password, "csrf_token": token}
    )
    return client, answer


def login(app: FastAPI, username: str, password: str = PASSWORD) -> TestClient:
    """A client logged in as `username` whose POSTs carry the session's CSRF token."""
    client, answer = try_login(app, username, password)
    assert answer.status_code == 303, answer.text
    # what the pages' forms carry (derived from the session, as the server derives it); taken
    # without opening a page, so that the audit trail holds only what a test does
    client.headers["x-csrf-token"] = session_token(client.cookies["sw_session"])
    return client
