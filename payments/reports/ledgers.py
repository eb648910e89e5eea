"""The ledgers read once per statistics page: the payments received up to the period's end in ONE scan
(:class:`Ledger`, from the payment tallies where a span lies whole in a bucket), and the monthly donations
by start and end (:class:`MonthlyLedger`). Every money figure (``money``) is read from them."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import Session

from db import UTCDateTime
from newsletter import api as newsletter_api
from payments.models import (
    RECURRING,
    DisputeStatus,
    Donation,
    DonationAmountChange,
    DonationKind,
    DonationPayment,
    DonationStatus,
    PaymentStatus,
    PaymentTally,
)
from payments.reports import payment_tallies

RECEIVED = (PaymentStatus.PAID, PaymentStatus.REFUNDED)  # the money arrived (some may have gone back)
STARTED_MONTHLY = (DonationStatus.ACTIVE, DonationStatus.ENDED)
BY_DONOR = ("cancellation_requested",)  # Stripe's cancellation_details.reason when the donor cancelled
BY_FAILURE = ("payment_failed",)  # Stripe gave up after failed payments


def _at(moment: datetime):
    return literal(moment, UTCDateTime())


def _lost(p=DonationPayment):
    """What a lost dispute took back: the part of the payment not refunded already."""
    return case((p.dispute_status == DisputeStatus.LOST, p.amount_cents - p.refunded_cents), else_=0)


def _half_up(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded to the nearest integer, halves away from zero (cents)."""
    if denominator == 0:
        return 0
    quotient = (abs(numerator) * 2 + denominator) // (denominator * 2)
    return quotient if numerator >= 0 else -quotient


PREVIOUS = 0  # bucket of the comparison period; -1 is everything before it, 1.. the period's months


def _buckets(column, period):
    """-1 before the previous period, 0 the previous period, 1.. each month of the period (the callers
    keep ``column`` before the period's end)."""
    edges = [period.previous().start, period.start, *(m.end for m in period.months())]
    return newsletter_api.edge_index(column, edges) - 1


@dataclass(frozen=True)
class Ledger:
    """The payments received up to the end of the period, aggregated in ONE scan of the ledger: per bucket
    (see :func:`_buckets`), currency, kind, amount and whether a failed attempt came first, the number of
    payments and the sums refunded and lost in disputes. Every payment figure below is read from it, so a
    page, the API and the CSV cost one pass over the payments, however many figures they show."""

    rows: tuple  # (bucket, currency, monthly, amount_cents, recovered, payments, refunded, lost)

    def select(self, buckets, currency: str | None = None):
        return [r for r in self.rows if r[0] in buckets and (currency is None or r[1] == currency)]


def _split_spans(period) -> list[datetime]:
    """The tally spans that an edge of the ledger's buckets cuts inside (a time zone with a half-hour
    offset, a period ending now, a custom period starting mid-month): their payments are read one by one,
    all other spans from the tallies."""
    edges = [period.previous().start, period.start, *(m.end for m in period.months()), period.end]
    return sorted({payment_tallies.span_of(e) for e in edges if payment_tallies.span_of(e) != e})


def payment_ledger(session: Session, period, *, from_ledger: bool = False) -> Ledger:
    """The :class:`Ledger` of the period, read from ``payment_tallies`` (the payments summed per UTC day,
    or hour on a month's first and last day, kept in the ledger's own transactions by
    :mod:`payment_tallies`): a few rows per span instead of every payment. A span that a bucket edge cuts
    inside is read from its payments; ``from_ledger`` reads every payment (the tests compare both)."""
    if from_ledger:
        return _payment_ledger_scan(session, period)
    split = _split_spans(period)
    t = PaymentTally
    bucket = _buckets(t.starts_at, period).label("bucket")
    where = [t.starts_at < _at(period.end)]
    if split:
        where.append(t.starts_at.not_in([_at(h) for h in split]))
    rows = session.execute(
        select(bucket, t.currency, t.monthly, t.amount_cents, t.recovered, func.sum(t.payments),
               func.sum(t.refunded_cents), func.sum(t.lost_cents))
        .where(*where)
        .group_by(bucket, t.currency, t.monthly, t.amount_cents, t.recovered)
    ).all()  # fmt: skip
    merged: dict[tuple, list[int]] = {}
    for b, c, m, a, r, n, ref, lost in rows:
        if n:
            merged[(int(b), c, int(bool(m)), int(a), int(bool(r)))] = [int(n), int(ref or 0), int(lost or 0)]
    if split:
        paid = DonationPayment.paid_at
        spans = or_(*((paid >= _at(h)) & (paid < _at(payment_tallies.span_end(h))) for h in split))
        for row in _payment_ledger_scan(session, period, spans).rows:
            total = merged.setdefault(row[:5], [0, 0, 0])
            for i, value in enumerate(row[5:]):
                total[i] += value
    return Ledger(tuple((*key, *values) for key, values in sorted(merged.items())))


