"""A newsroom's welcome mail, in the browser: an editor writes the welcome of "KI im Alltag" (subject,
intro in Markdown with a script that must not survive, the latest issue below), previews it; then a new
reader subscribes to that newsletter on the home page, confirms from the mail and finds the welcome in
their mailbox once, in German, with the one-click unsubscribe header and footer. The editor turns the
welcome off again at the end, so the other journeys find the stack as before."""

from __future__ import annotations

from tests.e2e.eyes import sees
from tests.e2e.journeys import links, list_unsubscribe_url, plain_text, wait_until

READER = "wanda.willkommen@example.org"

JOURNEY = "welcome"  # the screenshots' prefix


def _open_welcome(page) -> None:
    page.goto("/staff/newsletters")
    page.get_by_role("link", name="KI im Alltag").click()
    page.get_by_role("link", name="Willkommensmail").click()
    sees(page, "Willkommensmail: KI im Alltag")


def test_a_new_reader_confirms_and_gets_the_welcome_mail(eyes, stack, staff, sign_in):
    page = eyes.page
    sign_in(eyes, staff["editor"])
    _open_welcome(page)
    page.get_by_label("Allen neuen Leser*innen dieses Newsletters eine Willkommensmail schicken").check()
    page.get_by_label("Betreff", exact=True).fill("Willkommen bei KI im Alltag")
    page.get_by_label("Einleitung (Markdown)", exact=True).fill(
        "Schön, dass Sie **dabei** sind.<script>window.pwned=1</script>"
    )
    page.get_by_label("Die neueste Ausgabe des Newsletters").check()
    eyes.look("edit")
    page.get_by_role("button", name="Willkommensmail speichern").click()
    sees(page, "Die Willkommensmail von „KI im Alltag“ ist gespeichert.")
    page.get_by_role("link", name="Vorschau und Testversand").click()
    sees(page, "Willkommen bei KI im Alltag")
    eyes.look("preview")
    page.context.clear_cookies()  # the reader's browser from here on

    page.goto("/")
    page.get_by_label("E-Mail-Adresse").fill(READER)
    page.get_by_label("KI im Alltag").check()
    page.get_by_role("button", name="Abonnieren").click()
    sees(page, "Fast geschafft")
    (confirmation,) = stack.mails_to(READER)
    (confirm_url,) = links(confirmation, stack.base_url, "/confirm/")
    page.goto(confirm_url)
    page.get_by_role("button", name="Ja, Abonnement bestätigen").click()
    sees(page, "Danke – Sie sind angemeldet")
    page.goto(confirm_url)  # the link clicked again: still one welcome
    page.get_by_role("button", name="Ja, Abonnement bestätigen").click()

    mails = stack.mails_to(READER, count=2)
    welcome = mails[1]
    assert welcome["Subject"] == "Willkommen bei KI im Alltag"
    text = plain_text(welcome)
    assert "Schön, dass Sie dabei sind." in text and "pwned" not in text
    assert "Abmelden" in text
    html = welcome.get_body(preferencelist=("html",)).get_content()
    assert "<strong>dabei</strong>" in html and "<script" not in html
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert list_unsubscribe_url(welcome).startswith(stack.base_url + "/unsubscribe/")
    sign_in(eyes, staff["editor"])
    _open_welcome(page)
    # One welcome, though the link was clicked twice (the row is marked sent just after the relay took it).
    assert wait_until(lambda: page.reload() or "Gesendet: 1 ·" in page.inner_text(".welcome-figures"))
    page.get_by_label("Allen neuen Leser*innen dieses Newsletters eine Willkommensmail schicken").uncheck()
    page.get_by_role("button", name="Willkommensmail speichern").click()
    sees(page, "ist gespeichert")
