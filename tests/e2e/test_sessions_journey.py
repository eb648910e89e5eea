"""An editor's sessions, in Chromium: signed in on her laptop (staying signed in) and on her phone, she
ends the phone's session from the laptop's sessions page, and the phone is signed out. A thief who copied
the laptop's remember cookie into another browser is in while the session lives, and out once she signs
out everywhere."""

from __future__ import annotations

from tests.e2e.eyes import sees
from tests.staff.factories import PASSWORD, SAFARI_IPHONE

JOURNEY = "sessions"  # the screenshots' prefix


def _sign_in(page, email: str, *, remember: bool) -> None:
    page.goto("/staff/login")
    page.get_by_label("E-Mail").fill(email)
    page.get_by_label("Passwort").fill(PASSWORD)
    if remember:
        page.get_by_label("Auf diesem Gerät angemeldet bleiben").check()
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url("**/staff/")


def test_editor_ends_a_session_and_then_every_session(eyes, browser, stack, staff):
    laptop = eyes.page
    _sign_in(laptop, staff["editor"], remember=True)
    phone_browser = browser.new_context(base_url=stack.base_url, locale="de-DE", user_agent=SAFARI_IPHONE)
    try:
        phone = phone_browser.new_page()
        _sign_in(phone, staff["editor"], remember=False)
        laptop.get_by_role("link", name="Ihre Sitzungen").click()
        sees(laptop, "Mobile Safari · iOS")
        sees(laptop, "Dieser Browser")
        eyes.look("list")
        phone_row = laptop.locator("tr", has_text="Mobile Safari · iOS")
        phone_row.get_by_role("button", name="Sitzung beenden").click()
        sees(laptop, "Die Sitzung ist beendet")
        phone.goto("/staff/")
        assert "/staff/login" in phone.url, phone.url
    finally:
        phone_browser.close()

    thief_browser = browser.new_context(base_url=stack.base_url, locale="de-DE")
    try:
        stolen = [c for c in laptop.context.cookies() if c["name"] == "remember_token"]
        assert stolen, "the laptop holds no remember cookie"
        thief_browser.add_cookies(stolen)
        thief = thief_browser.new_page()
        thief.goto("/staff/")
        assert "/staff/login" not in thief.url  # while the session lives, its cookie is a key to it
        laptop.goto("/staff/sessions")
        laptop.get_by_role("button", name="Überall abmelden").click()
        sees(laptop, "Sie sind überall abgemeldet.")
        thief.goto("/staff/")
        assert "/staff/login" in thief.url, thief.url
    finally:
        thief_browser.close()