def _payment_ledger_scan(session: Session, period, *where) -> Ledger:
    bucket = _buckets(DonationPayment.paid_at, period).label("bucket")
    monthly_ids = select(Donation.id).where(Donation.kind.in_(RECURRING))  # monthly and yearly gifts
    monthly = case((DonationPayment.donation_id.in_(monthly_ids), 1), else_=0).label("monthly")
    recovered_flag = case((DonationPayment.failure_count > 0, 1), else_=0).label("recovered")
    rows = session.execute(
        select(bucket, DonationPayment.currency, monthly, DonationPayment.amount_cents, recovered_flag,
               func.count(), func.sum(DonationPayment.refunded_cents), func.sum(_lost()))
        .where(DonationPayment.status.in_(RECEIVED), DonationPayment.paid_at < period.end, *where)
        .group_by(bucket, DonationPayment.currency, monthly, DonationPayment.amount_cents, recovered_flag)
    ).all()  # fmt: skip
    return Ledger(tuple(
        (int(b), c, int(m), int(a), int(r), int(n), int(ref or 0), int(lost or 0))
        for b, c, m, a, r, n, ref, lost in rows
    ))  # fmt: skip


def _period_buckets(period, previous: bool) -> set[int]:
    return {PREVIOUS} if previous else set(range(1, len(period.months()) + 1))


@dataclass(frozen=True)
class MonthlyLedger:
    """The monthly donations that have started (first payment received), in ONE scan of ``donations``:
    counted per edge index (``newsletter.api.edge_index``) of their start (``paid_at``) and end
    (``ended_at``), status and why they ended. MRR at any edge, the monthly donations started and ended
    between two edges and the churn by reason are all read from it, so the page costs one pass over the
    monthly donations."""

    edges: tuple[datetime, ...]
    rows: tuple  # (started index, ended index or None, ended?, reason category, donations, monthly cents)

    def index(self, moment: datetime) -> int:
        return self.edges.index(moment)

    def running(self, moment: datetime) -> tuple[int, int]:
        """(monthly cents, donations) started before ``moment`` and not ended by then."""
        k = self.index(moment)
        rows = [r for r in self.rows if r[0] <= k and (r[1] is None or r[1] > k)]
        return sum(r[5] for r in rows), sum(r[4] for r in rows)

    def running_by_subtraction(self, moment: datetime) -> tuple[int, int]:
        """(cents, donations) started before ``moment`` minus those ended before it (the month-end MRR:
        a donation counts from its first payment until Stripe ends it)."""
        k = self.index(moment)
        started = [r for r in self.rows if r[0] <= k]
        ended = [r for r in self.rows if r[1] is not None and r[1] <= k]
        return (sum(r[5] for r in started) - sum(r[5] for r in ended),
                sum(r[4] for r in started) - sum(r[4] for r in ended))  # fmt: skip

    def started_in(self, span) -> int:
        a, b = self.index(span.start), self.index(span.end)
        return sum(r[4] for r in self.rows if a < r[0] <= b)

    def ended_in(self, span) -> dict[str, tuple[int, int]]:
        """Per reason category: (donations, monthly cents) of those that ended (status ended) in span."""
        a, b = self.index(span.start), self.index(span.end)
        found: dict[str, tuple[int, int]] = {}
        for r in self.rows:
            if r[2] and r[1] is not None and a < r[1] <= b:
                n, cents = found.get(r[3], (0, 0))
                found[r[3]] = (n + r[4], cents + r[5])
        return found


