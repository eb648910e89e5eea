"""The payment tallies (``payment_tallies``): per span of ``paid_at`` (its UTC hour on a month's first and
last day, else its UTC day: :func:`span_of`), currency, kind, amount and "a failed attempt came first", the
payments received, refunded and lost in disputes. After every flush, each payment inserted, changed or
deleted gives back what it counted for under its old values and adds what it counts for under its new
ones, as ``INSERT ... ON CONFLICT DO UPDATE SET n = n + delta`` (row-locked, so two concurrent
transactions both count). Every write of ``donation_payments`` goes through the ORM, so every write passes
here (``summaries`` runs it in the flush)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from payments.models import (
    RECURRING,
    DisputeStatus,
    Donation,
    DonationPayment,
    PaymentStatus,
    PaymentTally,
)
from payments.reports.changes import old_value, upsert

RECEIVED = (PaymentStatus.PAID, PaymentStatus.REFUNDED)  # the money arrived (some may have gone back)


def _hourly(moment: datetime) -> bool:
    return moment.day == 1 or (moment + timedelta(days=1)).day == 1


def span_of(moment: datetime) -> datetime:
    """The start of the tally span a payment time (UTC) falls in: its hour on the first and last day of a
    month (where a local month starts, in any whole-hour time zone from UTC-12 to UTC+14), else its whole
    day: months in any such zone are whole spans, with far fewer rows than hours."""
    hour = moment.replace(minute=0, second=0, microsecond=0)
    return hour if _hourly(moment) else hour.replace(hour=0)


def span_end(start: datetime) -> datetime:
    """The end of the span that ``start`` (a :func:`span_of`) begins."""
    return start + (timedelta(hours=1) if _hourly(start) else timedelta(days=1))


def _counts(status, paid_at, amount, refunded, dispute, failures, currency, monthly):
    """(key, (payments, refunded, lost)) a payment with these values adds to the tallies, or None."""
    if status not in RECEIVED or paid_at is None:
        return None
    lost = amount - refunded if dispute == DisputeStatus.LOST else 0
    key = (span_of(paid_at), currency, monthly, amount, (failures or 0) > 0)
    return key, (1, refunded or 0, lost)


FIELDS = ("status", "paid_at", "amount_cents", "refunded_cents", "dispute_status", "failure_count",
          "currency")  # fmt: skip


def _monthly(session: Session, payment: DonationPayment) -> bool:
    donation = payment.donation
    if donation is None:
        kind = session.scalar(select(Donation.kind).where(Donation.id == payment.donation_id))
    else:
        kind = donation.kind
    return kind in RECURRING  # the tallies' "monthly" is every recurring gift, yearly ones too


def apply_payments(session: Session, deltas: dict) -> None:
    table = PaymentTally.__table__
    for (starts_at, currency, monthly, amount, recovered), (n, refunded, lost) in sorted(
        deltas.items(), key=lambda item: (item[0][0], item[0][1], item[0][2], item[0][3], item[0][4])
    ):  # a fixed order: two transactions lock the same rows in the same order, never a deadlock
        if n == 0 and refunded == 0 and lost == 0:
            continue
        upsert(
            session, table, ["starts_at", "currency", "monthly", "amount_cents", "recovered"],
            {"starts_at": starts_at, "currency": currency, "monthly": monthly, "amount_cents": amount,
             "recovered": recovered, "payments": n, "refunded_cents": refunded, "lost_cents": lost},
            {"payments": lambda c, e: c + e, "refunded_cents": lambda c, e: c + e,
             "lost_cents": lambda c, e: c + e},
        )  # fmt: skip


def payment_deltas(session: Session, flush_context) -> dict:
    deltas: dict = defaultdict(lambda: [0, 0, 0])

    def add(counted, sign):
        if counted is not None:
            key, values = counted
            for i, v in enumerate(values):
                deltas[key][i] += sign * v

    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, DonationPayment):
            continue
        state = inspect(obj)
        monthly = None
        if obj not in session.new:  # what it counted for before this flush
            old = [old_value(state, name) for name in FIELDS]
            if any(state.attrs[n].history.has_changes() for n in FIELDS) or obj in session.deleted:
                monthly = _monthly(session, obj)
                add(_counts(*old, monthly), -1)
            else:
                continue
        if obj in session.deleted:
            continue
        if monthly is None:
            monthly = _monthly(session, obj)
        add(_counts(*(getattr(obj, name) for name in FIELDS), monthly), 1)
    return deltas
