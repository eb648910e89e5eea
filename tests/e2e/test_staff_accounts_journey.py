"""A new staff member joins, in the browser: the admin invites her from the staff page, the invitation
arrives by mail, she opens its link, chooses her name and a password, sets up two-factor sign-in with the
QR code's key (the test computes the app's codes with pyotp, as her phone would), notes her recovery
codes, signs out and signs in again with password and code, on a phone. A used code is refused."""

from __future__ import annotations

import re
import time

import pyotp
from playwright.sync_api import expect

from tests.e2e.eyes import PHONE, sees, text
from tests.e2e.journeys import links

JOURNEY = "staff-accounts"  # the screenshots' prefix
NEWCOMER = "nina.neu@example.org"
PASSWORD = "Ninas eigenes langes Passwort"


def test_admin_invites_a_member_who_joins_with_two_factor_sign_in(eyes, stack, staff, sign_in):
    page = eyes.page
    sign_in(eyes, staff["admin"])
    page.locator(".staff-nav").get_by_role("link", name="Team").click()
    sees(page, "Neues Teammitglied einladen")
    invite = page.locator("form", has=page.get_by_role("button", name="Einladung senden"))
    invite.get_by_label("E-Mail-Adresse").fill(NEWCOMER)
    invite.get_by_label("Rolle").select_option("editor")
    invite.get_by_role("button", name="Einladung senden").click()
    sees(page, f"Die Einladung an {NEWCOMER} ist unterwegs")
    expect(page.locator("table", has_text="Offene Einladungen")).to_contain_text(NEWCOMER)
    eyes.look("team")
    page.get_by_role("button", name="Abmelden").click()

    (invitation,) = stack.mails_to(NEWCOMER)
    assert invitation["Subject"] == "Ihre Einladung in die Redaktion von KI-Kompass"
    (invitation_url,) = links(invitation, stack.base_url, "/staff/invitation/")
    page.goto(invitation_url)
    sees(page, NEWCOMER)
    eyes.look("join")
    page.get_by_label("Ihr Name", exact=True).fill("Nina Neu")
    page.get_by_label("Neues Passwort", exact=True).fill(PASSWORD)
    page.get_by_label("Das neue Passwort noch einmal", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Mein Konto anlegen").click()

    sees(page, "Willkommen, Nina Neu")
    expect(page.get_by_role("img", name="QR-Code für Ihre Authenticator-App")).to_be_visible()
    eyes.look("two-factor-setup")
    totp = pyotp.TOTP(page.locator(".totp-secret").inner_text().replace(" ", ""))
    if 30 - time.time() % 30 < 3:  # the code about to change: type the next one, as a person would
        time.sleep(3.1)
    used_at_setup = totp.now()
    page.get_by_label("Der Code, den die App jetzt zeigt").fill(used_at_setup)
    page.get_by_role("button", name="Zwei-Faktor-Anmeldung einschalten").click()
    sees(page, "Die Zwei-Faktor-Anmeldung ist an.")
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    eyes.look("recovery-codes")
    page.get_by_role("link", name="Ich habe sie notiert – weiter").click()
    sees(page, "An seit")
    eyes.look("account", shots=False)
    page.get_by_role("button", name="Abmelden").click()

    # Again, on her phone: the password, then the app's code.
    page.set_viewport_size(PHONE)
    page.goto("/staff/login")
    page.get_by_label("E-Mail-Adresse").fill(NEWCOMER)
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url("**/staff/login/code")
    assert page.request.get("/staff/", max_redirects=0).status == 302  # the password alone opens nothing
    assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    page.get_by_label("Code", exact=True).fill(used_at_setup)  # the code she typed a moment ago: refused
    page.get_by_role("button", name="Bestätigen").click()
    # "used already" while it is inside the server's window of three steps; on a machine slow enough to
    # take a minute since the set-up, "not right": refused either way.
    sees(page, re.compile("Dieser Code wurde schon verwendet|Dieser Code stimmt nicht"))
    assert page.url.endswith("/staff/login/code")
    eyes.look("code")
    page.set_viewport_size(PHONE)
    # The app's next code (the server accepts one step of clock drift either way).
    page.get_by_label("Code", exact=True).fill(totp.at(time.time() + 30))
    page.get_by_role("button", name="Bestätigen").click()
    page.wait_for_url("**/staff/")
    assert NEWCOMER in text(page)
    eyes.look("signed-in", shots=False)
