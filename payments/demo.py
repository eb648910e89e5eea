"""Demo donations: the demo readers' gifts since they subscribed (at most a year), as Stripe's events would
have left it, up to ``now`` (the end of the demo's history: yesterday evening).

About one active reader in twelve gives: most once or a few times, some monthly. Monthly donations start
after the giver subscribed, some end (cancelled by the donor, or after failed payments), a few are failing
right now; some gifts were refunded (in part or in full) and a few disputed. A gift made within two weeks
of an issue the giver received is, more often than not, attributed to that issue (at most one gift per
giver and issue), so an issue never counts more gifts than readers. Deterministic for a seed.
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

HISTORY_DAYS = 364  # for a reader without a confirmation date
ATTRIBUTION_WINDOW = timedelta(days=14)  # a gift this soon after an issue may name it
AMOUNTS = (300, 500, 500, 1000, 1000, 1000, 1500, 2000, 2500, 5000)
MONTHLY_AMOUNTS = (300, 500, 500, 500, 1000, 1000, 2000)
YEARLY_AMOUNTS = (3000, 5000, 6000, 10000, 12000)
PUBLIC_NAMES = ("Anna K.", "Jonas", "Familie Weber", "M. Schulz", "Lea & Tom", "Dr. Yilmaz", "Frieda")


def _payment(donation: Donation, amount: int, paid_at: datetime, n: int, **kw) -> DonationPayment:
    return DonationPayment(
        donation=donation, amount_cents=amount, currency="eur", status=kw.pop("status", PaymentStatus.PAID),
        paid_at=paid_at if kw.get("paid", True) else None, stripe_created=int(paid_at.timestamp()),
        stripe_invoice_id=kw.pop("invoice", None), stripe_payment_intent_id=f"pi_demo_{donation.id}_{n}",
        refunded_cents=kw.pop("refunded", 0), dispute_status=kw.pop("dispute", None),
        failure_count=kw.pop("failures", 0),
    )  # fmt: skip


def _attributed(rng: random.Random, received: list[tuple[int, datetime]], when: datetime,
                used: set[int]) -> int | None:  # fmt: skip
    """The issue a gift made at ``when`` names: the latest the giver received in the two weeks before, not
    named by another of their gifts, six times in ten."""
    recent = [i for i, sent in received if sent <= when <= sent + ATTRIBUTION_WINDOW and i not in used]
    if not recent or rng.random() >= 0.6:
        return None
    used.add(recent[-1])
    return recent[-1]


def _donation(donor: Donor, kind: DonationKind, amount: int, created: datetime, rng: random.Random,
              issue_id: int | None) -> Donation:  # fmt: skip
    return Donation(
        reference=secrets.token_urlsafe(18), donor=donor, kind=kind, amount_cents=amount, currency="eur",
        status=DonationStatus.OPEN, locale=donor.locale, email=donor.email, created_at=created,
        public_name=rng.choice(PUBLIC_NAMES) if rng.random() < 0.15 else None,
        issue_id=issue_id, source_link="ask" if issue_id is not None and rng.random() < 0.8 else None,
        utm_source=rng.choice(("newsletter", "website", "social", None)), stripe_session_id=None,
    )  # fmt: skip


def load_demo_donations(session: Session, *, seed: int, now: datetime) -> int:
    """Donors, donations and payments for the demo readers; returns the number of donations."""
    rng = random.Random(seed + 6)
    yearly_rng = random.Random(seed + 7)  # its own, so the rest of the demo stays as it was
    readers = newsletter_api.demo_readers(session)  # (id, email, locale) of active readers
    history = newsletter_api.demo_reader_history(session)  # since when, and the issues they received
    count = monthly_donors = 0
    for n, (subscriber_id, email, locale) in enumerate(readers):
        if rng.random() >= 1 / 12:
            continue
        donor = Donor(email=email, subscriber_id=subscriber_id, locale=locale)
        donor.stripe_customer_id = f"cus_demo_{n}"
        session.add(donor)
        monthly = rng.random() < 0.35
        gifts = 1 if monthly else rng.choice((1, 1, 1, 2, 2, 3))
        since, received = history.get(subscriber_id, (None, []))
        since = since or now - timedelta(days=HISTORY_DAYS)
        used: set[int] = set()
        for _ in range(gifts):
            start = since + (now - since) * rng.random()
            issue_id = _attributed(rng, received, start, used)
            if monthly:
                monthly_donors += 1
                _monthly(session, donor, start, now, rng, issue_id, fails_now=monthly_donors % 8 == 0)
            else:
                _one_time(session, donor, start, rng, issue_id)
            count += 1
        if not monthly and yearly_rng.random() < 0.2:
            _yearly(session, donor, since + (now - since) * yearly_rng.random(), yearly_rng)
            count += 1
    session.flush()
    return count


def _one_time(session, donor, when, rng, issue_id) -> None:
    donation = _donation(donor, DonationKind.ONE_TIME, rng.choice(AMOUNTS), when, rng, issue_id)
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


def _monthly(session, donor, start, now, rng, issue_id, *, fails_now: bool = False) -> None:
    """``fails_now``: when its latest debit falls in the last 20 days, that one failed (a demo of any size
    shows a supporter whose card needs updating)."""
    donation = _donation(donor, DonationKind.MONTHLY, rng.choice(MONTHLY_AMOUNTS), start, rng, issue_id)
    session.add(donation)
    session.flush()
    donation.stripe_subscription_id = f"sub_demo_{donation.id}"
    donation.status, donation.paid_at = DonationStatus.ACTIVE, start
    donation.subscription_status, donation.subscription_status_at = "active", int(start.timestamp())
    if rng.random() < 0.06:  # the very first debit failed and Stripe gave up: the gift never started
        session.add(_payment(donation, donation.amount_cents, start, 0, invoice=f"in_demo_{donation.id}_0",
                             status=PaymentStatus.FAILED, paid=False, failures=4))  # fmt: skip
        _end(donation, min(start + timedelta(days=21), now), "payment_failed")
        return
    month, when = 0, start
    while when <= now:
        invoice = f"in_demo_{donation.id}_{month}"
        latest = when > now - timedelta(days=20)
        if month and (rng.random() < 0.04 or (fails_now and latest)):  # the card failed this month
            if latest and (fails_now or rng.random() < 0.6):  # still failing now
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


def _yearly(session, donor, start, rng) -> None:
    """A yearly gift begun within the demo's year: its one payment so far, renewed after the year."""
    donation = _donation(donor, DonationKind.YEARLY, rng.choice(YEARLY_AMOUNTS), start, rng, None)
    session.add(donation)
    session.flush()
    donation.stripe_subscription_id = f"sub_demo_{donation.id}"
    donation.status, donation.paid_at = DonationStatus.ACTIVE, start
    donation.subscription_status, donation.subscription_status_at = "active", int(start.timestamp())
    session.add(_payment(donation, donation.amount_cents, start, 0, invoice=f"in_demo_{donation.id}_0"))


def _end(donation: Donation, when: datetime, reason: str) -> None:
    donation.status, donation.ended_at, donation.cancel_reason = DonationStatus.ENDED, when, reason
    donation.subscription_status, donation.subscription_status_at = "canceled", int(when.timestamp())
