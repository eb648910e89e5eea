"""The statistics' summaries checked against the ledger they sum: what the payment tallies, the donors'
and the readers' first gifts hold, and what they must hold, computed here in Python from every row. Used
after every run that writes payments (concurrent, shuffled, replayed): :func:`assert_summaries_match`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.readers.models import Subscriber
from payments.models import (
    DisputeStatus,
    Donation,
    DonationPayment,
    Donor,
    DonorFirstGift,
    PaymentStatus,
    PaymentTally,
)


def tallies(session: Session) -> dict:
    return {
        (t.starts_at, t.currency, bool(t.monthly), t.amount_cents, bool(t.recovered)):
            (t.payments, t.refunded_cents, t.lost_cents)
        for t in session.scalars(select(PaymentTally))
        if (t.payments, t.refunded_cents, t.lost_cents) != (0, 0, 0)
    }  # fmt: skip


def span(moment: datetime) -> datetime:
    """The UTC hour on the first and last day of a month, else the UTC day."""
    hour = moment.replace(minute=0, second=0, microsecond=0)
    return hour if moment.day == 1 or (moment + timedelta(days=1)).day == 1 else hour.replace(hour=0)


def tallies_from_ledger(session: Session) -> dict:
    """What the tallies must hold, summed here in Python from every payment row."""
    expected: dict = {}
    for p in session.scalars(select(DonationPayment)):
        if p.status not in (PaymentStatus.PAID, PaymentStatus.REFUNDED) or p.paid_at is None:
            continue
        key = (span(p.paid_at), p.currency,
               p.donation.kind.recurring, p.amount_cents, p.failure_count > 0)  # fmt: skip
        lost = p.amount_cents - p.refunded_cents if p.dispute_status is DisputeStatus.LOST else 0
        n, refunded, lost_sum = expected.get(key, (0, 0, 0))
        expected[key] = (n + 1, refunded + p.refunded_cents, lost_sum + lost)
    return expected


def firsts(session: Session) -> dict:
    firsts = {(f.donor_id, f.currency): f.first_at for f in session.scalars(select(DonorFirstGift))}
    for donor in session.scalars(select(Donor).where(Donor.first_gift_at.is_not(None))):
        firsts[(donor.id, None)] = donor.first_gift_at  # any currency
    return firsts


def firsts_from_ledger(session: Session) -> dict:
    expected: dict = {}
    for d in session.scalars(select(Donation).where(Donation.paid_at.is_not(None))):
        if d.donor_id is not None:
            key = (d.donor_id, d.currency)
            expected[key] = min(expected.get(key, d.paid_at), d.paid_at)
            expected[(d.donor_id, None)] = min(expected.get((d.donor_id, None), d.paid_at), d.paid_at)
    return expected


def reader_firsts(session: Session) -> dict:
    return {r.id: r.first_gift_at for r in session.scalars(select(Subscriber)) if r.first_gift_at}


def reader_firsts_from_ledger(session: Session) -> dict:
    """Per reader: the first gift received from any donor linked to them, read from the donations."""
    expected: dict = {}
    rows = session.execute(
        select(Donor.subscriber_id, Donation.paid_at).join(Donation, Donation.donor_id == Donor.id)
        .where(Donor.subscriber_id.is_not(None), Donation.paid_at.is_not(None))
    )  # fmt: skip
    for reader, paid_at in rows:
        expected[reader] = min(expected.get(reader, paid_at), paid_at)
    return expected


def assert_summaries_match(session: Session) -> None:
    session.expire_all()
    assert tallies(session) == tallies_from_ledger(session)
    assert firsts(session) == firsts_from_ledger(session)
    assert reader_firsts(session) == reader_firsts_from_ledger(session)
