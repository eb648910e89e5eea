"""A newcomer's first gift, as ``make run`` shows it without Stripe keys: ``flask dev run`` on the embedded
defaults with the demo loaded (its own instance folder, SQLite and Redis, apart from the other journeys'
stack). The donate page leads to the labelled test checkout, "pay" returns to the thank-you page, the
receipt is in the captured mail, and the admin's statistics for today show the gift."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.eyes import Eyes, sees
from tests.support.processes import ROOT
from tests.support.smtp import free_port

JOURNEY = "test-checkout"


@pytest.fixture(scope="module")
def make_run(tmp_path_factory):
    """``flask dev run`` (what ``make run`` starts) with the demo loaded, without Stripe keys."""
    folder = tmp_path_factory.mktemp("make-run")
    port = free_port()
    outside = ("TEST_", "DATABASE_URL", "REDIS_URL", "SMTP_URL", "STRIPE_", "DEMO_CHECKOUT")
    env = {k: v for k, v in os.environ.items() if not k.startswith(outside)}
    env.update(BEITRAG_ENV="development", BEITRAG_INSTANCE=str(folder), MAIL_CAPTURE_PORT=str(free_port()))
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    loaded = subprocess.run([*flask, "demo", "load", "--subscribers", "40"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=180)  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    stack = subprocess.Popen([*flask, "dev", "run", "--port", str(port)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)  # fmt: skip
    lines: list[bytes] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(stack.stdout.readline, b"")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(b"Beitrag runs: " in line for line in lines):
        assert stack.poll() is None, b"".join(lines).decode(errors="replace")
        time.sleep(0.3)
    banner = b"".join(lines).decode(errors="replace")
    assert "test checkout" in banner, banner
    password = re.search(r"admin@example.org  password: (\S+)", (folder / "demo-passwords.txt").read_text())
    yield {"base_url": f"http://127.0.0.1:{port}", "folder": folder, "admin": password.group(1)}
    with contextlib.suppress(ProcessLookupError):
        os.killpg(stack.pid, signal.SIGINT)  # Ctrl-C
    try:
        stack.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(stack.pid, signal.SIGKILL)
        stack.wait()
    reader.join(timeout=10)


def _captured(folder: Path, address: str, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in (folder / "mail").glob("*.eml"):
            text = path.read_text(errors="replace")
            if f"To: {address}" in text:
                return text
        time.sleep(0.3)
    raise AssertionError(f"no mail to {address} captured")


def test_a_newcomer_gives_through_the_test_checkout(browser, artifacts, make_run):
    base = make_run["base_url"]
    context = browser.new_context(base_url=base, locale="de-DE")
    context.set_default_timeout(20_000)
    page = context.new_page()
    eyes = Eyes(page, base, artifacts, journey=JOURNEY)
    try:
        page.goto("/spenden")
        sees(page, "Unterstützen Sie unseren Journalismus")
        sees(page, "Testkasse – es wird kein Geld bewegt")
        eyes.look("donate", shots=False)
        page.get_by_label("Einmalig", exact=True).check()
        page.get_by_label("Anderer Betrag", exact=True).check()
        page.get_by_label("Anderer Betrag in Euro").fill("7,30")
        page.get_by_role("button", name="Weiter zur Zahlung").click()

        page.wait_for_url("**/spenden/testkasse/cs_test_demo*")
        sees(page, "Testkasse – es wird kein Geld bewegt")
        sees(page, "7,30\xa0€ einmalig")
        eyes.look("page")
        page.get_by_label("E-Mail-Adresse für die Quittung").fill("neu@example.org")
        page.get_by_role("button", name="Bezahlen (Test)").click()

        page.wait_for_url("**/spenden/danke*")
        sees(page, "Ihre Spende von 7,30\xa0€ ist angekommen.")
        eyes.look("thanks", shots=False)
        receipt = _captured(make_run["folder"], "neu@example.org")
        assert "Quittung" in receipt

        page.goto("/staff/login")
        page.get_by_label("E-Mail").fill("admin@example.org")
        page.get_by_label("Passwort").fill(make_run["admin"])
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url("**/staff/")
        today = datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()
        page.goto(f"/staff/stats/?period=custom&from={today}&to={today}")
        sees(page, "7,30\xa0€")  # the demo has nothing dated today: the gift is what moved
        eyes.look("statistics", shots=False)
        eyes.verdict()
    finally:
        context.close()
