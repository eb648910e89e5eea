"""The statistics' summaries of the payment ledger, kept exact: written in the same flush (so the same
transaction) as the ledger change they sum.

- ``payment_tallies``: per span of ``paid_at`` (its UTC hour on a month's first and last day, else its UTC
  day: :func:`span_of`), currency, kind, amount and "a failed attempt came first", the payments received,
  refunded and lost in disputes. After every flush, each payment inserted, changed or deleted gives back
  what it counted for under its old values and adds what it counts for under its new ones, as ``INSERT ...
  ON CONFLICT DO UPDATE SET n = n + delta`` (row-locked, so two concurrent transactions both count). Every
  write of ``donation_payments`` in this package goes through the ORM (``payments.donations``,
  ``payments.demo``), so every write passes here.
- ``donor_first_gifts``: a donor's earliest ``paid_at`` per currency: ``first_at = least(stored, new)``
  when a donation is paid (it never becomes unpaid); recomputed from the donations when a paid donation
  changes donor, currency or payment time. ``donors.first_gift_at`` is the least of them (any currency).

- ``subscribers.first_gift_at``: the least ``donors.first_gift_at`` of the donors linked to a reader,
  recomputed for every reader whose donor's first gift or link changed in the flush, and handed to the
  newsletter side (``newsletter.api.set_first_gifts``): "readers who give" counts it in the reader scan.

``backfill`` in migration ``0014_stats`` fills both (and ``issue_tallies``) from the ledgers with
set-based SQL; the benchmark's generator runs the same function after its bulk load, so an upgraded or
bulk-loaded database is exact at once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import case, delete, event, func, inspect, select, update
from sqlalchemy.orm import Session

from newsletter import api as newsletter_api

from .models import (
    DisputeStatus,
    Donation,
    DonationKind,
    DonationPayment,
    Donor,
    DonorFirstGift,
    PaymentStatus,
    PaymentTally,
)

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


def _old(state, name: str):
    history = state.attrs[name].history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return getattr(state.object, name) if not history.added else None


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
    return kind == DonationKind.MONTHLY


def _upsert(session: Session, table, index: list[str], values: dict, set_: dict):
    dialect = session.connection().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).values(**values)
    excluded = statement.excluded
    updates = {name: make(table.c[name], excluded[name]) for name, make in set_.items()}
    session.connection().execute(statement.on_conflict_do_update(index_elements=index, set_=updates))


def _apply_payments(session: Session, deltas: dict) -> None:
    table = PaymentTally.__table__
    for (starts_at, currency, monthly, amount, recovered), (n, refunded, lost) in sorted(
        deltas.items(), key=lambda item: (item[0][0], item[0][1], item[0][2], item[0][3], item[0][4])
    ):  # a fixed order: two transactions lock the same rows in the same order, never a deadlock
        if n == 0 and refunded == 0 and lost == 0:
            continue
        _upsert(
            session, table, ["starts_at", "currency", "monthly", "amount_cents", "recovered"],
            {"starts_at": starts_at, "currency": currency, "monthly": monthly, "amount_cents": amount,
             "recovered": recovered, "payments": n, "refunded_cents": refunded, "lost_cents": lost},
            {"payments": lambda c, e: c + e, "refunded_cents": lambda c, e: c + e,
             "lost_cents": lambda c, e: c + e},
        )  # fmt: skip


def _payment_deltas(session: Session, flush_context) -> dict:
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
            old = [_old(state, name) for name in FIELDS]
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


def _first_gift_changes(session: Session) -> tuple[list[tuple[int, str, datetime]], set[tuple[int, str]]]:
    """(donor, currency, paid_at) to fold in with least(); (donor, currency) pairs to recompute."""
    earlier, recompute = [], set()
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, Donation):
            continue
        state = inspect(obj)
        fields = ("donor_id", "currency", "paid_at")
        if obj not in session.new and not any(state.attrs[n].history.has_changes() for n in fields):
            continue
        old = (None, None, None) if obj in session.new else tuple(_old(state, n) for n in fields)
        new = (None, None, None) if obj in session.deleted else (obj.donor_id, obj.currency, obj.paid_at)
        if None not in old and (old[:2] != new[:2] or new[2] != old[2]):
            recompute.add(old[:2])  # the old pair may have lost its first gift
        if None not in new:
            earlier.append(new)
    return earlier, recompute


def _apply_first_gifts(session: Session, earlier, recompute) -> None:
    table = DonorFirstGift.__table__
    donors = Donor.__table__
    connection = session.connection()
    for donor_id, currency, paid_at in sorted(earlier, key=lambda r: (r[0], r[1], r[2])):
        _upsert(
            session, table, ["donor_id", "currency"],
            {"donor_id": donor_id, "currency": currency, "first_at": paid_at},
            {"first_at": lambda c, e: case((e < c, e), else_=c)},
        )  # fmt: skip
        first = donors.c.first_gift_at
        connection.execute(
            update(donors).where(donors.c.id == donor_id)
            .values(first_gift_at=case((first.is_(None) | (first > paid_at), paid_at), else_=first))
        )  # fmt: skip
    for donor_id, currency in sorted(recompute):
        first = connection.scalar(
            select(func.min(Donation.paid_at)).where(
                Donation.donor_id == donor_id, Donation.currency == currency, Donation.paid_at.is_not(None)
            )
        )
        if first is None:
            gone = delete(table).where(table.c.donor_id == donor_id, table.c.currency == currency)
            connection.execute(gone)
        else:
            _upsert(session, table, ["donor_id", "currency"],
                    {"donor_id": donor_id, "currency": currency, "first_at": first},
                    {"first_at": lambda c, e: e})  # fmt: skip
    for donor_id in sorted({donor for donor, _ in recompute}):
        first = select(func.min(table.c.first_at)).where(table.c.donor_id == donor_id).scalar_subquery()
        connection.execute(update(donors).where(donors.c.id == donor_id).values(first_gift_at=first))


def _relinked_readers(session: Session) -> set[int]:
    """Readers a donor was linked to or unlinked from in this flush (or whose donor went)."""
    readers = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if not isinstance(obj, Donor):
            continue
        state = inspect(obj)
        history = state.attrs["subscriber_id"].history
        if obj in session.new or obj in session.deleted or history.has_changes():
            readers.update(r for r in (*history.deleted, *history.unchanged, obj.subscriber_id) if r)
    return readers


def _apply_reader_first_gifts(session: Session, donor_ids: set[int], readers: set[int]) -> None:
    """Recompute ``subscribers.first_gift_at`` of the readers of these donors, and of these readers."""
    connection = session.connection()
    if donor_ids:
        linked = select(Donor.subscriber_id).where(Donor.id.in_(sorted(donor_ids)))
        readers |= {reader for reader in connection.scalars(linked) if reader is not None}
    if not readers:
        return
    found = dict(connection.execute(
        select(Donor.subscriber_id, func.min(Donor.first_gift_at))
        .where(Donor.subscriber_id.in_(sorted(readers)))
        .group_by(Donor.subscriber_id)
    ).all())  # fmt: skip
    newsletter_api.set_first_gifts(session, {reader: found.get(reader) for reader in readers})


@event.listens_for(Session, "after_flush")
def _keep_tallies(session: Session, flush_context) -> None:
    """After the flush wrote the ledger rows, before the commit: history still holds the old values."""
    touched = [o for o in (*session.new, *session.dirty, *session.deleted)
               if isinstance(o, DonationPayment | Donation | Donor)]  # fmt: skip
    if not touched:
        return
    deltas = _payment_deltas(session, flush_context)
    if deltas:
        _apply_payments(session, deltas)
    earlier, recompute = _first_gift_changes(session)
    if earlier or recompute:
        _apply_first_gifts(session, earlier, recompute)
    donors = {donor for donor, *_ in earlier} | {donor for donor, _ in recompute}
    relinked = _relinked_readers(session)
    if donors or relinked:
        _apply_reader_first_gifts(session, donors, relinked)
