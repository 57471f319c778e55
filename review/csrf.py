"""Cross-site request forgery: a token in every form and an Origin check on every POST.

A logged-in analyst's token is an HMAC of their session cookie's token, so it needs no storage
and a page of another site (which cannot read the HttpOnly cookie) cannot compute it. Before a
session exists (the log-in form) it is a random value that must also come back in the
`sw_csrf` cookie (double submit). The Origin check refuses a request whose `Origin` (or, when
a browser sent none, `Referer`) names another host than the one it was sent to.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

__all__ = [
    "FIELD",
    "HEADER",
    "LOGIN_COOKIE",
    "CsrfError",
    "foreign_origin",
    "new_login_token",
    "session_token",
    "tokens_match",
]

#: the hidden form field, the header of scripts (and htmx's `hx-headers`), the log-in cookie
FIELD = "csrf_token"
HEADER = "x-csrf-token"
LOGIN_COOKIE = "sw_csrf"


class CsrfError(Exception):
    """A state-changing request without a valid token, or from a foreign origin."""


def session_token(session: str) -> str:
    """The forms' token of the session whose cookie holds `session`."""
    return hmac.new(session.encode(), b"settlewatch review csrf", hashlib.sha256).hexdigest()


def new_login_token() -> str:
    """A fresh random token for the log-in form and its cookie."""
    return secrets.token_urlsafe(32)


def tokens_match(sent: str | None, expected: str | None) -> bool:
    """Whether a token came back as it was handed out (constant-time)."""
    if not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


def foreign_origin(*, origin: str | None, referer: str | None, host: str | None) -> str | None:
    """The foreign origin a request came from, or None when it came from `host` itself.

    A request with neither header (a non-browser client) passes: the token still decides.
    Only the host and port are compared, so that a TLS-terminating proxy in front of the app
    (the app sees `http`) does not refuse every form.
    """
    claimed = origin if origin is not None else referer
    if claimed is None:
        return None
    if claimed.strip().lower() == "null":  # a sandboxed frame or a privacy redirect
        return "null"
    netloc = urlsplit(claimed.strip()).netloc.lower()
    if not host or netloc != host.strip().lower():
        return claimed[:200]
    return None
