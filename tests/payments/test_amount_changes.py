"""A donor changes the monthly amount in Stripe's customer portal: ``customer.subscription.updated`` with
another Price. The donation's amount follows from the change's time on, kept as history, and the MRR of
every month says the amount in effect then, whatever order the events came in. Tried: the change, a later
status-only update arriving before it, the same change twice (redelivered), a change back, an update in
another currency, an update of someone else's subscription."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

from sqlalchemy import select

from newsletter.stats.periods import parse_period
from payments.models import Donation, DonationAmountChange, DonationKind
from payments.reports import money
from tests.payments.factories import open_donation
from tests.support import stripe_api as s

T0 = datetime(2026, 7, 3, 9, 0, tzinfo=UTC)  # the first payment
T1 = datetime(2026, 8, 20, 12, 0, tzinfo=UTC)  # 5 -> 10 EUR
T2 = datetime(2026, 9, 12, 8, 0, tzinfo=UTC)  # past_due, still 10 EUR (says nothing new about the amount)
T3 = datetime(2026, 10, 2, 8, 0, tzinfo=UTC)  # 10 -> 7.50 EUR


def _at(moment: datetime) -> int:
    return int(moment.timestamp())


def _with_price(donation, status: str, amount: int, currency: str = "eur", sub_id: str | None = None) -> dict:
    obj = s.subscription(donation, status=status, sub_id=sub_id)
    obj["items"]["data"][0].update({
        "quantity": 1,
        "price": {"id": f"price_{currency}_{amount}", "object": "price", "currency": currency,
                  "unit_amount": amount, "recurring": {"interval": "month"}, "product": "beitrag-monthly"},
    })  # fmt: skip
    return obj


def _change(donation, *, old: int, new: int, when: datetime, status: str = "active") -> dict:
    evt = s.event("customer.subscription.updated", _with_price(donation, status, new), created=_at(when))
    old_items = _with_price(donation, status, old)["items"]
    evt["data"]["previous_attributes"] = {"items": old_items}
    return evt


def _started(client, db):
    donation = open_donation(db, DonationKind.MONTHLY, 500, email="monat@example.org")
    completed = s.event("checkout.session.completed", s.completed_session(donation), created=_at(T0))
    assert s.post_event(client, completed).status_code == 200
    first = s.invoice(donation, f"in_first_{donation.id}", created=_at(T0) - 60)
    first["billing_reason"] = "subscription_create"
    assert s.post_event(client, s.event("invoice.paid", first, created=_at(T0))).status_code == 200
    return donation


def _mrr(db) -> list[int]:
    period = parse_period("custom", "2026-07-01", "2026-10-31", zone="Europe/Berlin",
                          now=datetime(2026, 12, 7, tzinfo=UTC))  # fmt: skip
    return [row["mrr_cents"] for row in money.mrr_by_month(db.session, period, "eur")]


def test_every_order_of_changes_gives_the_same_history_and_mrr(client, db, stripe_api):
    for order in itertools.permutations(range(3)):
        donation = _started(client, db)
        events = [
            _change(donation, old=500, new=1000, when=T1),
            s.event("customer.subscription.updated", _with_price(donation, "past_due", 1000),
                    created=_at(T2)),
            _change(donation, old=1000, new=750, when=T3),
        ]
        for i in order:
            assert s.post_event(client, events[i]).status_code == 200, order
        db.session.expire_all()
        changes = db.session.scalars(
            select(DonationAmountChange).where(DonationAmountChange.donation_id == donation.id)
            .order_by(DonationAmountChange.effective_at)
        ).all()  # fmt: skip
        amounts = [(c.effective_at, c.amount_cents) for c in changes]
        assert amounts[0][1] == 500 and amounts[0][0] < T1, order  # the amount it started with
        assert amounts[1] == (T1, 1000) and amounts[-1] == (T3, 750), order
        assert db.session.get(Donation, donation.id).amount_cents == 750
        # The MRR at each month's end: July 5, August 10, September 10, October 7.50 EUR.
        assert _mrr(db) == [500, 1000, 1000, 750], order
        # Each order runs on its own donation: this one goes before the next, so the MRR is of one donor.
        db.session.delete(db.session.get(Donation, donation.id))
        db.session.commit()


def test_a_redelivered_change_and_foreign_or_other_currency_updates_change_nothing(client, db, stripe_api):
    donation = _started(client, db)
    change = _change(donation, old=500, new=1000, when=T1)
    assert s.post_event(client, change).status_code == 200
    assert s.post_event(client, change).get_json()["status"] == "duplicate"
    other_currency = s.event("customer.subscription.updated", _with_price(donation, "active", 900, "usd"),
                             created=_at(T2))  # fmt: skip
    assert s.post_event(client, other_currency).status_code == 200
    foreign = _with_price(donation, "active", 5000, sub_id="sub_someone_else")
    foreign["metadata"] = {"donation_id": str(donation.id), "donation_reference": "not-ours"}
    answer = s.post_event(client, s.event("customer.subscription.updated", foreign, created=_at(T2)))
    assert answer.status_code == 200 and answer.get_json()["status"].startswith("ignored")
    db.session.expire_all()
    assert db.session.get(Donation, donation.id).amount_cents == 1000
    assert len(db.session.scalars(select(DonationAmountChange)).all()) == 2  # the start and the change
    assert _mrr(db) == [500, 1000, 1000, 1000]


def test_a_change_back_is_history_too(client, db, stripe_api):
    donation = _started(client, db)
    s.post_event(client, _change(donation, old=500, new=1000, when=T1))
    s.post_event(client, _change(donation, old=1000, new=500, when=T3))
    db.session.expire_all()
    assert db.session.get(Donation, donation.id).amount_cents == 500
    assert _mrr(db) == [500, 1000, 1000, 500]
