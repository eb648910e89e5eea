"""A known history of readers, issues, donations and payments, with every figure worked out by hand.

The period is December 2025 and January 2026 in Europe/Berlin (a year boundary); times sit next to
local midnight so that a figure counted in UTC months, or in the wrong zone, comes out wrong.
"""

from __future__ import annotations

from datetime import UTC, datetime

from newsletter.editorial.models import IssueState
from newsletter.readers.models import SubscriberEvent, SubscriberStatus
from newsletter.sending.models import Delivery, DeliveryStatus
from newsletter.stats.periods import Period, parse_period
from payments.models import (
    DisputeStatus,
    Donation,
    DonationKind,
    DonationPayment,
    DonationStatus,
    Donor,
    PaymentStatus,
)
from tests.editorial.factories import make_issue
from tests.readers.factories import make_newsletter, make_reader

ZONE = "Europe/Berlin"
NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def period() -> Period:
    """The two months of this history, as the dashboard's custom period asks for them."""
    return parse_period("custom", "2025-12-01", "2026-01-31", zone=ZONE, now=NOW)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _reader(db, email, status, created, *, source=None, confirmed=None, newsletter=None):
    return make_reader(
        db, email, status=status, source=source, created_at=at(created),
        confirmed_at=at(confirmed) if confirmed else None, newsletters=[newsletter] if newsletter else (),
    )  # fmt: skip


def _issue(db, subject, sent):
    """A sent issue without articles: the figures read its ledger rows, not its content."""
    return make_issue(db, subject=subject, sender_name="Redaktion", sender_address="news@example.org",
                      state=IssueState.SENT, sent_at=at(sent))  # fmt: skip


def _deliver(session, issue, reader, status):
    session.add(Delivery(issue_id=issue.id, subscriber_id=reader.id, status=status, sent_at=issue.sent_at))


def _donor(session, email, reader=None):
    donor = Donor(email=email, subscriber_id=reader.id if reader else None)
    session.add(donor)
    session.flush()
    return donor


_refs = iter(range(1, 10_000))


def _donation(session, donor, kind, amount, status, paid, *, currency="eur", issue=None, link=None,
              ended=None, reason=None):  # fmt: skip
    donation = Donation(reference=f"ref{next(_refs)}-{donor.id}-{amount}", donor=donor, kind=kind,
                        amount_cents=amount, currency=currency, status=status,
                        paid_at=at(paid) if paid else None, ended_at=at(ended) if ended else None,
                        cancel_reason=reason, issue_id=issue.id if issue else None, source_link=link,
                        created_at=at(paid) if paid else at("2026-01-01T00:00:00"))  # fmt: skip
    session.add(donation)
    session.flush()
    return donation


def _pay(session, donation, paid, *, amount=None, status=PaymentStatus.PAID, refunded=0, dispute=None,
         failures=0, currency=None):  # fmt: skip
    session.add(DonationPayment(
        donation_id=donation.id, amount_cents=amount or donation.amount_cents,
        currency=currency or donation.currency, status=status, refunded_cents=refunded,
        dispute_status=dispute, failure_count=failures, paid_at=at(paid) if paid else None,
    ))  # fmt: skip


