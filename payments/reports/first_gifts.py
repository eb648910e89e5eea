"""First gifts, kept in the flush that changes them (``summaries``):

- ``donor_first_gifts``: a donor's earliest ``paid_at`` per currency: ``first_at = least(stored, new)``
  when a donation is paid (it never becomes unpaid); recomputed from the donations when a paid donation
  changes donor, currency or payment time. ``donors.first_gift_at`` is the least of them (any currency).
- ``subscribers.first_gift_at``: the least ``donors.first_gift_at`` of the donors linked to a reader,
  recomputed for every reader whose donor's first gift or link changed in the flush, and handed to the
  newsletter side (``newsletter.api.set_first_gifts``): "readers who give" counts it in the reader scan."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, delete, func, inspect, select, update
from sqlalchemy.orm import Session

from newsletter import api as newsletter_api
from payments.models import Donation, Donor, DonorFirstGift
from payments.reports.changes import old_value, upsert


def first_gift_changes(session: Session) -> tuple[list[tuple[int, str, datetime]], set[tuple[int, str]]]:
    """(donor, currency, paid_at) to fold in with least(); (donor, currency) pairs to recompute."""
    earlier, recompute = [], set()
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if not isinstance(obj, Donation):
            continue
        state = inspect(obj)
        fields = ("donor_id", "currency", "paid_at")
        if obj not in session.new and not any(state.attrs[n].history.has_changes() for n in fields):
            continue
        old = (None, None, None) if obj in session.new else tuple(old_value(state, n) for n in fields)
        new = (None, None, None) if obj in session.deleted else (obj.donor_id, obj.currency, obj.paid_at)
        if None not in old and (old[:2] != new[:2] or new[2] != old[2]):
            recompute.add(old[:2])  # the old pair may have lost its first gift
        if None not in new:
            earlier.append(new)
    return earlier, recompute


def apply_first_gifts(session: Session, earlier, recompute) -> None:
    table = DonorFirstGift.__table__
    donors = Donor.__table__
    connection = session.connection()
    for donor_id, currency, paid_at in sorted(earlier, key=lambda r: (r[0], r[1], r[2])):
        upsert(
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
            upsert(session, table, ["donor_id", "currency"],
                    {"donor_id": donor_id, "currency": currency, "first_at": first},
                    {"first_at": lambda c, e: e})  # fmt: skip
    for donor_id in sorted({donor for donor, _ in recompute}):
        first = select(func.min(table.c.first_at)).where(table.c.donor_id == donor_id).scalar_subquery()
        connection.execute(update(donors).where(donors.c.id == donor_id).values(first_gift_at=first))


def relinked_readers(session: Session) -> set[int]:
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


def apply_reader_first_gifts(session: Session, donor_ids: set[int], readers: set[int]) -> None:
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
