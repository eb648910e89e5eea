"""A known donation history, written as Stripe's events would have left it (the rows the webhook writes):
donors, their donations and payments with refunds, disputes and failures at chosen times."""

from __future__ import annotations

import itertools
import secrets
from datetime import datetime

from payments.models import (
    DisputeStatus,
    Donation,
    DonationKind,
    DonationPayment,
    DonationStatus,
    Donor,
    PaymentStatus,
)

_numbers = itertools.count(1)


def donor(db, email: str, subscriber_id: int | None = None, locale: str = "de") -> Donor:
    person = Donor(email=email, subscriber_id=subscriber_id, locale=locale,
                   stripe_customer_id=f"cus_hist_{next(_numbers)}")  # fmt: skip
    db.session.add(person)
    db.session.flush()
    return person


def donation(db, person: Donor, kind: str, amount: int, created: datetime, status: str, **kw) -> Donation:
    gift = Donation(
        reference=secrets.token_urlsafe(18), donor=person, kind=DonationKind(kind), amount_cents=amount,
        currency="eur", status=DonationStatus(status), locale=person.locale, email=person.email,
        created_at=created, **kw,
    )  # fmt: skip
    db.session.add(gift)
    db.session.flush()
    return gift


def payment(
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