def build(db) -> dict:
    session = db.session
    morning = make_newsletter(db, "morgen", "Morgen")
    A = SubscriberStatus.ACTIVE
    r1 = _reader(
        db,
        "r1@example.org",
        A,
        "2025-06-01T08:00:00",
        source="web",
        newsletter=morning,
        confirmed="2025-06-01T08:00:00",
    )
    r2 = _reader(
        db,
        "r2@example.org",
        A,
        "2025-06-01T08:00:00",
        source="web",
        newsletter=morning,
        confirmed="2025-06-01T08:00:00",
    )
    r3 = _reader(
        db,
        "r3@example.org",
        A,
        "2025-06-01T08:00:00",
        source="import",
        newsletter=morning,
        confirmed="2025-06-01T08:00:00",
    )
    r4 = _reader(
        db,
        "r4@example.org",
        A,
        "2025-06-01T08:00:00",
        newsletter=morning,
        confirmed="2025-06-01T08:00:00",
    )
    # 1 December 00:30 in Berlin: December, although it is still 30 November in UTC.
    r5 = _reader(
        db,
        "r5@example.org",
        SubscriberStatus.UNSUBSCRIBED,
        "2025-11-30T23:30:00",
        source="web",
        newsletter=morning,
        confirmed="2025-11-30T23:30:00",
    )
    r6 = _reader(
        db,
        "r6@example.org",
        SubscriberStatus.UNSUBSCRIBED,
        "2025-09-01T08:00:00",
        source="web",
        newsletter=morning,
        confirmed="2025-09-01T08:00:00",
    )
    # Signed up at 23:59 on New Year's Eve in Berlin, confirmed at 00:01 on New Year's Day.
    _reader(
        db,
        "r7@example.org",
        A,
        "2025-12-31T22:59:00",
        source="social",
        confirmed="2025-12-31T23:01:00",
    )
    r8 = _reader(
        db,
        "r8@example.org",
        SubscriberStatus.BOUNCED,
        "2025-06-01T08:00:00",
        source="web",
        newsletter=morning,
        confirmed="2025-06-01T08:00:00",
    )
    issue1 = _issue(db, "Advent issue", "2025-12-10T06:00:00")
    issue2 = _issue(db, "January issue", "2026-01-20T06:00:00")
    old = _issue(db, "Autumn issue", "2025-10-10T06:00:00")  # the previous period: not in the table
    S = DeliveryStatus
    for reader, status in (
        (r1, S.SENT),
        (r2, S.SENT),
        (r3, S.FAILED),
        (r4, S.SENT),
        (r5, S.SENT),
        (r6, S.SENT),
    ):
        _deliver(session, issue1, reader, status)
    for reader, status in ((r1, S.SENT), (r8, S.BOUNCED), (r5, S.SENT)):
        _deliver(session, issue2, reader, status)
    _deliver(session, old, r1, S.SENT)
    session.flush()  # the issues went out before the readers left (who is blamed is decided as they leave)
    session.add_all([
        SubscriberEvent(subscriber_id=r6.id, kind="unsubscribed", created_at=at("2025-12-20T10:00:00")),
        SubscriberEvent(subscriber_id=r5.id, kind="unsubscribed", created_at=at("2026-01-22T10:00:00")),
        SubscriberEvent(subscriber_id=r8.id, kind="bounced", created_at=at("2026-01-21T08:00:00")),
    ])  # fmt: skip

    ONE, MONTHLY = DonationKind.ONE_TIME, DonationKind.MONTHLY
    P = DonationStatus
    # One-time gifts.
    a = _donation(
        session,
        _donor(session, "r1@example.org", r1),
        ONE,
        1000,
        P.PAID,
        "2025-11-30T23:30:00",
        issue=issue1,
        link="ask",
    )
    _pay(session, a, "2025-11-30T23:30:00")  # 00:30 on 1 December in Berlin
    b = _donation(session, _donor(session, "b@example.org"), ONE, 2500, P.PAID, "2025-11-30T22:59:00")
    _pay(session, b, "2025-11-30T22:59:00")  # 23:59 on 30 November in Berlin: before the period
    c = _donation(
        session,
        _donor(session, "c@example.org"),
        ONE,
        5000,
        P.PAID,
        "2025-12-31T23:10:00",
        issue=issue1,
        link="top",
    )
    _pay(session, c, "2025-12-31T23:10:00", refunded=2000)  # New Year's Day in Berlin; 20 EUR refunded
    d = _donation(session, _donor(session, "d@example.org"), ONE, 3000, P.PAID, "2026-01-10T12:00:00")
    _pay(session, d, "2026-01-10T12:00:00", dispute=DisputeStatus.LOST)
    e = _donation(session, _donor(session, "e@example.org"), ONE, 1500, P.REFUNDED, "2026-01-12T12:00:00")
    _pay(session, e, "2026-01-12T12:00:00", status=PaymentStatus.REFUNDED, refunded=1500)
    f = _donation(session, _donor(session, "f@example.org"), ONE, 2000, P.PAID, "2026-01-13T12:00:00")
    _pay(session, f, "2026-01-13T12:00:00", dispute=DisputeStatus.WON)
    usd = _donation(
        session, _donor(session, "j@example.org"), ONE, 10000, P.PAID, "2026-01-02T12:00:00", currency="usd"
    )
    _pay(session, usd, "2026-01-02T12:00:00")
    pending = _donation(session, _donor(session, "k@example.org"), ONE, 7000, P.PENDING, None)
    _pay(session, pending, None, status=PaymentStatus.PENDING)
    # Monthly gifts.
    g = _donation(
        session, _donor(session, "r2@example.org", r2), MONTHLY, 500, P.ACTIVE, "2025-10-05T09:00:00"
    )
    for day in ("2025-10-05", "2025-11-05", "2025-12-05", "2026-01-05"):
        _pay(session, g, f"{day}T09:00:00")
    h = _donation(
        session,
        _donor(session, "h@example.org"),
        MONTHLY,
        1000,
        P.ENDED,
        "2025-12-03T09:00:00",
        issue=issue2,
        link="ask",
        ended="2026-01-20T18:00:00",
        reason="cancellation_requested",
    )
    _pay(session, h, "2025-12-03T09:00:00")
    _pay(session, h, "2026-01-06T09:00:00", failures=1)  # failed on the 3rd, paid on Stripe's retry
    i = _donation(
        session,
        _donor(session, "i@example.org"),
        MONTHLY,
        300,
        P.ENDED,
        "2025-11-15T09:00:00",
        ended="2026-01-29T09:00:00",
        reason="payment_failed",
    )
    _pay(session, i, "2025-11-15T09:00:00")
    _pay(session, i, "2025-12-15T09:00:00")
    _pay(session, i, None, status=PaymentStatus.FAILED, failures=4)
    session.commit()
    return {"issue1": issue1.id, "issue2": issue2.id, "newsletter": morning.id}
