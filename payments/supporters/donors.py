"""Donors for admins: the list (search, filters, pages by id) and one donor with everything they gave.

One rule for what a donor gave, in SQL and in Python: a payment counts once it was received (``paid_at``),
minus what was refunded; a payment lost in a dispute counts nothing (the bank took the money back). The
supporter state is the one of ``states.state_of_donations``, written here as SQL aggregates so that
the list can filter by it; a test holds the two to the same answers.

Pages continue by donor id (``after``), never by OFFSET, and a page computes the figures of one bounded
window of donors (see :func:`list_donors`): the first and the thousandth page cost the same, whatever the
number of donations.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from db import starts_with, utcnow
from payments.models import (
    RECURRING,
    DisputeStatus,
    Donation,
    DonationKind,
    DonationPayment,
    DonationStatus,
    Donor,
    PaymentStatus,
)
from payments.supporters import states

PAGE_SIZE = 50
WINDOW = 2000  # donors a page with filters on figures looks at, at most
_RUNNING = (DonationStatus.ACTIVE, DonationStatus.PENDING)
_FAILING_SUBSCRIPTION = ("past_due", "unpaid")


def net_cents(payment: DonationPayment) -> int:
    """What a payment gave: nothing until received, nothing when lost in a dispute, less any refund."""
    if payment.paid_at is None or payment.dispute_status is DisputeStatus.LOST:
        return 0
    return max(payment.amount_cents - payment.refunded_cents, 0)


def total_given(payments: list[DonationPayment]) -> int:
    return sum(net_cents(p) for p in payments)


def _figures(gift, paid, now: datetime):
    """Total given, first gift and supporter state of a donor, as aggregates over the rows of
    ``donors LEFT JOIN donations (gift) LEFT JOIN donation_payments (paid)`` grouped by donor: the rules of
    :func:`net_cents` and ``states.state_of_donations`` in SQL."""
    settled = aliased(DonationPayment)
    latest_settled = (
        select(func.coalesce(func.max(func.coalesce(settled.stripe_created, 0)), -1))
        .where(settled.donation_id == gift.id,
               settled.status.in_((PaymentStatus.PAID, PaymentStatus.REFUNDED)))
        .correlate(gift)
        .scalar_subquery()
    )  # fmt: skip
    running = and_(gift.kind.in_(RECURRING), gift.status.in_(_RUNNING))
    # The latest-settled lookup runs only for failed payments of running donations (CASE stops early).
    failed_last = case(
        (and_(running, paid.status == PaymentStatus.FAILED),
         func.coalesce(paid.stripe_created, 0) > latest_settled),
        else_=False,
    )  # fmt: skip
    kept = and_(paid.paid_at.is_not(None), paid.refunded_cents < paid.amount_cents)

    def flag(condition):
        return func.max(case((condition, 1), else_=0)) == 1

    net = case(
        (paid.paid_at.is_(None), None),
        (paid.dispute_status == DisputeStatus.LOST, 0),
        else_=paid.amount_cents - paid.refunded_cents,
    )
    total = func.coalesce(func.sum(net), 0)
    first = func.min(paid.paid_at)
    state = case(
        (flag(or_(and_(running, gift.subscription_status.in_(_FAILING_SUBSCRIPTION)), failed_last)),
         literal("failing")),
        (flag(and_(running, gift.status == DonationStatus.ACTIVE)), literal("monthly")),
        (flag(and_(kept, gift.kind == DonationKind.ONE_TIME, paid.paid_at >= now - timedelta(days=365))),
         literal("one_time")),
        (or_(flag(kept), flag(gift.status == DonationStatus.ENDED)), literal("lapsed")),
        else_=literal("never"),
    )  # fmt: skip
    return total, first, state


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
    searched_to: int | None = None  # the window ended here before a page was full: search on from here


def _cheap_filters(query, flt: DonorFilter):
    """The filters an index answers: the address prefix, and for the two monthly states the donors with
    a running monthly donation (few, found by the (status, kind) index)."""
    if flt.query:
        query = query.where(starts_with(func.lower(Donor.email), flt.query.strip().lower()))
    if flt.state in ("monthly", "failing"):
        running = select(Donation.donor_id).where(Donation.kind.in_(RECURRING),
                                                  Donation.status.in_(_RUNNING))  # fmt: skip
        query = query.where(Donor.id.in_(running.scalar_subquery()))
    return query


def list_donors(
    session: Session, flt: DonorFilter, *, after: int | None = None, limit: int = PAGE_SIZE,
    window: int = WINDOW, now: datetime | None = None,
) -> DonorPage:  # fmt: skip
    """One page of donors, newest first, continuing below the id ``after``.

    Two statements. The first walks the id index (and the cheap filters) to the ``window``-th donor below
    ``after``; the second computes the figures of the donors in that range in one grouped pass and keeps
    those that pass the filters on figures (state, total, first gift). A page so costs at most one window
    of donors, whatever the table holds. When a rare filter finds fewer than a page in the window, the page
    says so (``searched_to``) and its next link searches on from there."""
    now = now or utcnow()
    figured = flt.state in states.STATES or any(
        v is not None for v in (flt.min_total, flt.max_total, flt.first_from, flt.first_before)
    )
    span = window if figured else limit + 1
    ids = _cheap_filters(select(Donor.id), flt)
    if after is not None:
        ids = ids.where(Donor.id < after)
    boundary = session.scalar(ids.order_by(Donor.id.desc()).offset(span - 1).limit(1))

    gift, paid = aliased(Donation), aliased(DonationPayment)
    total, first, state = _figures(gift, paid, now)
    query = _cheap_filters(
        select(Donor.id, Donor.email, Donor.subscriber_id, total, first, state)
        .select_from(Donor)
        .outerjoin(gift, gift.donor_id == Donor.id)
        .outerjoin(paid, paid.donation_id == gift.id),
        flt,
    )
    if after is not None:
        query = query.where(Donor.id < after)
    if boundary is not None:
        query = query.where(Donor.id >= boundary)
    query = query.group_by(Donor.id, Donor.email, Donor.subscriber_id)
    if flt.state in states.STATES:
        query = query.having(state == flt.state)
    if flt.min_total is not None:
        query = query.having(total >= flt.min_total)
    if flt.max_total is not None:
        query = query.having(total <= flt.max_total)
    if flt.first_from is not None:
        query = query.having(first >= flt.first_from)
    if flt.first_before is not None:
        query = query.having(first < flt.first_before)
    rows = session.execute(query.order_by(Donor.id.desc()).limit(limit + 1)).all()
    page = [DonorRow(r[0], r[1], r[2], int(r[3] or 0), r[4], r[5]) for r in rows[:limit]]
    if len(rows) > limit:
        return DonorPage(page, page[-1].id)
    if boundary is not None and figured:
        return DonorPage(page, boundary, searched_to=boundary)
    return DonorPage(page, None)


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
        donor=donor, donations=donations, state=states.state_of_donations(donations, now=now),
        total_cents=total_given(payments), first_gift_at=min(paid) if paid else None,
        failed_payments=sum(1 for p in payments if p.status is PaymentStatus.FAILED or p.failure_count),
        refunded_cents=sum(p.refunded_cents for p in payments),
        lost_disputes=sum(1 for p in payments if p.dispute_status is DisputeStatus.LOST),
    )  # fmt: skip


def day_start(day: date, zone: Any) -> datetime:
    """The first moment of a calendar day in the newsroom's time zone (aware)."""
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def states_by_address(now: datetime | None = None):
    """A SELECT of ``(email, state)``: each donor address (lower-cased) with its supporter state, the rules
    of ``states.state_of_donations`` in SQL (one row per address, however many donors share it). The
    newsletter side joins it into its own statements (the reader list, the segment filter, the send
    ledger's ``INSERT ... SELECT``) through ``newsletter.ports``, so no state is computed in Python."""
    now = now or utcnow()
    gift, paid = aliased(Donation), aliased(DonationPayment)
    _total, _first, state = _figures(gift, paid, now)
    address = func.lower(Donor.email)
    return (
        select(address.label("email"), state.label("state"))
        .select_from(Donor)
        .outerjoin(gift, gift.donor_id == Donor.id)
        .outerjoin(paid, paid.donation_id == gift.id)
        .group_by(address)
    )
