"""A monthly donation's amount as donors change it in Stripe's customer portal: history, not an overwrite.

Every ``customer.subscription.updated`` carries the subscription's current Price. When that amount differs
from the amount our history says was in effect at the event's time, the change is recorded from that time
on (``donation_amount_changes``) and ``donations.amount_cents`` becomes the amount of the latest change.
The first change also records the amount the donation started with (from the donation's creation on), so
"the amount before" is always read from the history itself, never from what an event claims. An event that
arrives late finds its place by its time, and a later event that merely repeats the amount in effect
records nothing, so the history is the same in every order of arrival. The statistics read it for
the MRR of past months (``payments.reports.ledgers``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from payments.models import Donation, DonationAmountChange


def item_amount(items: Any) -> tuple[int, str | None, str | None] | None:
    """(cents per interval, price id, currency) of a subscription's only item, or None. A subscription with
    a second item, the fee its donor covers, has no amount to follow: the customer portal does not change
    subscriptions of several items, so gift and fee stay as they started."""
    data = (items or {}).get("data") if isinstance(items, dict) else None
    if not data or len(data) != 1 or not isinstance(data[0], dict):
        return None
    item = data[0]
    price = item.get("price") if isinstance(item.get("price"), dict) else {}
    unit, quantity = price.get("unit_amount"), item.get("quantity") or 1
    if not isinstance(unit, int) or not isinstance(quantity, int) or unit <= 0 or quantity <= 0:
        return None
    return unit * quantity, price.get("id"), price.get("currency")


def _ordered(donation: Donation) -> list[DonationAmountChange]:
    return sorted(donation.amount_changes, key=lambda c: (c.effective_at, c.id or 0))


def amount_at(donation: Donation, when: datetime) -> int:
    """The monthly amount in effect at ``when``: the latest change up to then, else the amount the
    donation started with."""
    changes = _ordered(donation)
    before = [c for c in changes if c.effective_at <= when]
    if before:
        return before[-1].amount_cents
    return changes[0].amount_cents if changes else donation.amount_cents


def record(
    session: Session, donation: Donation, subscription: dict, *, previous: dict | None,
    effective: datetime | None, event_id: str | None,
) -> bool:  # fmt: skip
    """Record the subscription's amount from ``effective`` on if it differs from the amount in effect
    then. The caller holds the donation's lock. True when a change was recorded."""
    found = item_amount(subscription.get("items"))
    if found is None or effective is None:
        return False
    amount, price_id, currency = found
    if currency and currency.lower() != donation.currency.lower():
        return False
    in_effect = amount_at(donation, effective)
    if amount == in_effect:
        return False
    history = _ordered(donation)
    just_before = effective - timedelta(seconds=1)
    if not history:  # the amount it started with, as the history's first entry
        session.add(DonationAmountChange(
            donation=donation, effective_at=min(donation.created_at, just_before),
            amount_cents=donation.amount_cents, previous_cents=donation.amount_cents,
            stripe_price_id=donation.stripe_price_id,
        ))  # fmt: skip
    elif history[0].effective_at >= effective:  # a Stripe time before our own: the start stays first
        history[0].effective_at = just_before
    before = item_amount((previous or {}).get("items"))
    change = DonationAmountChange(
        donation=donation, effective_at=effective, amount_cents=amount,
        previous_cents=before[0] if before else in_effect, stripe_price_id=price_id,
        stripe_event_id=event_id,
    )  # fmt: skip
    session.add(change)
    latest = _ordered(donation)[-1]
    donation.amount_cents = latest.amount_cents
    if latest.stripe_price_id:
        donation.stripe_price_id = latest.stripe_price_id
    return True
