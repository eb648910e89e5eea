"""Donors for admins: the list (search, filters, pages by id) and one donor with everything they gave.

One rule for what a donor gave, in SQL and in Python: a payment counts once it was received (``paid_at``),
minus what was refunded; a payment lost in a dispute counts nothing (the bank took the money back). The
supporter state is the one of ``supporters.state_of_donations``, written here as one SQL expression so that
the list can filter by it; a test holds the two to the same answers.

Pages continue by donor id (``after``), never by OFFSET, and every figure is a correlated subquery on the
indexes ``donations.donor_id`` and ``donation_payments.donation_id``: a page costs the same at the first
and the thousandth page, whatever the number of donations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from db import utcnow

from . import supporters
from .models import (
    DisputeStatus,
    Donation,
    DonationKind,
    DonationPayment,
    DonationStatus,
    Donor,
    PaymentStatus,
)

PAGE_SIZE = 50
_RUNNING = (DonationStatus.ACTIVE, DonationStatus.PENDING)
_FAILING_SUBSCRIPTION = ("past_due", "unpaid")


def net_cents(payment: DonationPayment) -> int:
    """What a payment gave: nothing until received, nothing when lost in a dispute, less any refund."""
    if payment.paid_at is None or payment.dispute_status is DisputeStatus.LOST:
        return 0
    return max(payment.amount_cents - payment.refunded_cents, 0)


def _net_expression():
    return case(
        (DonationPayment.dispute_status == DisputeStatus.LOST, 0),
        else_=DonationPayment.amount_cents - DonationPayment.refunded_cents,
    )


def total_given(payments: list[DonationPayment]) -> int:
    return sum(net_cents(p) for p in payments)


def _total_subquery():
    return (
        select(func.coalesce(func.sum(_net_expression()), 0))
        .select_from(DonationPayment)
        .join(Donation, Donation.id == DonationPayment.donation_id)
        .where(Donation.donor_id == Donor.id, DonationPayment.paid_at.is_not(None))
        .scalar_subquery()
    )


def _first_gift_subquery():
    return (
        select(func.min(DonationPayment.paid_at))
        .join(Donation, Donation.id == DonationPayment.donation_id)
        .where(Donation.donor_id == Donor.id, DonationPayment.paid_at.is_not(None))
        .scalar_subquery()
    )


def state_expression(now: datetime):
    """``supporters.state_of_donations`` for the donor of the row, as SQL (never, one_time, monthly,
    lapsed, failing).

    One correlated scalar subquery over the donor's donations and their payments, flags aggregated with
    ``max``: PostgreSQL runs it once per donor row it reads (with the page's LIMIT that is a few dozen
    rows), where EXISTS tests would be planned as hashed subplans over the whole table."""
    gift = aliased(Donation)
    paid = aliased(DonationPayment)
    settled = aliased(DonationPayment)
    running = and_(gift.kind == DonationKind.MONTHLY, gift.status.in_(_RUNNING))
    latest_settled = (
        select(func.coalesce(func.max(func.coalesce(settled.stripe_created, 0)), -1))
        .where(settled.donation_id == gift.id,
               settled.status.in_((PaymentStatus.PAID, PaymentStatus.REFUNDED)))
        .correlate(gift)
        .scalar_subquery()
    )  # fmt: skip
    failed_last = and_(
        paid.status == PaymentStatus.FAILED, func.coalesce(paid.stripe_created, 0) > latest_settled
    )
    kept = and_(paid.paid_at.is_not(None), paid.refunded_cents < paid.amount_cents)

    def flag(condition):
        return func.max(case((condition, 1), else_=0))

    return (
        select(
            case(
                (flag(and_(running, or_(gift.subscription_status.in_(_FAILING_SUBSCRIPTION), failed_last)))
                 == 1, literal("failing")),
                (flag(and_(running, gift.status == DonationStatus.ACTIVE)) == 1, literal("monthly")),
                (flag(and_(kept, paid.paid_at >= now - timedelta(days=365))) == 1, literal("one_time")),
                (or_(flag(kept) == 1, flag(gift.status == DonationStatus.ENDED) == 1), literal("lapsed")),
                else_=literal("never"),
            )
        )
        .select_from(gift)
        .outerjoin(paid, paid.donation_id == gift.id)
        .where(gift.donor_id == Donor.id)
        .correlate(Donor)
        .scalar_subquery()
    )  # fmt: skip


@dataclass(frozen=True)
class DonorFilter:
    query: str = ""  # the address begins with this (any case)
    state: str | None = None  # one of supporters.STATES
    min_total: int | None = None  # cents, inclusive
    max_total: int | None = None
    first_from: datetime | None = None  # first gift at or after (aware)
    first_before: datetime | None = None  # first gift before (aware)
    args: dict[str, str] = field(default_factory=dict)  # the request's own values, for the page links

    def as_args(self) -> dict[str, str]:
        return {k: v for k, v in self.args.items() if v}


@dataclass(frozen=True)
class DonorRow:
    id: int
    email: str
    subscriber_id: int | None
    total_cents: int
    first_gift_at: datetime | None
    state: str


@dataclass(frozen=True)
class DonorPage:
    rows: list[DonorRow]
    next_after: int | None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_donors(
    session: Session, flt: DonorFilter, *, after: int | None = None, limit: int = PAGE_SIZE,
    now: datetime | None = None,
) -> DonorPage:  # fmt: skip
    """One page of donors, newest first, continuing below the id ``after``."""
    now = now or utcnow()
    total = _total_subquery()
    first = _first_gift_subquery()
    state = state_expression(now)
    query = select(Donor.id, Donor.email, Donor.subscriber_id, total, first, state)
    if after is not None:
        query = query.where(Donor.id < after)
    if flt.query:
        prefix = _escape_like(flt.query.strip().lower()) + "%"
        query = query.where(func.lower(Donor.email).like(prefix, escape="\\"))
    if flt.state in ("monthly", "failing"):
        # Few donors run a monthly donation: find them by the (status, kind) index first.
        running = select(Donation.donor_id).where(Donation.kind == DonationKind.MONTHLY,
                                                  Donation.status.in_(_RUNNING))  # fmt: skip
        query = query.where(Donor.id.in_(running.scalar_subquery()))
    if flt.state in supporters.STATES:
        query = query.where(state == flt.state)
    if flt.min_total is not None:
        query = query.where(total >= flt.min_total)
    if flt.max_total is not None:
        query = query.where(total <= flt.max_total)
    if flt.first_from is not None:
        query = query.where(first >= flt.first_from)
    if flt.first_before is not None:
        query = query.where(first < flt.first_before)
    rows = session.execute(query.order_by(Donor.id.desc()).limit(limit + 1)).all()
    page = [DonorRow(r[0], r[1], r[2], int(r[3] or 0), r[4], r[5]) for r in rows[:limit]]
    return DonorPage(page, page[-1].id if len(rows) > limit else None)


@dataclass(frozen=True)
class DonorProfile:
    donor: Donor
    donations: list[Donation]
    state: str
    total_cents: int
    first_gift_at: datetime | None
    failed_payments: int
    refunded_cents: int
    lost_disputes: int


def donor_profile(session: Session, donor_id: int, *, now: datetime | None = None) -> DonorProfile | None:
    donor = session.get(Donor, donor_id)
    if donor is None:
        return None
    donations = list(
        session.scalars(
            select(Donation).where(Donation.donor_id == donor_id)
            .options(selectinload(Donation.payments)).order_by(Donation.created_at.desc(), Donation.id.desc())
        )
    )  # fmt: skip
    payments = [p for d in donations for p in d.payments]
    paid = [p.paid_at for p in payments if p.paid_at is not None]
    return DonorProfile(
        donor=donor, donations=donations, state=supporters.state_of_donations(donations, now=now),
        total_cents=total_given(payments), first_gift_at=min(paid) if paid else None,
        failed_payments=sum(1 for p in payments if p.status is PaymentStatus.FAILED or p.failure_count),
        refunded_cents=sum(p.refunded_cents for p in payments),
        lost_disputes=sum(1 for p in payments if p.dispute_status is DisputeStatus.LOST),
    )  # fmt: skip


def day_start(day: date, zone: Any) -> datetime:
    """The first moment of a calendar day in the newsroom's time zone (aware)."""
    return datetime(day.year, day.month, day.day, tzinfo=zone)
