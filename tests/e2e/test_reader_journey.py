"""A reader, in the browser: subscribes on the home page, confirms from the mail, chooses newsletters and
language, downloads their data, and leaves again: once by the one-click List-Unsubscribe of a received
issue (what a mail client POSTs), once by the link at the end of the mail (a page with a button). The
unsubscribe page names no address and hands out no settings link: its button mails the link to the
reader's address, in the reader's language (English, chosen on the way)."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.e2e.eyes import sees, text
from tests.e2e.journeys import links, list_unsubscribe_url, send_issue_behind_the_scenes

READER = "lea.leserin@example.org"

JOURNEY = "reader"  # the screenshots' prefix


def test_reader_subscribes_confirms_chooses_exports_and_leaves(eyes, stack, e2e_app):
    page = eyes.page
    page.goto("/")
    eyes.look("home")
    page.get_by_label("E-Mail-Adresse").fill(READER)
    page.get_by_label("Wochenrückblick").check()
    page.get_by_role("button", name="Abonnieren").click()
    sees(page, "Fast geschafft")
    eyes.look("subscribed")

    (confirmation,) = stack.mails_to(READER)
    assert "bestätigen" in confirmation["Subject"].lower()
    (confirm_url,) = links(confirmation, stack.base_url, "/confirm/")
    page.goto(confirm_url)
    sees(page, READER)  # the page asks before it confirms: mail scanners open every link
    eyes.look("confirm")
    page.get_by_role("button", name="Ja, Abonnement bestätigen").click()
    sees(page, "Danke – Sie sind angemeldet")
    eyes.look("confirmed", shots=False)

    # The personal settings link comes by mail; no password.
    page.goto("/preferences")
    page.get_by_label("E-Mail-Adresse").fill(READER)
    page.get_by_role("button", name="Link zusenden").click()
    eyes.look("preferences-link", shots=False)
    link_mail = stack.mails_to(READER, count=2)[-1]
    (preferences_url,) = links(link_mail, stack.base_url, "/preferences/")
    page.goto(preferences_url)
    sees(page, READER)
    eyes.look("preferences")
    page.get_by_label("KI im Alltag").check()
    page.get_by_label("Sprache des Newsletters").select_option("en")
    page.get_by_role("button", name="Auswahl speichern").click()
    # From here on the reader's own pages speak English, though the browser asks for German.
    sees(page, "Saved")
    expect(page.get_by_label("KI im Alltag")).to_be_checked()
    assert page.get_by_label("Language of the newsletter").input_value() == "en"
    eyes.look("preferences-saved", shots=False)

    with page.expect_download() as download:
        page.get_by_role("button", name=re.compile("Download|Herunterladen|JSON")).click()
    data = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert READER in json.dumps(data)
    assert download.value.suggested_filename.endswith(".json")

    # Two issues arrive (one per newsletter); the worker process delivers them.
    send_issue_behind_the_scenes(e2e_app, "Wochenrückblick: KI-Woche", "wochenrueckblick")
    send_issue_behind_the_scenes(e2e_app, "KI im Alltag: Ratgeber", "ki-im-alltag")
    issues = stack.mails_to(READER, count=4)[-2:]
    weekly = next(m for m in issues if "KI-Woche" in m["Subject"])
    everyday = next(m for m in issues if "Ratgeber" in m["Subject"])
    assert weekly["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # The mail client's one click: a POST without cookie or token; 2xx, no redirect.
    answer = page.request.post(
        list_unsubscribe_url(weekly), form={"List-Unsubscribe": "One-Click"}, max_redirects=0
    )
    assert 200 <= answer.status < 300
    page.goto(preferences_url)
    expect(page.get_by_label("Wochenrückblick")).not_to_be_checked()
    expect(page.get_by_label("KI im Alltag")).to_be_checked()

    # The footer's "change settings" opens no settings: a forwarded mail must not; it offers to mail a link.
    footer_links = links(everyday, stack.base_url, "/unsubscribe/")
    page.goto(next(u for u in footer_links if u.endswith("/settings")))
    sees(page, "Your settings")
    assert READER not in text(page) and page.locator('a[href*="/preferences/"]').count() == 0
    eyes.look("settings-by-mail")

    # The link at the end of the other mail: a page that asks, then a button.
    footer_url = next(u for u in footer_links if not u.endswith("/settings"))
    page.goto(footer_url)
    eyes.look("unsubscribe")
    page.get_by_role("button", name="Yes, unsubscribe me").click()
    sees(page, "You are unsubscribed")
    assert READER not in text(page) and page.locator('a[href*="/preferences/"]').count() == 0
    eyes.look("unsubscribed")

    # Whoever holds the mail sees no settings here; the button sends them to the reader's own inbox.
    page.get_by_role("button", name="Mail me a link to my settings").click()
    sees(page, "to the address this newsletter came to")
    assert READER not in text(page) and page.locator('a[href*="/preferences/"]').count() == 0
    eyes.look("settings-link-sent", shots=False)
    link_mail = stack.mails_to(READER, count=5)[-1]
    assert link_mail["Subject"] == "Your link to your newsletter settings at KI-Kompass"
    (mailed_url,) = links(link_mail, stack.base_url, "/preferences/")
    page.goto(mailed_url)
    sees(page, READER)
