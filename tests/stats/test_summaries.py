"""The statistics' summaries (payment_tallies, donor_first_gifts, issue_tallies) always say what the ledgers
say: every figure of the dashboard read from the summaries equals the same figure computed from the
ledgers, on the known history and on a random one made of signed Stripe webhook events; the migration's
set-based backfill gives exactly the rows the flush hook wrote; an issue's tally is written when its send
finishes and follows a later bounce. Bad input tried: refunds (part and all), lost and won disputes, a
failed invoice paid on the retry, a cancelled monthly donation, a gift in another currency, a redelivered
event, a time zone with a half-hour offset (months not cut at whole hours), a bounce for a sent issue."""

from __future__ import annotations

import importlib.util
import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, update

from newsletter.mail import return_paths
from newsletter.readers.models import Subscriber
from newsletter.sending import bounces, progress
from newsletter.sending.models import Delivery, IssueTally
from newsletter.stats import figures
from newsletter.stats.periods import parse_period
from payments.models import (
    Donation,
    DonationKind,
    Donor,
    DonorFirstGift,
    PaymentTally,
)
from payments.reports import money
from tests.payments import ledger
from tests.payments.factories import open_donation
from tests.readers.factories import make_reader
from tests.sending.factories import issue_with_readers, start_send
from tests.support import stripe_api as s
from tests.support.worker import run_jobs

from .history import NOW, build, period


def _migration(name: str = "0014_stats"):
    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"migration_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _same_figures(db, periods):
    for p in periods:
        from_summaries = money.dashboard(db.session, p, currency="eur")
        from_ledger = money.dashboard(db.session, p, currency="eur", from_ledger=True)
        assert from_summaries == from_ledger, p.as_dict()


def test_the_known_history_reads_the_same_from_the_summaries_and_the_ledger(db):
    build(db)
    db.session.commit()
    assert ledger.tallies(db.session) == ledger.tallies_from_ledger(db.session) and ledger.tallies(db.session)
    assert ledger.firsts(db.session) == ledger.firsts_from_ledger(db.session) and ledger.firsts(db.session)
    readers = ledger.reader_firsts(db.session)
    assert readers == ledger.reader_firsts_from_ledger(db.session) and readers
    p = period()
    half_hour = parse_period("custom", "2025-12-01", "2026-01-31", zone="Asia/Kolkata", now=NOW)
    new_york = parse_period("custom", "2025-11-01", "2026-02-28", zone="America/New_York", now=NOW)
    _same_figures(db, [p, p.previous(), half_hour, new_york])
    shown = money.dashboard(db.session, p, currency="eur")
    assert shown["revenue"]["total"]["net_cents"] == money.dashboard(
        db.session, p, currency="eur", from_ledger=True)["revenue"]["total"]["net_cents"]  # fmt: skip


def _post(client, evt):
    assert s.post_event(client, evt).status_code == 200


def _random_history(client, db, rng: random.Random) -> None:
    """One-time and monthly donations of eight people (five of them readers), through the webhook."""
    emails = [f"person{i}@example.org" for i in range(8)]
    for email in emails[:5]:
        make_reader(db, email, source="web", created_at=datetime(2024, 6, 1, tzinfo=UTC))
    db.session.commit()
    now = int(time.time())
    for _ in range(40):
        email = rng.choice(emails)
        customer = "cus_" + email.split("@")[0]
        currency = "usd" if rng.random() < 0.1 else "eur"
        if rng.random() < 0.6:
            amount = rng.choice((300, 500, 1000, 2500))
            donation = open_donation(db, DonationKind.ONE_TIME, amount, currency=currency)
            paid = rng.random() < 0.85
            session = s.completed_session(donation, customer=customer, email=email,
                                          payment_status="paid" if paid else "unpaid")  # fmt: skip
            _post(client, s.event("checkout.session.completed", session))
            if not paid:
                continue
            roll = rng.random()
            if roll < 0.2:
                refunded = rng.choice((100, donation.amount_cents))
                _post(client, s.event("charge.refunded", s.charge(donation, amount_refunded=refunded,
                                                                  customer=customer)))  # fmt: skip
            if rng.random() < 0.2:
                _post(client, s.event("charge.dispute.closed",
                                      s.dispute(donation, status=rng.choice(("lost", "won")))))  # fmt: skip
            continue
        donation = open_donation(db, DonationKind.MONTHLY, rng.choice((500, 1000)), currency=currency)
        start = now - rng.randrange(20, 400) * 86400 + rng.randrange(86400)
        _post(client, s.event("checkout.session.completed",
                              s.completed_session(donation, customer=customer, email=email), created=start))
        for month in range(rng.randrange(1, 5)):
            created = start + month * 30 * 86400
            invoice_id = f"in_{donation.id}_{month}"
            attempts = 1
            if rng.random() < 0.25:
                failed = s.invoice(donation, invoice_id, created=created, paid=False, customer=customer)
                _post(client, s.event("invoice.payment_failed", failed, created=created))
                attempts = 2
            paid = s.invoice(donation, invoice_id, created=created, customer=customer, attempt_count=attempts)
            evt = s.event("invoice.paid", paid, created=created + 3600)
            _post(client, evt)
            if rng.random() < 0.1:
                _post(client, evt)  # redelivered: counted once
        if rng.random() < 0.4:
            reason = rng.choice(("cancellation_requested", "payment_failed"))
            ended = s.subscription(donation, status="canceled", customer=customer, reason=reason)
            _post(client, s.event("customer.subscription.deleted", ended))


