"""A reader shares, in the browser: finds their own link in their settings, a friend opens it, signs up on
the form it shows and confirms from the mail; the reader's settings then count the friend. Before the
friend confirms, nothing is counted (double opt-in)."""

from __future__ import annotations

from tests.e2e.eyes import sees
from tests.e2e.journeys import links

SHARER = "sina.teilerin@example.org"
FRIEND = "fritz.freund@example.org"

JOURNEY = "sharing"  # the screenshots' prefix


def _active_reader(app, email: str) -> None:
    from db import db
    from newsletter.readers.models import Newsletter, Subscriber, SubscriberStatus, Subscription

    with app.app_context():
        reader = Subscriber(email=email, status=SubscriberStatus.ACTIVE)
        db.session.add(reader)
        db.session.flush()
        newsletter = db.session.query(Newsletter).filter_by(is_default=True).first()
        db.session.add(Subscription(subscriber_id=reader.id, newsletter_id=newsletter.id))
        db.session.commit()
        db.session.remove()


def test_a_share_link_brings_a_reader_the_sharer_then_sees(eyes, stack, e2e_app):
    _active_reader(e2e_app, SHARER)
    page = eyes.page
    page.goto("/preferences")
    page.get_by_label("E-Mail-Adresse").fill(SHARER)
    page.get_by_role("button", name="Link zusenden").click()
    (link_mail,) = stack.mails_to(SHARER)
    (preferences_url,) = links(link_mail, stack.base_url, "/preferences/")
    page.goto(preferences_url)
    sees(page, "Weiterempfehlen")
    sees(page, "Über Ihren Link ist noch niemand dazugekommen.")
    share_url = page.get_by_label("Ihr Empfehlungslink").input_value()
    assert share_url.startswith(f"{stack.base_url}/share/") and "sina" not in share_url
    eyes.look("preferences-share")

    # The friend opens the link (no cookie of the sharer's: another browser would do the same).
    page.context.clear_cookies()
    page.goto(share_url)
    sees(page, "Ein*e Leser*in von uns empfiehlt Ihnen diesen Newsletter.")
    eyes.look("share-link")
    page.get_by_label("E-Mail-Adresse").fill(FRIEND)
    page.get_by_role("button", name="Abonnieren").click()
    sees(page, "Fast geschafft")

    # Not yet confirmed: not yet counted.
    page.goto(preferences_url)
    sees(page, "Über Ihren Link ist noch niemand dazugekommen.")

    (confirmation,) = stack.mails_to(FRIEND)
    (confirm_url,) = links(confirmation, stack.base_url, "/confirm/")
    page.goto(confirm_url)
    page.get_by_role("button", name="Ja, Abonnement bestätigen").click()
    sees(page, "Danke – Sie sind angemeldet")

    page.goto(preferences_url)
    sees(page, "1 Leser*in kam über Sie zu uns. Danke!")
    eyes.look("preferences-counted", shots=False)
