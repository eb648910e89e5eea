"""An editor builds a segment and sends an issue to it, in the browser: adds an English reader who came
from a fair, saves the segment "English readers from the fair" of "KI-News täglich", sees the reader list
filtered by it with its count, composes an issue for the segment, confirms a send that names the segment
and its one reader, and the issue reaches that reader and nobody else."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.eyes import sees
from tests.e2e.journeys import wait_until

JOURNEY = "segment"  # the screenshots' prefix
READER = "messe-leserin@example.org"
SUBJECT = "Nur für die Messe: KI-Kompass"


def test_editor_builds_a_segment_and_sends_an_issue_to_it(eyes, stack, staff, sign_in):
    page = eyes.page
    sign_in(eyes, staff["editor"])

    page.goto("/staff/subscribers/new")
    page.get_by_label("E-Mail-Adresse").fill(READER)
    page.locator("select#locale").select_option("en")
    page.get_by_role("checkbox", name="KI-News täglich").check()
    page.get_by_label("Quelle").fill("e2e-messe")
    page.get_by_label(re.compile("anderswo dokumentiert")).check()
    page.get_by_label(re.compile("Wo und wann")).fill("Messestand, Liste vom 3. März")
    page.get_by_role("button", name="Leser*in hinzufügen").click()
    sees(page, "ist hinzugefügt und aktiv")

    page.get_by_role("link", name="Segmente").click()
    page.get_by_role("link", name="Neues Segment").click()
    page.get_by_label("Name").fill("Englisch von der Messe")
    page.get_by_label("Newsletter").select_option(label="KI-News täglich")
    page.locator("select#locale").select_option("en")
    page.get_by_label("Quelle").select_option("e2e-messe")
    eyes.look("segment-form")
    page.get_by_role("button", name="Segment speichern").click()
    sees(page, "Das Segment „Englisch von der Messe“ ist gespeichert: 1 aktive Leser*innen.")
    expect(page.locator("[data-count]")).to_have_attribute("data-count", "1")

    page.get_by_role("link", name="Leser*innen zeigen").click()
    expect(page.locator("[data-total]")).to_have_attribute("data-total", "1")
    expect(page.get_by_role("link", name=READER)).to_be_visible()
    eyes.look("readers-of-segment")

    page.goto("/staff/issues/new")
    page.get_by_label("Betreff", exact=True).fill(SUBJECT)
    page.get_by_label("Betreff auf Englisch").fill(SUBJECT + " (EN)")
    page.get_by_role("checkbox", name="KI-News täglich").check()
    segment = "KI-News täglich: Englisch von der Messe"
    page.get_by_label("Leser*innen", exact=True).select_option(label=segment)
    page.get_by_role("button", name="Ausgabe speichern").click()
    sees(page, "als Entwurf gespeichert")
    # Any article will do: the demo's newsroom has some.
    page.locator(".candidates li").first.get_by_role("button", name="Hinzufügen").click()
    expect(page.locator(".issue-articles li")).to_have_count(1)
    sees(page, "an die Leser*innen des Segments „Englisch von der Messe“ senden")

    page.get_by_role("link", name="Jetzt senden …").click()
    sees(page, "Diese Ausgabe geht an 1 Leser*in des Segments „Englisch von der Messe“ aus: KI-News täglich.")
    expect(page.locator("[data-segment]")).to_have_attribute("data-segment", "Englisch von der Messe")
    eyes.look("send-confirm")
    page.get_by_role("button", name="Jetzt an 1 Leser*in senden").click()
    sees(page, "hat begonnen")
    expect(page.locator(".badge.state-sent")).to_be_visible(timeout=60_000)
    sent_to = page.locator("[data-sent-segment]")
    expect(sent_to).to_have_attribute("data-sent-segment", "Englisch von der Messe")
    eyes.look("sent")

    (mail,) = stack.mails_to(READER)
    assert mail["Subject"] == SUBJECT + " (EN)"

    def others() -> list[str]:
        return [r.rcpt_tos for r in list(stack.smtp.received) if SUBJECT in (r.message["Subject"] or "")]

    assert wait_until(lambda: len(others()) >= 1)
    assert others() == [[READER]]  # the segment's one reader, nobody else
