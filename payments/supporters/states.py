"""A reader's supporter state, derived from their donations (never stored, so it cannot go stale):

* ``failing``: a recurring (monthly or yearly) donation is running but its latest payment failed,
* ``monthly``: a recurring donation is running: a monthly or a yearly one (the state, and the ask variant
  it picks, mean "gives regularly"),
* ``one_time``: gave a one-time gift (not refunded in full) in the last 12 months,
* ``lapsed``: gave before (a recurring donation that ended, or gifts older than 12 months), but none of
  the above: a monthly supporter who stopped last month is asked to come back, not thanked for a gift,
* ``never``: never gave.

A donor belongs to the reader with the same address, regardless of case.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import utcnow
from payments.models import Donation, DonationKind, DonationStatus, Donor, PaymentStatus

STATES = ("never", "one_time", "monthly", "lapsed", "failing")
_FAILING_SUBSCRIPTION = ("past_due", "unpaid")


def _is_failing(donation: Donation) -> bool:
    if donation.subscription_status in _FAILING_SUBSCRIPTION:
        return True
    failed = [p.stripe_created or 0 for p in donation.payments if p.status is PaymentStatus.FAILED]
    paid = [
        p.stripe_created or 0
        for p in donation.payments
        if p.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED)
    ]
    return bool(failed) and max(failed) > max(paid, default=-1)


def state_of_donations(donations: list[Donation], *, now=None) -> str:
    now = now or utcnow()
    running = [
        d for d in donations
        if d.kind.recurring and d.status in (DonationStatus.ACTIVE, DonationStatus.PENDING)
    ]  # fmt: skip
    if any(_is_failing(d) for d in running):
        return "failing"
    if any(d.status is DonationStatus.ACTIVE for d in running):
        return "monthly"
    paid = [
        (d.kind, p.paid_at) for d in donations for p in d.payments
        if p.paid_at is not None and p.refunded_cents < p.amount_cents
    ]  # fmt: skip
    year_ago = now - timedelta(days=365)
    if any(kind is DonationKind.ONE_TIME and at >= year_ago for kind, at in paid):
        return "one_time"
    if paid or any(d.status is DonationStatus.ENDED for d in donations):
        return "lapsed"
    return "never"


def donations_of_email(session: Session, email: str) -> list[Donation]:
    return list(
        session.scalars(
            select(Donation).join(Donor, Donation.donor_id == Donor.id)
            .where(func.lower(Donor.email) == email.strip().lower()).order_by(Donation.id)
        )
    )  # fmt: skip


def supporter_state(session: Session, subscriber) -> str:
    """The state of a reader (a ``Subscriber``): the provider ``app.py`` registers for the newsletter side."""
    return state_of_donations(donations_of_email(session, subscriber.email))


def wall(session: Session, *, limit: int = 100) -> list[str]:
    """Names of those who chose to be shown, newest gift first; refunded gifts are left out."""
    rows = session.execute(
        select(Donation.public_name, func.max(Donation.id).label("last"))
        .where(Donation.public_name.is_not(None),
               Donation.status.in_((DonationStatus.PAID, DonationStatus.ACTIVE, DonationStatus.ENDED)))
        .group_by(Donation.public_name).order_by(func.max(Donation.id).desc()).limit(limit)
    ).all()  # fmt: skip
    return [name for name, _ in rows]


def regular_count(session: Session) -> int:
    """Running monthly and yearly donations: the goal counter's number ("412 of 600 regular supporters")
    and the staff list's. A yearly supporter supports us regularly as much as a monthly one does."""
    return session.scalar(
        select(func.count()).select_from(Donation)
        .where(Donation.kind.in_((DonationKind.MONTHLY, DonationKind.YEARLY)),
               Donation.status == DonationStatus.ACTIVE)
    ) or 0  # fmt: skip


def _iso(value) -> str | None:
    return value.isoformat() if value else None
