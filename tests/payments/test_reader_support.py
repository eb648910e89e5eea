"""A donor is the reader with the same address (regardless of case); the preference page shows every
supporter state, the data export holds the donations, and erasure removes what may go."""

from __future__ import annotations

import json
import time

from sqlalchemy import select

from newsletter.readers import links
from payments.models import Donation, DonationPayment, Donor
from tests.payments.factories import donate
from tests.readers.factories import make_reader
from tests.support import stripe_api as s
from tests.support.web import csrf_token, text_of


def _page(app, client, reader) -> str:
    return text_of(client.get(links.preferences_url("", app.config["SECRET_KEY"], reader.id)))


def test_every_supporter_state_on_the_preference_page(app, client, db, stripe_api):
    reader = make_reader(db, "Mara@Example.org")
    db.session.commit()
    assert "Sie haben bisher nicht gespendet" in _page(app, client, reader)  # never

    monthly = donate(client, db, kind="monthly", preset="1000")
    t0 = int(time.time()) - 40 * 86400
    s.post_event(
        client,
        s.event(
            "checkout.session.completed", s.completed_session(monthly, email="mara@example.ORG"), created=t0
        ),
    )
    s.post_event(client, s.event("invoice.paid", s.invoice(monthly, "in_m1", created=t0), created=t0))
    page = _page(app, client, reader)
    assert "Sie unterstützen uns jeden Monat" in page and "/spenden/verwalten/" in page  # monthly

    s.post_event(
        client,
        s.event("invoice.payment_failed", s.invoice(monthly, "in_m2", created=t0 + 30 * 86400, paid=False)),
    )
    page = _page(app, client, reader)
    assert "Ihre letzte monatliche Spende ist nicht durchgegangen" in page  # failing
    assert "/spenden/verwalten/" in page

    s.post_event(
        client,
        s.event(
            "customer.subscription.deleted",
            s.subscription(monthly, status="canceled", reason="payment_failed"),
        ),
    )
    # A monthly donation that ended is "lapsed", although it was paid 40 days ago: asked to come back.
    assert "Sie haben uns schon unterstützt" in _page(app, client, reader)

    # A one-time gift since makes it "one_time".
    once = donate(client, db, preset="1000")
    paid_at = int(time.time()) - 86400
    completed = s.completed_session(once, email="mara@example.org")
    s.post_event(client, s.event("checkout.session.completed", completed, created=paid_at))
    assert "Danke für Ihre Spende in diesem Jahr" in _page(app, client, reader)


def test_the_donor_is_linked_to_the_reader_regardless_of_case(client, db, stripe_api):
    reader = make_reader(db, "Jo@Example.org")
    db.session.commit()
    donation = donate(client, db, preset="1000")
    s.post_event(
        client, s.event("checkout.session.completed", s.completed_session(donation, email="jo@EXAMPLE.org"))
    )
    donor = db.session.scalars(select(Donor)).one()
    assert donor.subscriber_id == reader.id


def test_export_holds_the_donations_and_erasure_removes_name_and_message(app, client, db, stripe_api):
    reader = make_reader(db, "Mara@Example.org")
    db.session.commit()
    donation = donate(client, db, preset="1000", show_publicly="y", public_name="Mara K.",
                      message="Für die KI-Recherche")  # fmt: skip
    s.post_event(
        client, s.event("checkout.session.completed", s.completed_session(donation, email="mara@example.org"))
    )
    path = links.preferences_url("", app.config["SECRET_KEY"], reader.id)
    token = csrf_token(client, path)
    exported = json.loads(client.post(f"{path}/export", data={"csrf_token": token}).get_data())
    (gift,) = exported["donations"]
    assert (gift["amount_cents"], gift["status"], gift["public_name"]) == (1000, "paid", "Mara K.")
    assert gift["payments"][0]["amount_cents"] == 1000
    assert "Mara K." in text_of(client.get("/spenden/unterstuetzer"))

    response = client.post(f"{path}/erase", data={"csrf_token": token, "confirm": "y"})
    assert response.status_code == 200
    db.session.expire_all()
    donation = db.session.get(Donation, donation.id)
    assert donation.public_name is None and donation.message is None
    assert db.session.scalars(select(Donor.subscriber_id)).one() is None
    assert "Mara K." not in text_of(client.get("/spenden/unterstuetzer"))
    # The payment stays: it is a bookkeeping record.
    assert db.session.scalars(select(DonationPayment.amount_cents)).one() == 1000


def test_a_gift_from_an_issues_ask_block_is_attributed_to_the_issue(app, client, db, stripe_api):
    from newsletter.editorial import issues
    from tests.editorial.factories import make_article, make_issue

    article = make_article(db, "KI und Recht", canonical_url="https://example.org/ki-recht")
    issue = make_issue(db, articles=[article], subject="KI-Woche")
    rendered = issues.render_issue(issue, "default", base_url="http://localhost")
    link = next(line for line in rendered.text.splitlines() if "/spenden?" in line).strip()
    path = link[link.index("/spenden?") :]
    page = text_of(client.get(path))
    token = csrf_token(client, path)
    hidden = {
        name: page.split(f'name="{name}" type="hidden" value="')[1].split('"')[0]
        for name in ("issue", "link", "utm_source", "utm_medium")
    }
    form = {"csrf_token": token, "kind": "one_time", "preset": "300", **hidden}
    response = client.post("/spenden", data=form)
    assert response.status_code == 303
    donation = db.session.scalars(select(Donation)).one()
    assert (donation.issue_id, donation.source_link, donation.utm_source) == (issue.id, "ask", "newsletter")


def test_admins_see_donations_and_editors_do_not(client, db, stripe_api):
    from tests.staff.factories import sign_in, staff_user

    donation = donate(client, db, preset="1000")
    paid = s.completed_session(donation, email="x@example.org")
    s.post_event(client, s.event("checkout.session.completed", paid))
    s.post_event(client, s.event("charge.refunded", s.charge(donation, amount_refunded=300)))
    sign_in(client, staff_user(db, "redakteur@example.org"))
    assert client.get("/staff/donations/").status_code == 403
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    chefin = staff_user(db, "chefin@example.org", role="admin")
    other = client.application.test_client()
    sign_in(other, chefin)
    page = text_of(other.get("/staff/donations/"))
    assert "x@example.org" in page and "10,00\xa0€" in page and "3,00\xa0€" in page  # amount, refund
    assert "7,00\xa0€" in page  # received in 30 days, after the refund
