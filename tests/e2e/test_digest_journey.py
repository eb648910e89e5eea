"""An editor sets up an automatic digest in the browser for the coming minute, writes an article, and the
running clock builds the digest by itself at that minute: the draft with the article waits on the desk,
every editor gets a mail that links to it, and a later run she skips is marked as skipped."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.e2e.eyes import sees

JOURNEY = "digest"
BERLIN = ZoneInfo("Europe/Berlin")


def _coming_minute(margin: float = 20.0) -> datetime:
    """The next whole minute in Berlin at least ``margin`` seconds away (time to fill in the form)."""
    now = datetime.now(BERLIN)
    minute = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return minute if (minute - now).total_seconds() >= margin else minute + timedelta(minutes=1)


def test_a_digest_builds_itself_at_its_time_with_the_clock_running(eyes, stack, staff, sign_in):
    page = eyes.page
    sign_in(eyes, staff["editor"])

    page.goto("/staff/articles/new")
    page.get_by_label("Titel").first.fill("Chips aus Dresden für den Digest")
    page.get_by_role("button", name="Artikel speichern").click()
    sees(page, "Der Artikel ist gespeichert")

    slot = _coming_minute()
    page.goto("/staff/digests")
    page.get_by_role("link", name="Neuer Digest").click()
    page.get_by_label("Newsletter", exact=True).select_option(label="KI-News täglich")
    page.get_by_label("Betreff", exact=True).fill("KI am Morgen")
    for day in ("Samstag", "Sonntag"):  # weekdays are ticked already; now every day
        page.get_by_role("checkbox", name=day).check()
    page.get_by_label("Uhrzeit (HH:MM)").fill(f"{slot:%H:%M}")
    expect(page.get_by_label("Zeitzone")).to_have_value("Europe/Berlin")
    page.get_by_label("Wenn die Ausgabe erstellt ist").select_option("draft")
    eyes.look("digest-form")
    page.get_by_role("button", name="Digest speichern").click()
    sees(page, "Der Digest ist gespeichert")

    digest = page.locator("[data-digest]").filter(has_text="KI am Morgen")
    runs = digest.locator("tr[data-slot]")
    expect(runs.first).to_contain_text(f"{slot:%d.%m.%Y %H:%M}")
    # The run after it is skipped by the editor and marked so.
    runs.nth(1).get_by_role("button", name="Auslassen").click()
    sees(page, "Der Lauf wird ausgelassen")
    expect(digest.locator("tr[data-slot]").nth(1)).to_contain_text("Von der Redaktion ausgelassen")
    eyes.look("digest-desk")

    # The clock (a separate process) builds the draft at the minute and the worker mails the editors.
    wait = (slot - datetime.now(BERLIN)).total_seconds()
    mail = stack.mail_to(staff["editor"], "Ein Digest-Entwurf wartet: KI am Morgen", timeout=wait + 60)
    text = mail.get_body(("plain",)).get_content()
    link = re.search(r"http://\S+/staff/issues/(\d+)", text)
    assert link and time.time() >= slot.timestamp(), text

    page.goto(link.group(0).removeprefix(stack.base_url))
    expect(page.get_by_label("Betreff", exact=True)).to_have_value(f"KI am Morgen – {slot:%d.%m.%Y}")
    expect(page.locator(".issue-articles li .title").first).to_contain_text(
        "Chips aus Dresden für den Digest"
    )
    page.goto("/staff/digests")
    expect(
        page.locator("[data-digest]").filter(has_text="KI am Morgen").locator("[data-run]").first
    ).to_contain_text("Entwurf erstellt")
