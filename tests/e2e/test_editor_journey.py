"""An editor, in the browser: signs in, imports a feed (served on loopback, which only a test may allow),
composes an issue from its articles, previews it at phone width, sends a test to themself, schedules it,
takes it back, confirms the number of readers and sends it to them, watches the progress reach 100 % and
finds it in the archive."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from playwright.sync_api import expect

from tests.e2e.eyes import PHONE, sees, text
from tests.e2e.journeys import list_unsubscribe_url, wait_until
from tests.support.feedserver import Route, rss, rss_item

SUBJECT = "KI-Kompass am Morgen: Chips und Agenten"

JOURNEY = "editor"  # the screenshots' prefix


def test_editor_imports_composes_previews_tests_schedules_sends_and_archives(eyes, stack, staff, sign_in):
    page = eyes.page
    stack.feeds.routes["/ki.rss"] = Route(
        body=rss(
            rss_item("e2e-1", "Chips aus Europa: die neue Fabrik in Sachsen", "Die EU fördert Fabriken."),
            rss_item("e2e-2", "Agenten im Büro", "Was Software-Agenten heute <b>wirklich</b> können."),
        )
    )
    sign_in(eyes, staff["editor"])
    eyes.look("dashboard", shots=False)

    page.goto("/staff/feeds")
    page.get_by_label("Feed-Adresse").fill(stack.feeds.url("/ki.rss"))
    page.get_by_role("button", name="Feed hinzufügen und importieren").click()

    def imported():
        page.goto("/staff/feeds")
        return "2 neu" in text(page)

    assert wait_until(imported, timeout=30), text(page) + stack.logs()
    eyes.look("feeds")

    page.goto("/staff/issues/new")
    page.get_by_label("Betreff", exact=True).fill(SUBJECT)
    page.get_by_label("Vorschauzeile (Preheader)", exact=True).fill("Was heute in der KI zählt")
    page.get_by_label("Editorial (Markdown)", exact=True).fill("Guten Morgen! Zwei Geschichten aus dem Feed.")
    page.get_by_role("checkbox", name="KI-News täglich").check()
    page.get_by_label("Name des Absenders").fill("KI-Kompass Redaktion")
    page.get_by_label("Adresse des Absenders").fill("redaktion@ki-kompass.example")
    page.get_by_role("button", name="Ausgabe speichern").click()
    sees(page, "als Entwurf gespeichert")
    issue_url = page.url
    issue_id = int(re.search(r"/staff/issues/(\d+)", issue_url).group(1))

    for title in ("Chips aus Europa", "Agenten im Büro"):
        page.get_by_label("Titel, Anriss oder Autor durchsuchen").fill(title)
        page.get_by_role("button", name="Suchen").click()
        page.locator(".candidates li", has_text=title).get_by_role("button", name="Hinzufügen").click()
        expect(page.locator(".issue-articles li", has_text=title)).to_have_count(1)
    eyes.look("issue")

    page.get_by_role("link", name="Vorschau und Test").click()
    frame = page.frame_locator(".frame-mobile iframe")
    expect(frame.get_by_text("Chips aus Europa").first).to_be_visible()
    assert "<b>" not in page.locator(".mail-text").inner_text()
    eyes.look("preview")
    page.set_viewport_size(PHONE)
    page.screenshot(path=str(eyes.artifacts / "editor-preview-phone-390.png"), full_page=True)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"] + 1
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Test senden").click()  # to the editor: her own address is ticked
    test_mail = stack.mail_to(staff["editor"], SUBJECT)
    # A reader's copy, marked as a test: its one-click link answers a mail client and changes nothing.
    assert test_mail["X-Beitrag-Test"] == "1" and test_mail["List-Unsubscribe-Post"]
    one_click = list_unsubscribe_url(test_mail)
    answer = page.request.post(one_click, form={"List-Unsubscribe": "One-Click"}, max_redirects=0)
    assert 200 <= answer.status < 300
    page.goto(one_click)
    sees(page, "Das war ein Test-Link")

    page.goto(issue_url)
    tomorrow = (datetime.now() + timedelta(days=1)).replace(hour=7, minute=0)
    page.get_by_label("Senden am").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="Planen …", exact=True).click()
    sees(page, "Ausgabe planen?")  # the same confirmation, with the time
    page.get_by_role("button", name="Versand planen").click()
    sees(page, "Geplant für")
    eyes.look("scheduled", shots=False)
    page.get_by_role("button", name="Zeitplan aufheben").click()

    # Send opens the confirmation: the newsletters and the number of readers; only its button sends.
    page.get_by_role("link", name="Jetzt senden …").click()
    sees(page, "Diese Ausgabe geht an")
    confirmed = int(page.locator("[data-recipients]").get_attribute("data-recipients"))
    assert confirmed > 0
    expect(page.locator("[data-warning]")).to_have_count(0)  # tested, donations set up, not clipped
    eyes.look("send-confirm")
    page.get_by_role("button", name=re.compile(r"^Jetzt an .* senden$")).click()
    sees(page, "hat begonnen")
    # The page polls the ledger and reloads itself when the send is done; the editor just watches.
    expect(page.locator(".badge.state-sent")).to_be_visible(timeout=60_000)
    expect(page.locator("[data-percent]")).to_have_text("100")
    expect(page.locator("[data-percent-bar]")).to_have_attribute("value", "100")
    eyes.look("sent")
    total = int(page.locator('[data-count="total"]').inner_text().replace(".", ""))
    assert total == confirmed  # the readers the confirmation named are the readers the send wrote
    assert wait_until(
        lambda: len([r for r in stack.smtp.received if SUBJECT in r.message["Subject"]]) >= total + 1
    )

    page.goto("/archive")
    page.get_by_role("link", name=SUBJECT).click()
    page.wait_for_url(f"**/archive/{issue_id}")
    sees(page, "Agenten im Büro")
    eyes.look("archive")
