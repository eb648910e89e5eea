"""Browser tests (``make e2e``): Playwright driving Debian's Chromium, headless, against the whole product
running as it runs in production (see ``stack.py``). Started once for this folder, stopped after it.

Skipped when /usr/bin/chromium is missing (``apt-get install chromium``; CI installs it). No browser is
ever downloaded. Screenshots go to ``E2E_ARTIFACTS`` (default: a temporary folder, printed at the end).

Adding a journey: take the ``stack`` fixture (addresses, mail capture, Stripe stand-in, feed server), a
``browser_page`` (a fresh browser context with ``Eyes`` watching it) and, for staff pages, ``sign_in``
with ``staff["admin"]`` or ``staff["editor"]``; call ``eyes.look("name")`` on each page worth checking.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.staff.factories import PASSWORD, staff_user

CHROMIUM = "/usr/bin/chromium"
HERE = Path(__file__).parent
DEMO_READERS = 40


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects by the marks
def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
            item.add_marker(pytest.mark.slow)
            if not os.path.exists(CHROMIUM):
                item.add_marker(pytest.mark.skip(reason=f"{CHROMIUM} is missing: apt-get install chromium"))


@pytest.fixture(scope="package")
def artifacts() -> Iterator[Path]:
    folder = Path(os.environ.get("E2E_ARTIFACTS") or tempfile.mkdtemp(prefix="beitrag-e2e-"))
    folder.mkdir(parents=True, exist_ok=True)
    yield folder
    print(f"\nE2E screenshots: {folder}")


@pytest.fixture(scope="package")
def e2e_app(make_app, redis_url):
    """An app in this process on the same database and Redis as the stack: for loading the demo data and
    for what a test arranges behind the scenes (never for what it checks)."""
    from tests.conftest import _clean_database

    app = make_app()
    _clean_database(app)
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    connection.close()
    return app


@pytest.fixture(scope="package")
def staff(e2e_app) -> dict[str, str]:
    """Demo data (newsletters, articles, readers in every state, donations) and two staff accounts."""
    from db import db
    from newsletter.demo import loader
    from newsletter.platform.access import StaffRole

    with e2e_app.app_context():
        loader.load_demo(db.session, subscribers=DEMO_READERS)
        for role in (StaffRole.ADMIN, StaffRole.EDITOR):
            staff_user(db, f"e2e-{role.value}@example.org", role=role)
        db.session.remove()
    return {"admin": "e2e-admin@example.org", "editor": "e2e-editor@example.org"}


@pytest.fixture(scope="package")
def stack(e2e_app, staff, database_url, redis_url, tmp_path_factory):
    from tests.e2e.stack import Stack

    running = Stack(database_url, redis_url, tmp_path_factory.mktemp("e2e-stack")).start()
    yield running
    running.stop()


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def eyes(request, browser, stack, artifacts):
    """A fresh browser context (no cookies) with ``Eyes`` on its page; its findings fail the test."""
    from tests.e2e.eyes import Eyes

    context = browser.new_context(base_url=stack.base_url, locale="de-DE", accept_downloads=True)
    context.set_default_timeout(15_000)
    page = context.new_page()
    watcher = Eyes(page, stack.base_url, artifacts, journey=_journey_name(request))
    yield watcher
    try:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            print("What the browser saw besides:", *watcher.problems, sep="\n  ")
        else:
            watcher.verdict()
    finally:
        context.close()


def _journey_name(request) -> str:
    """The screenshots' prefix: the module's ``JOURNEY`` (else the test's name) and the parameter id,
    e.g. ``donor-once``."""
    name = getattr(request.module, "JOURNEY", request.node.originalname.removeprefix("test_"))
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None:
        name = f"{name}-{callspec.id}"
    return re.sub(r"[^A-Za-z0-9_]+", "-", name).strip("-")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


@pytest.fixture
def sign_in(stack):
    def _sign_in(eyes, email: str) -> None:
        page = eyes.page
        page.goto("/staff/login")
        page.get_by_label("E-Mail").fill(email)
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url("**/staff/")

    return _sign_in
