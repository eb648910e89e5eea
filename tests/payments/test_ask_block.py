"""The ask block of an issue follows each reader's supporter state, chosen at send time as a variant of
the issue's skeleton: thanks and no ask for monthly supporters, an invitation to go monthly after a
one-time gift, a private "check your payment details" when a payment fails, nothing for readers who asked
never to be asked, a "you supported us before" when support lapsed, the first ask for readers who never
gave. Checked in the messages the relay receives."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select

from db import utcnow
from newsletter.editorial.models import Issue
from newsletter.readers.models import AskFrequency, Subscriber
from newsletter.sending.models import Delivery
from payments.models import DonationKind
from tests.payments.factories import donate, make_donation, make_donor, make_payment, open_donation
from tests.readers.factories import make_reader
from tests.sending.factories import issue_with_readers, start_send
from tests.support import stripe_api as s
from tests.support.worker import run_jobs


def _give(client, db, email: str, kind: DonationKind, *, fail_renewal: bool = False):
    donation = open_donation(db, kind, 500, email=email)
    customer = f"cus_{donation.id}"
    t0 = int(time.time()) - 20 * 86400
    paid = s.completed_session(donation, email=email, customer=customer)
    assert s.post_event(client, s.event("checkout.session.completed", paid, created=t0)).status_code == 200
    if kind is DonationKind.MONTHLY:
        first = s.invoice(donation, f"in_{donation.id}_1", created=t0, customer=customer)
        s.post_event(client, s.event("invoice.paid", first, created=t0))
    if fail_renewal:
        t1 = t0 + 10 * 86400
        second = s.invoice(donation, f"in_{donation.id}_2", created=t1, paid=False, customer=customer)
        s.post_event(client, s.event("invoice.payment_failed", second))


def _give_yearly(client, db, stripe_api, email: str) -> None:
    """A yearly gift as a reader makes it: the donate form, the stand-in's Checkout, Stripe's events."""
    donation = donate(client, db, "yearly")
    for evt in stripe_api.world.complete_session(donation.stripe_session_id, email=email):
        assert s.post_event(client, evt).status_code == 200


def test_each_reader_gets_the_ask_that_fits(app, client, db, stripe_api, relay):
    issue = issue_with_readers(db, readers=())
    news = issue.newsletters[0]
    readers = {
        "plain": "plain@example.org",
        "monthly": "monthly@example.org",
        "failing": "failing@example.org",
        "once": "once@example.org",
        "quiet": "quiet@example.org",
        "lapsed": "lapsed@example.org",
    }
    for key, email in readers.items():
        frequency = AskFrequency.NEVER if key == "quiet" else AskFrequency.NORMAL
        address = email.upper() if key == "once" else email
        make_reader(db, address, ask_frequency=frequency, newsletters=[news])
    db.session.commit()
    _give(client, db, "monthly@example.org", DonationKind.MONTHLY)
    _give(client, db, "failing@example.org", DonationKind.MONTHLY, fail_renewal=True)
    _give(client, db, "once@example.org", DonationKind.ONE_TIME)
    run_jobs(app)  # the receipts and the card reminder
    before = len(relay.wait_for(4))
    assert before == 4
    # Gave once, two years ago: lapsed (written as the webhook would have left it).
    long_ago = utcnow() - timedelta(days=730)
    gift = make_donation(db, make_donor(db, "lapsed@example.org"), "one_time", 500, long_ago, "paid")
    make_payment(db, gift, 500, long_ago)
    db.session.commit()

    start_send(db, db.session.get(Issue, issue.id))  # queued; nothing runs before run_jobs below
    variants = dict(db.session.execute(
        select(Subscriber.email, Delivery.variant).join(Delivery, Delivery.subscriber_id == Subscriber.id)
    ).all())  # fmt: skip
    assert variants == {
        "plain@example.org": "never_gave", "monthly@example.org": "monthly", "failing@example.org": "failing",
        "ONCE@EXAMPLE.ORG": "one_time", "quiet@example.org": "no_ask", "lapsed@example.org": "lapsed",
    }  # fmt: skip
    run_jobs(app)
    issue_mails = {m["To"].lower(): m.get_body(("plain",)).get_content()
                   for m in relay.wait_for(before + 6)[before:]}  # fmt: skip
    assert len(issue_mails) == 6
    lapsed = issue_mails["lapsed@example.org"]
    assert "Sie haben uns schon einmal unterstützt" in lapsed and "/spenden?issue=" in lapsed
    assert "Unser Journalismus bleibt frei" in issue_mails["plain@example.org"]
    assert "/spenden?issue=" in issue_mails["plain@example.org"]
    monthly = issue_mails["monthly@example.org"]
    assert "Danke, dass Sie uns regelmäßig unterstützen" in monthly and "/spenden?" not in monthly
    failing = issue_mails["failing@example.org"]
    assert "Ihr letzter Beitrag hat nicht geklappt" in failing
    # To the reader's settings by way of a mailed link: a forwarded issue opens nobody's payment details.
    assert "/settings#support" in failing and "/preferences/" not in failing and "/spenden?" not in failing
    once = issue_mails["once@example.org"]
    assert "Danke für Ihre Spende" in once and "kind=monthly" in once
    quiet = issue_mails["quiet@example.org"]
    assert "/spenden" not in quiet and "Unser Journalismus bleibt frei" not in quiet


def test_the_goal_block_shows_running_regular_supporters_only_when_the_editor_asks(
    app, client, db, stripe_api, monkeypatch
):
    """An issue can carry the "N of GOAL regular supporters" counter under its ask; it counts running
    monthly and yearly donations when the issue is rendered, and stays away without a goal or without
    Stripe."""
    from newsletter.editorial import issues

    issue = issue_with_readers(db, readers=())
    _give(client, db, "monthly@example.org", DonationKind.MONTHLY)
    _give_yearly(client, db, stripe_api, "yearly@example.org")  # supports us regularly too
    _give(client, db, "once@example.org", DonationKind.ONE_TIME)  # a one-time gift does not count
    monkeypatch.setitem(app.config, "DONATION_GOAL_MONTHLY", 600)
    counter = "2 von 600 regelmäßigen Unterstützer*innen"

    def text(variant: str = "default") -> str:
        db.session.expire_all()
        return issues.render_issue(db.session.get(Issue, issue.id), variant, base_url="http://localhost").text

    assert counter not in text()  # the editor has not asked for it
    issue = db.session.get(Issue, issue.id)
    issue.show_goal = True
    db.session.commit()
    rendered = issues.render_issue(issue, "default", base_url="http://localhost")
    assert counter in rendered.text and counter in rendered.html
    assert counter in text("one_time")
    assert counter not in text("no_ask")  # readers who asked never to be asked see no counter either
    monkeypatch.setitem(app.config, "DONATION_GOAL_MONTHLY", 0)
    assert "regelmäßigen Unterstützer*innen" not in text()
    monkeypatch.setitem(app.config, "DONATION_GOAL_MONTHLY", 600)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "")
    assert "regelmäßigen Unterstützer*innen" not in text()