def test_a_random_webhook_history_reads_the_same_from_the_summaries_and_the_ledger(client, db, stripe_api):
    _random_history(client, db, random.Random(7))
    db.session.expire_all()
    expected = ledger.tallies_from_ledger(db.session)
    assert ledger.tallies(db.session) == expected and len(expected) > 10
    assert ledger.firsts(db.session) == ledger.firsts_from_ledger(db.session)
    readers = ledger.reader_firsts(db.session)
    assert readers == ledger.reader_firsts_from_ledger(db.session) and readers
    now = datetime.now(UTC)
    periods = [parse_period(name, None, None, zone=zone, now=now)
               for name in ("last_12_months", "this_year", "this_month", "last_30_days")
               for zone in ("Europe/Berlin", "America/New_York", "Asia/Kolkata")]  # fmt: skip
    mid_month = (now - timedelta(days=200)).date().isoformat(), (now - timedelta(days=20)).date().isoformat()
    periods.append(parse_period("custom", *mid_month, zone="Europe/Berlin", now=now))  # days cut mid-month
    _same_figures(db, periods)
    assert money.dashboard(db.session, periods[0], currency="eur")["gifts"]["count"] > 0

    # The migration's set-based backfill gives exactly what the flush hook wrote.
    db.session.execute(delete(PaymentTally))
    db.session.execute(delete(DonorFirstGift))
    db.session.execute(delete(IssueTally))
    db.session.execute(update(Donor).values(first_gift_at=None))
    db.session.execute(update(Subscriber).values(first_gift_at=None))
    connection = db.session.connection()
    for name in ("0014_stats", "0017_reader_first_gift"):
        _migration(name).backfill(lambda sql: connection.exec_driver_sql(sql), connection.dialect.name)
    db.session.expire_all()
    assert ledger.tallies(db.session) == expected
    assert ledger.firsts(db.session) == ledger.firsts_from_ledger(db.session)
    assert ledger.reader_firsts(db.session) == ledger.reader_firsts_from_ledger(db.session)
    _same_figures(db, periods[:3] + periods[-1:])


def test_a_reader_gives_from_the_first_gift_of_the_donor_linked_to_them(db):
    """The reader's first gift follows the donor's: set when the donor is linked or pays earlier, moved
    to the new reader when staff relink a donor, cleared when the reader's last donor goes."""
    build(db)
    db.session.commit()
    readers = db.session.scalars(select(Subscriber).order_by(Subscriber.id)).all()
    linked = select(Donor).where(Donor.subscriber_id.is_not(None)).order_by(Donor.id)
    donor = db.session.scalars(linked).first()
    giver = donor.subscriber_id
    other = next(r for r in readers if r.first_gift_at is None)
    assert db.session.get(Subscriber, giver).first_gift_at == donor.first_gift_at

    donor.subscriber_id = other.id  # relinked: one reader no longer gives, the other does
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Subscriber, other.id).first_gift_at == donor.first_gift_at
    expected = ledger.reader_firsts_from_ledger(db.session).get(giver)
    assert db.session.get(Subscriber, giver).first_gift_at == expected

    earlier = donor.first_gift_at - timedelta(days=40)  # a gift found to have come before
    donation = db.session.scalars(select(Donation).where(Donation.donor_id == donor.id,
                                                         Donation.paid_at.is_not(None))).first()  # fmt: skip
    donation.paid_at = earlier
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Subscriber, other.id).first_gift_at == earlier

    db.session.delete(db.session.get(Donor, donor.id))  # the donor record goes (its donations stay)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Subscriber, other.id).first_gift_at is None
    assert ledger.reader_firsts(db.session) == ledger.reader_firsts_from_ledger(db.session)


def test_an_issue_is_counted_when_its_send_finishes_and_a_later_bounce_moves_it(app, db, relay):
    issue = issue_with_readers(db, readers=("a@example.org", "b@example.org", "c@example.org"))
    start_send(db, issue)
    run_jobs(app)
    relay.wait_for(3)
    db.session.expire_all()
    tally = db.session.get(IssueTally, issue.id)
    assert (tally.recipients, tally.accepted, tally.failed, tally.bounced) == (3, 3, 0, 0)
    p = parse_period("this_month", None, None, zone="Europe/Berlin", now=datetime.now(UTC))
    row = figures.issue_rows(db.session, p)[0]
    assert (row["recipients"], row["sent"], row["bounced"]) == (3, 3, 0)

    delivery = db.session.scalars(select(Delivery).where(Delivery.issue_id == issue.id)).first()
    secret = app.config["SECRET_KEY"]
    signed = return_paths.return_path(secret, "example.org", issue.id, delivery.id)
    address = return_paths.read_return_path(secret, signed)
    report = bounces.Report(key="bounce-1", kind=bounces.HARD, address=address, detail="550 5.1.1 no user")
    assert bounces.apply_report(db.session, report, secret_key=secret, via="test").applied
    db.session.commit()
    assert not bounces.apply_report(db.session, report, secret_key=secret, via="test").applied  # once
    db.session.commit()
    db.session.expire_all()
    from_tally = figures.issue_rows(db.session, p)
    assert from_tally == figures.issue_rows(db.session, p, from_ledger=True)
    assert (from_tally[0]["recipients"], from_tally[0]["sent"], from_tally[0]["bounced"]) == (3, 3, 1)
    assert progress.progress(db.session, issue.id)["sent"] >= 2
