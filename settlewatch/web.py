"""The application `settlewatch serve` runs: the scoring API and the analysts' pages together.

`serving` knows nothing of the review queue; this factory joins them, so either can be tested
alone.
"""

from __future__ import annotations

from fastapi import FastAPI

from review.web import mount
from serving.app import create_app as create_api

__all__ = ["create_app"]


def create_app() -> FastAPI:
    """The scoring API with the review queue's pages and routes mounted."""
    app = create_api()
    mount(app)
    return app
