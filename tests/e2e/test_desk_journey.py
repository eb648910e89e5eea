"""An editor at the desk, in the browser at desktop width: writes an article and sees its Markdown rendered
beside the text as she types (a <script> in it shows as nothing), composes an issue with the newsletters
ticked from the keyboard and the editorial previewed live, adds an article that was already sent (marked,
still offered), and duplicates the issue into a new draft with the same articles."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.eyes import sees

JOURNEY = "desk"  # the screenshots' prefix


def test_editor_sees_the_live_preview_and_duplicates_an_issue(eyes, stack, staff, sign_in):
    page = eyes.page
    sign_in(eyes, staff["editor"])

    page.goto("/staff/articles/new")
    page.get_by_label("Titel").first.fill("Was Sprachmodelle nicht können")
    body = page.locator("textarea#body")
    body.press_sequentially("## Grenzen\n\nEin **kräftiges** Wort.<script>window.pwned=1</script>", delay=5)
    preview = page.locator("#body-live-preview")
    expect(preview.locator("h2")).to_have_text("Grenzen")
    expect(preview.locator("strong")).to_have_text("kräftiges")
    expect(preview.locator("script")).to_have_count(0)
    assert page.evaluate("() => window.pwned") is None
    # Beside the text, not under it, at desktop width.
    text_box, preview_box = body.bounding_box(), preview.bounding_box()
    assert preview_box["x"] > text_box["x"] + text_box["width"] - 1
    eyes.look("article-preview")
    page.get_by_role("button", name="Artikel speichern").click()
    sees(page, "Der Artikel ist gespeichert")

    page.goto("/staff/issues/new")
    page.get_by_label("Betreff", exact=True).fill("Die Woche am Desk")
    page.get_by_label("Editorial (Markdown)", exact=True).fill("Hallo *alle*, heute **zwei** Themen.")
    expect(page.locator("#intro-live-preview strong")).to_have_text("zwei")
    # The newsletters are checkboxes: reached with Tab, ticked with Space.
    default = page.get_by_role("checkbox", name="KI-News täglich")
    expect(default).to_be_checked()
    weekly = page.get_by_role("checkbox", name="Wochenrückblick")
    default.focus()
    for _ in range(page.get_by_role("checkbox").count()):  # other journeys may have added newsletters
        page.keyboard.press("Tab")
        if weekly.evaluate("box => box === document.activeElement"):
            break
    expect(weekly).to_be_focused()
    page.keyboard.press("Space")
    expect(weekly).to_be_checked()
    page.get_by_role("button", name="Ausgabe speichern").click()
    sees(page, "als Entwurf gespeichert")
    original = int(re.search(r"/staff/issues/(\d+)", page.url).group(1))

    # The demo's sent issues carry articles: those are marked where articles are offered, and still added.
    marked = page.locator(".candidates li", has=page.locator("[data-sent-in]")).first
    expect(marked).to_contain_text("gesendet in Ausgabe")
    marked_text = marked.inner_text()
    marked.get_by_role("button", name="Hinzufügen").click()
    page.get_by_label("Titel, Anriss oder Autor durchsuchen").fill("Was Sprachmodelle nicht")
    page.get_by_role("button", name="Suchen").click()
    page.locator(".candidates li", has_text="Was Sprachmodelle nicht können").get_by_role(
        "button", name="Hinzufügen"
    ).click()
    items = page.locator(".issue-articles li .title")
    expect(items).to_have_count(2)
    order = [t.strip() for t in items.all_inner_texts()]
    assert order[0].removesuffix("Anzeige").strip() in marked_text
    assert order[1] == "Was Sprachmodelle nicht können"
    eyes.look("issue-draft")

    page.get_by_role("button", name="Ausgabe duplizieren").click()
    sees(page, f"eine Kopie von Ausgabe {original}")
    assert int(re.search(r"/staff/issues/(\d+)", page.url).group(1)) != original
    expect(page.get_by_label("Betreff", exact=True)).to_have_value("Kopie von Die Woche am Desk")
    expect(page.get_by_role("checkbox", name="Wochenrückblick")).to_be_checked()
    expect(page.locator(".issue-articles li .title")).to_have_text(order)
    expect(page.locator("#intro-live-preview strong")).to_have_text("zwei")  # the copy's editorial
    eyes.look("issue-duplicated")
    page.screenshot(path=str(eyes.artifacts / "desk-duplicated-desktop-1280.png"), full_page=True)