def monthly_share(amount_cents: int, kind: DonationKind) -> int:
    """What a recurring gift adds to the MRR: a monthly one its amount, a yearly one a twelfth of it,
    rounded to the nearest cent, halves up, per gift (120.00 EUR a year: 10.00; 50.00 EUR: 4.17)."""
    return _half_up(amount_cents, 12) if kind is DonationKind.YEARLY else amount_cents


def _monthly_share_sql(amount):
    """:func:`monthly_share` in SQL (integer division on both databases; amounts are positive)."""
    return case((Donation.kind == DonationKind.YEARLY, (amount * 2 + 12) // 24), else_=amount)


def monthly_ledger(session: Session, moments, currency: str) -> MonthlyLedger:
    """The :class:`MonthlyLedger` of the recurring donations in ``currency``, cut at ``moments``: monthly
    ones with their amount, yearly ones with a twelfth (:func:`monthly_share`)."""
    edges = sorted(set(moments))
    started = newsletter_api.edge_index(Donation.paid_at, edges).label("started")
    ended = newsletter_api.edge_index(Donation.ended_at, edges).label("ended")
    done = (Donation.status == DonationStatus.ENDED).label("done")
    category = case(
        (Donation.cancel_reason.in_(BY_DONOR), "cancelled"),
        (Donation.cancel_reason.in_(BY_FAILURE), "failed"),
        else_="other",
    ).label("category")
    cents = func.sum(_monthly_share_sql(Donation.amount_cents))
    rows = session.execute(
        select(started, ended, done, category, func.count(), cents)
        .where(Donation.kind.in_(RECURRING), Donation.status.in_(STARTED_MONTHLY),
               Donation.paid_at.is_not(None), Donation.currency == currency)
        .group_by(started, ended, done, category)
    ).all()  # fmt: skip
    found = [(int(s), None if e is None else int(e), bool(d), c, int(n), int(cents or 0))
             for s, e, d, c, n, cents in rows]  # fmt: skip
    return MonthlyLedger(tuple(edges), tuple(found + _amount_change_rows(session, edges, currency)))


def _amount_change_rows(session: Session, edges: list[datetime], currency: str) -> list[tuple]:
    """The amount changes of monthly donations as ledger rows: a donation's row counts its current amount
    over its whole run, and each change adds (amount before - amount after) from the donation's start until
    the change (or the end), so that at every edge the sum is the amount in effect then. Counted as no
    donation and never as ended, the rows leave supporters, starts and churn as they are. Changes are rare,
    so they are read one by one (with the amount before each: the entry before it in effective time; a
    donation's first entry is the amount it started with, changing nothing)."""
    change = DonationAmountChange
    before = func.coalesce(
        func.lag(change.amount_cents).over(partition_by=change.donation_id,
                                           order_by=(change.effective_at, change.id)),
        change.previous_cents,
    )  # fmt: skip
    rows = session.execute(
        select(Donation.paid_at, Donation.ended_at, change.effective_at, change.amount_cents, before,
               Donation.kind)
        .join(Donation, Donation.id == change.donation_id)
        .where(Donation.kind.in_(RECURRING), Donation.status.in_(STARTED_MONTHLY),
               Donation.paid_at.is_not(None), Donation.currency == currency)
    ).all()  # fmt: skip
    found: dict[tuple[int, int], int] = {}
    for paid_at, ended_at, effective_at, amount, previous, kind in rows:
        start = bisect_right(edges, paid_at)
        until = bisect_right(edges, effective_at if ended_at is None else min(effective_at, ended_at))
        if until > start and previous != amount:
            delta = monthly_share(int(previous), kind) - monthly_share(int(amount), kind)
            found[(start, until)] = found.get((start, until), 0) + delta
    return [(start, until, False, "other", 0, cents) for (start, until), cents in found.items()]


def _monthly_edges(period) -> list[datetime]:
    previous = period.previous()
    return [previous.start, previous.end, period.start, *(m.end for m in period.months()), period.end]
