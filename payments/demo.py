"""Demo donations: 18 months of history for the demo readers, as Stripe's events would have left it.

About one active reader in twelve gives: most once or a few times, some monthly. Monthly donations start
over the 18 months, some end (cancelled by the donor, or after failed payments), a few are failing right
now; some gifts were refunded (in part or in full) and a few disputed. Deterministic for a seed.
``newsletter.demo`` runs it through the demo loader ``app.py`` registers.
"""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from newsletter import api as newsletter_api
from payments.models import (
    DisputeStatus,
    Donation,
    DonationKind,
    DonationPayment,
    DonationStatus,
    Donor,
    PaymentStatus,
)

HISTORY_DAYS = 548  # 18 months
AMOUNTS = (300, 500, 500, 1000, 1000, 1000, 1500, 2000, 2500, 5000)
MONTHLY_AMOUNTS = (300, 500, 500, 500, 1000, 1000, 2000)
PUBLIC_NAMES = ("Anna K.", "Jonas", "Familie Weber", "M. Schulz", "Lea & Tom", "Dr. Yilmaz", "Frieda")


def _payment(donation: Donation, amount: int, paid_at: datetime, n: int, **kw) -> DonationPayment:
    return DonationPayment(
        donation=donation, amount_cents=amount, currency="eur", status=kw.pop("status", PaymentStatus.PAID),
        paid_at=paid_at if kw.get("paid", True) else None, stripe_created=int(paid_at.timestamp()),
        stripe_invoice_id=kw.pop("invoice", None), stripe_payment_intent_id=f"pi_demo_{donation.id}_{n}",
        refunded_cents=kw.pop("refunded", 0), dispute_status=kw.pop("dispute", None),
        failure_count=kw.pop("failures", 0),
    )  # fmt: skip


def _donation(donor: Donor, kind: DonationKind, amount: int, created: datetime, rng: random.Random,
              issue_ids: list[int]) -> Donation:  # fmt: skip
    return Donation(
        reference=secrets.token_urlsafe(18), donor=donor, kind=kind, amount_cents=amount, currency="eur",
        status=DonationStatus.OPEN, locale=donor.locale, email=donor.email, created_at=created,
        public_name=rng.choice(PUBLIC_NAMES) if rng.random() < 0.15 else None,
        issue_id=rng.choice(issue_ids) if issue_ids and rng.random() < 0.5 else None,
        source_link="ask" if rng.random() < 0.5 else None,
        utm_source=rng.choice(("newsletter", "website", "social", None)), stripe_session_id=None,
    )  # fmt: skip


def load_demo_donations(session: Session, *, seed: int, now: datetime) -> int:
    """Donors, donations and payments for the demo readers; returns the number of donations."""
    rng = random.Random(seed + 6)
    readers = newsletter_api.demo_readers(session)  # (id, email, locale) of active readers
    issue_ids = newsletter_api.sent_issue_ids(session)
    count = 0
    for n, (subscriber_id, email, locale) in enumerate(readers):
        if rng.random() >= 1 / 12:
            continue
        donor = Donor(email=email, subscriber_id=subscriber_id, locale=locale)
        donor.stripe_customer_id = f"cus_demo_{n}"
        session.add(donor)
        monthly = rng.random() < 0.35
        gifts = 1 if monthly else rng.choice((1, 1, 1, 2, 2, 3))
        for _ in range(gifts):
            start = now - timedelta(days=rng.randrange(HISTORY_DAYS), hours=rng.randrange(24))
            if monthly:
                _monthly(session, donor, start, now, rng, issue_ids)
            else:
                _one_time(session, donor, start, rng, issue_ids)
            count += 1
    session.flush()
    return count


def _one_time(session, donor, when, rng, issue_ids) -> None:
    donation = _donation(donor, DonationKind.ONE_TIME, rng.choice(AMOUNTS), when, rng, issue_ids)
    session.add(donation)
    session.flush()
    donation.stripe_payment_intent_id = f"pi_demo_{donation.id}_0"
    roll = rng.random()
    if roll < 0.03:  # a SEPA debit that failed
        donation.status = DonationStatus.FAILED
        failed = _payment(donation, donation.amount_cents, when, 0, status=PaymentStatus.FAILED, paid=False)
        session.add(failed)
        return
    donation.status, donation.paid_at = DonationStatus.PAID, when
    refunded = 0
    status = PaymentStatus.PAID
    if roll < 0.06:
        refunded, status = donation.amount_cents, PaymentStatus.REFUNDED
        donation.status = DonationStatus.REFUNDED
    elif roll < 0.08:
        refunded = donation.amount_cents // 2
    dispute = None
    if rng.random() < 0.01:
        dispute = rng.choice((DisputeStatus.WON, DisputeStatus.LOST, DisputeStatus.OPEN))
    amount = donation.amount_cents
    payment = _payment(donation, amount, when, 0, status=status, refunded=refunded, dispute=dispute)
    session.add(payment)


def _monthly(session, donor, start, now, rng, issue_ids) -> None:
    donation = _donation(donor, DonationKind.MONTHLY, rng.choice(MONTHLY_AMOUNTS), start, rng, issue_ids)
    session.add(donation)
    session.flush()
    donation.stripe_subscription_id = f"sub_demo_{donation.id}"
    donation.status, donation.paid_at = DonationStatus.ACTIVE, start
    donation.subscription_status, donation.subscription_status_at = "active", int(start.timestamp())
    month, when = 0, start
    while when <= now:
        invoice = f"in_demo_{donation.id}_{month}"
        if month and rng.random() < 0.04:  # the card failed this month
            if when > now - timedelta(days=20) and rng.random() < 0.6:  # still failing now
                session.add(_payment(donation, donation.amount_cents, when, month, invoice=invoice,
                                     status=PaymentStatus.FAILED, paid=False, failures=2))  # fmt: skip
                donation.subscription_status = "past_due"
                return
            if rng.random() < 0.5:  # Stripe gave up: the subscription ended
                session.add(_payment(donation, donation.amount_cents, when, month, invoice=invoice,
                                     status=PaymentStatus.FAILED, paid=False, failures=4))  # fmt: skip
                _end(donation, min(when + timedelta(days=21), now), "payment_failed")
                return
            when += timedelta(days=3)  # paid on the retry
        session.add(_payment(donation, donation.amount_cents, when, month, invoice=invoice))
        if month and rng.random() < 0.03:
            _end(donation, min(when + timedelta(days=rng.randrange(1, 28)), now), "cancellation_requested")
            return
        month += 1
        when = start + timedelta(days=30 * month)


def _end(donation: Donation, when: datetime, reason: str) -> None:
    donation.status, donation.ended_at, donation.cancel_reason = DonationStatus.ENDED, when, reason
    donation.subscription_status, donation.subscription_status_at = "canceled", int(when.timestamp())

