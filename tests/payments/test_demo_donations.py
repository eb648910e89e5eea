"""``demo load`` leaves a year of donation history, ending yesterday: one-time and monthly gifts, churn,
refunds, disputes and failed payments, and readers in every supporter state."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from db import utcnow
from newsletter import ports
from newsletter.readers.models import Subscriber
from payments.models import Donation, DonationKind, DonationPayment, DonationStatus, PaymentStatus


def test_demo_donations_cover_every_state(runner, db):
    result = runner.invoke(args=["demo", "load", "--subscribers", "2400"])
    assert result.exit_code == 0, result.output
    assert " donations." in result.output
    donations = db.session.scalars(select(Donation)).all()
    payments = db.session.scalars(select(DonationPayment)).all()
    assert {d.kind for d in donations} == set(DonationKind)
    assert {DonationStatus.PAID, DonationStatus.ACTIVE, DonationStatus.ENDED, DonationStatus.REFUNDED} <= {
        d.status for d in donations
    }
    assert {d.cancel_reason for d in donations if d.status is DonationStatus.ENDED} >= {"payment_failed"}
    assert any(p.status is PaymentStatus.FAILED for p in payments)
    assert any(0 < p.refunded_cents < p.amount_cents for p in payments)
    oldest = min(p.paid_at for p in payments if p.paid_at)
    assert timedelta(days=200) < utcnow() - oldest < timedelta(days=365)
    assert all(p.paid_at < utcnow() - timedelta(minutes=5) for p in payments if p.paid_at)
    readers = db.session.scalars(select(Subscriber))
    states = {ports.supporter_state(db.session, reader) for reader in readers}
    assert states == {"never", "one_time", "monthly", "lapsed", "failing"}
