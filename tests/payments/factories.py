"""Donations for the tests.

``make_donor``, ``make_donation`` and ``make_payment`` write a known history as Stripe's events would have
left it (the rows the webhook writes): donors, their donations and payments with refunds, disputes and
failures at chosen times; they only flush. ``open_donation`` starts a donation as the donate page does
before Checkout (commits); ``donate`` goes through the donate page itself, against the Stripe stand-in."""

from __future__ import annotations

import itertools
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from payments.checkout import donations
from payments.models import (
    DisputeStatus,
    Donation,
    DonationKind,
    DonationPayment,
    DonationStatus,
    Donor,
    PaymentStatus,
)
from tests.support.web import csrf_token

_numbers = itertools.count(1)


def make_donor(db, email: str, subscriber_id: int | None = None, locale: str = "de") -> Donor:
    person = Donor(email=email, subscriber_id=subscriber_id, locale=locale,
                   stripe_customer_id=f"cus_hist_{next(_numbers)}")  # fmt: skip
    db.session.add(person)
    db.session.flush()
    return person


def make_donation(
    db, person: Donor, kind: str, amount: int, created: datetime, status: str, **kw
) -> Donation:
    gift = Donation(
        reference=secrets.token_urlsafe(18), donor=person, kind=DonationKind(kind), amount_cents=amount,
        currency="eur", status=DonationStatus(status), locale=person.locale, email=person.email,
        created_at=created, **kw,
    )  # fmt: skip
    db.session.add(gift)
    db.session.flush()
    return gift


def make_payment(
    db, gift: Donation, amount: int, when: datetime, *, status: str = "paid", refunded: int = 0,
    dispute: str | None = None, failures: int = 0,
) -> DonationPayment:  # fmt: skip
    n = next(_numbers)
    paid = status in ("paid", "refunded")
    row = DonationPayment(
        donation=gift, amount_cents=amount, currency="eur", status=PaymentStatus(status),
        paid_at=when if paid else None, stripe_created=int(when.timestamp()), created_at=when,
        stripe_payment_intent_id=f"pi_hist_{n}", refunded_cents=refunded,
        dispute_status=DisputeStatus(dispute) if dispute else None, failure_count=failures,
    )  # fmt: skip
    db.session.add(row)
    db.session.flush()
    return row


def open_donation(
    db, kind: DonationKind, amount: int = 500, *, currency: str = "eur", email: str | None = None
) -> Donation:
    """A donation as the donate page starts it, before Checkout: open, in German, without attribution."""
    gift = donations.start_donation(
        db.session, kind=kind, amount_cents=amount, currency=currency, locale="de", email=email, message=None,
        public_name=None, attribution=donations.Attribution(),
    )  # fmt: skip
    db.session.commit()
    return gift


def donate(
    client, db, kind: str = "one_time", preset: str = "500", *, lang: str = "de", **fields
) -> Donation:
    """The donate form filled and sent as a reader does (the answer is the redirect to Checkout); the
    donation it started. ``fields``: more of the form, e.g. ``message`` or ``public_name``."""
    token = csrf_token(client, f"/spenden?lang={lang}")
    response = client.post("/spenden", data={"csrf_token": token, "kind": kind, "preset": preset, **fields})
    assert response.status_code == 303
    return db.session.scalars(select(Donation).order_by(Donation.id.desc())).first()


def make_supporter(db, email: str, state: str, now: datetime) -> Donor | None:
    """A donor whose history puts the reader with ``email`` in supporter ``state`` at ``now``: ``never``
    (no donor at all), ``one_time`` (gave 30 days ago), ``monthly`` (running, paid 10 days ago),
    ``lapsed`` (gave once two years ago) or ``failing`` (running, the latest payment failed)."""
    if state == "never":
        return None
    person = make_donor(db, email)
    if state in ("one_time", "lapsed"):
        when = now - timedelta(days=30 if state == "one_time" else 730)
        make_payment(db, make_donation(db, person, "one_time", 500, when, "paid"), 500, when)
    else:
        gift = make_donation(db, person, "monthly", 500, now - timedelta(days=40), "active",
                             subscription_status="active")  # fmt: skip
        make_payment(db, gift, 500, now - timedelta(days=40))
        if state == "monthly":
            make_payment(db, gift, 500, now - timedelta(days=10))
        else:
            make_payment(db, gift, 500, now - timedelta(days=10), status="failed", failures=1)
    return person
