"""The review queue in a real browser: Debian's Chromium driven by Playwright against a live
uvicorn server of the app (scoring API + analyst pages) on a free loopback port.

Screenshots of the queue, a case and the dashboard go to `screenshots/` (gitignored).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import Engine, select
from unit.review.review_data import PASSWORD, add_analyst, seed

from data_contracts.sql import SQL_TABLES
from data_contracts.units import now_us
from review.accounts import Role
from review.web import mount
from serving.app import create_app
from serving.settings import Settings
from storage import upgrade
from storage.tables import CASES

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
LAPTOP = {"width": 1440, "height": 900}
TABLET = {"width": 820, "height": 1180}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def server(sqlite_engine: Engine, tmp_path: Path) -> Iterator[str]:
    """The app on a live uvicorn server in a thread; yields its base URL."""
    upgrade(sqlite_engine)
    # routed an hour ago by the real clock, so the SLA countdowns on the screenshots are real
    seed(sqlite_engine, cases=9, merchants=3, now=now_us())
    add_analyst(sqlite_engine, "ana")
    add_analyst(sqlite_engine, "bo")
    add_analyst(sqlite_engine, "lena", Role.LEAD)
    settings = Settings(
        database_url="unused://",
        tracking_uri=f"sqlite:///{tmp_path / 'no-models.db'}",
        model_cache=tmp_path / "models",
        model_poll_seconds=0,
        cookie_secure=False,  # plain http on the loopback
    )
    app = create_app(settings, engine=sqlite_engine)
    mount(app)
    port = _free_port()
    # lifespan off: the schema is migrated above and no model is needed for the pages
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    live = uvicorn.Server(config)
    thread = threading.Thread(target=live.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not live.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        live.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Browser]:
    assert CHROMIUM.exists(), "apt-get install chromium"
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


def _log_in(browser: Browser, base: str, username: str, viewport: dict[str, int]) -> Page:
    page = browser.new_context(viewport=viewport, locale="zh-CN").new_page()
    page.goto(f"{base}/review/")
    assert "/review/login" in page.url
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/review/(\?.*)?$"))
    return page


@pytest.mark.integration
def test_an_analyst_claims_reads_decides_and_the_label_appears(
    server: str, browser: Browser, sqlite_engine: Engine
) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    ana = _log_in(browser, server, "ana", LAPTOP)
    before = int(ana.inner_text("[data-testid=queue-size]"))
    assert before == 9
    ana.screenshot(path=str(SCREENSHOTS / "review-queue.png"), full_page=True)

    ana.click("[data-testid=claim]")
    ana.wait_for_url(re.compile(r".*/review/cases/\d+$"))
    case_url = ana.url
    reasons = ana.inner_text("[data-testid=reasons]")
    assert "交易后不久被撤销、冲正或退货" in reasons
    assert re.fullmatch(r"622848 •••• \d{4}", ana.inner_text("[data-testid=card]"))
    ana.screenshot(path=str(SCREENSHOTS / "review-case.png"), full_page=True)

    # the second analyst cannot open the leased case
    bo = _log_in(browser, server, "bo", TABLET)
    answer = bo.goto(case_url)
    assert answer is not None
    assert answer.status == 409
    assert "其他分析员" in bo.inner_text("[data-testid=error-title]")

    # nothing is preselected, and the browser itself refuses the form without a decision
    assert ana.locator("input[name=decision]:checked").count() == 0
    ana.click("[data-testid=decide]")
    assert ana.url == case_url
    # the page's script and htmx send the token from the page; Chromium adds its Origin
    renew = """async (token) => (await fetch(location.pathname + "/lease", {method: "POST",
        headers: token ? {"X-CSRF-Token": token} : {}})).status"""
    token = ana.get_attribute("meta[name=csrf-token]", "content")
    assert ana.evaluate(renew, None) == 403
    assert ana.evaluate(renew, token) == 200
    ana.check("input[name=decision][value=card_trapping]")
    ana.select_option("[data-testid=reason]", "void_after_sale")
    ana.fill("textarea[name=note]", "两次撤销后重刷，同一张卡")
    ana.click("[data-testid=decide]")
    ana.wait_for_url(re.compile(r".*/review/\?message=decided.*"))
    assert int(ana.inner_text("[data-testid=queue-size]")) == before - 1
    labels = ana.inner_text("[data-testid=labels]")
    assert "套卡（骗卡） / 撤销后重刷 · analyst" in labels

    case_id = int(case_url.rsplit("/", 1)[1])
    outcomes = SQL_TABLES["outcomes"]
    with sqlite_engine.connect() as conn:
        tx_id = conn.execute(select(CASES.c.tx_id).where(CASES.c.case_id == case_id)).scalar()
        label = conn.execute(select(outcomes).where(outcomes.c.tx_id == tx_id)).one()
    assert (label.outcome_class, label.outcome_reason, label.label_source) == (
        "card_trapping",
        "void_after_sale",
        "analyst",
    )

    lead = _log_in(browser, server, "lena", LAPTOP)
    lead.goto(f"{server}/review/lang/en?next=/review/dashboard")
    assert lead.inner_text("[data-testid=open-total]") == str(before - 1)
    assert lead.locator("svg.chart rect").count() > 0
    lead.screenshot(path=str(SCREENSHOTS / "review-dashboard.png"), full_page=True)
    bo.goto(f"{server}/review/")
    bo.screenshot(path=str(SCREENSHOTS / "review-queue-tablet.png"), full_page=True)
