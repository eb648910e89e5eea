"""What Stripe reports, applied to our donations and payments.

Four rules make the result independent of how Stripe delivers (late, twice, ten times at once, in any
order):

* **Ours only.** An object is ours when its metadata names one of our donations by id *and* by its random
  reference, or when it carries an id we stored ourselves (a subscription, invoice or payment intent of a
  donation of ours). Anything else, another product or installation on the same account, changes nothing.
* **Lock, then read.** Every change locks its donation's row first and only then reads the donation and
  its payments (afresh, ``populate_existing``), so two events on one payment run one after the other and
  the second writes from what the first committed; the summaries (``payments.reports``) take their deltas
  from the same current rows.
* **Totals and states from Stripe, forward only.** ``amount_refunded`` is Stripe's cumulative total and is
  taken as such; states and dispute outcomes only move forward; the donation starts with its earliest
  payment.
* **Stripe's clock.** Paid, refunded, disputed and ended times come from Stripe's objects or the event's
  ``created``, never from the time an event arrived.

An event about a payment not known yet (a refund that overtakes its checkout, a monthly charge before the
invoice that names it) is parked (:mod:`payments.events.parking`) and applied in the transaction that makes
its payment known. No function here talks to Stripe: the webhook never waits on Stripe's API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter import api as newsletter_api
from payments.events import amount_changes
from payments.models import (
    KIND_OF_INTERVAL,
    PAYMENT_RANK,
    RANK,
    DisputeStatus,
    Donation,
    DonationKind,
    DonationPayment,
    DonationStatus,
    EventState,
    PaymentStatus,
)
from payments.receipts.issuing import address_from_stripe, save_address
from payments.supporters import identity, mails, sources

HANDLED = frozenset({
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "invoice.paid",
    "invoice.payment_failed",
    "invoice_payment.paid",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
})  # fmt: skip


@dataclass
class Result:
    """What applying an object did: its state for the event store, a line for Stripe's dashboard and the
    keys (``pi:<id>``, ``invoice:<id>``) it made known, whose parked events can now be applied."""

    detail: str
    state: EventState = EventState.APPLIED
    waits_for: str | None = None
    known: list[str] = field(default_factory=list)


def _ignored(detail: str = "ignored: not a donation of ours") -> Result:
    return Result(detail, EventState.IGNORED)


def _parked(key: str, what: str) -> Result:
    return Result(f"parked: {what} not known yet", EventState.PARKED, waits_for=key)


@dataclass(frozen=True)
class Context:
    session: Session
    base_url: str
    created: int  # the event's own time (Stripe's clock)
    event_id: str | None = None  # None when reconciliation or a lookup applies an object
    previous: dict | None = None  # ``previous_attributes`` of an ``*.updated`` event


def moment(unix: Any, fallback: int | None = None) -> datetime | None:
    """A Unix time of Stripe's as an aware UTC datetime (the fallback when it is missing)."""
    value = unix if isinstance(unix, int) and not isinstance(unix, bool) else fallback
    return datetime.fromtimestamp(value, UTC) if isinstance(value, int) else None


def stripe_id(value: Any) -> str | None:
    """An id that Stripe sends either as a string or, expanded, as an object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


# -- which donation: found without a lock, locked, then read ------------------------------------------


def money_moved_at(charge: Any) -> int | None:
    """When a charge's money moved: its balance transaction's ``created`` when the charge comes with it
    expanded. Stripe makes that transaction when the charge succeeds, for SEPA days after the charge itself
    was made, so it dates a payment found by a lookup as its own event would have."""
    if isinstance(charge, dict) and isinstance(charge.get("balance_transaction"), dict):
        created = charge["balance_transaction"].get("created")
        return created if isinstance(created, int) and not isinstance(created, bool) else None
    return None


def _named(metadata: Any) -> tuple[int, str] | None:
    """The donation id and reference that ``metadata`` names, when both are well-formed."""
    metadata = metadata if isinstance(metadata, dict) else {}
    raw, reference = metadata.get("donation_id"), metadata.get("donation_reference")
    if not isinstance(raw, str) or not raw.isdigit() or len(raw) > 12:
        return None
    if not isinstance(reference, str) or not reference or len(reference) > 40:
        return None
    return int(raw), reference


def by_invoice(session: Session, invoice_id: str | None) -> int | None:
    if not invoice_id:
        return None
    return session.scalar(
        select(DonationPayment.donation_id).where(DonationPayment.stripe_invoice_id == invoice_id)
    )


def by_intent(session: Session, intent: str | None) -> int | None:
    """The donation whose payment has this payment intent."""
    if not intent:
        return None
    return session.scalar(
        select(DonationPayment.donation_id).where(DonationPayment.stripe_payment_intent_id == intent)
    )


def _locked(session: Session, *criteria) -> Donation | None:
    """The donation that matches, its row locked for this transaction and read after the lock; its donor
    and payments are read afresh on first use. (Not joined here: after waiting for the lock, PostgreSQL
    re-reads the locked row but not a joined one, and a donor committed meanwhile would look missing.)"""
    donation = session.execute(
        select(Donation).where(*criteria).with_for_update().execution_options(populate_existing=True)
    ).scalars().first()
    if donation is not None:
        session.expire(donation, ["payments", "amount_changes"])
    return donation


def lock(session: Session, donation_id: int) -> Donation:
    """The donation's row, locked and read after the lock (see :func:`_locked`)."""
    donation = _locked(session, Donation.id == donation_id)
    if donation is None:
        raise LookupError(f"donation {donation_id} is gone")
    return donation


def lock_ours(session: Session, metadata: Any, subscription_id: str | None = None) -> Donation | None:
    """Our donation that ``metadata`` names by id and reference (else the one with this subscription),
    locked in one statement; None for anyone else's."""
    named = _named(metadata)
    if named is not None:
        donation = _locked(session, Donation.id == named[0], Donation.reference == named[1])
        if donation is not None:
            return donation
    if subscription_id:
        return _locked(session, Donation.stripe_subscription_id == subscription_id)
    return None


def _payment_where(session: Session, *criteria) -> DonationPayment | None:
    return session.execute(
        select(DonationPayment).where(*criteria).execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _payment(session: Session, donation: Donation, *, invoice_id: str | None = None,
             intent: str | None = None, amount_cents: int, currency: str,
             stripe_created: int | None = None) -> DonationPayment:  # fmt: skip
    """The donation's payment for this invoice or payment intent (read under the donation's lock), made
    if new (``PENDING``); its payment intent is filled in when it was not known yet."""
    payment = None
    if invoice_id:
        payment = _payment_where(session, DonationPayment.stripe_invoice_id == invoice_id)
    if payment is None and intent:
        payment = _payment_where(session, DonationPayment.stripe_payment_intent_id == intent)
    if payment is None:
        payment = DonationPayment(
            donation=donation, stripe_invoice_id=invoice_id, stripe_payment_intent_id=intent,
            amount_cents=amount_cents, currency=currency, status=PaymentStatus.PENDING,
            stripe_created=stripe_created, refunded_cents=0, failure_count=0,
            fee_covered_cents=min(donation.fee_covered_cents, amount_cents),
        )  # fmt: skip
        session.add(payment)
    if intent and not payment.stripe_payment_intent_id:
        payment.stripe_payment_intent_id = intent
    if stripe_created and not payment.stripe_created:
        payment.stripe_created = stripe_created
    return payment


def _forward(donation: Donation, status: DonationStatus) -> bool:
    if RANK[status] > RANK[donation.status]:
        donation.status = status
        return True
    return False


def _forward_payment(payment: DonationPayment, status: PaymentStatus) -> bool:
    if PAYMENT_RANK[status] > PAYMENT_RANK[payment.status]:
        payment.status = status
        return True
    return False


def _earliest(current: datetime | None, new: datetime | None) -> datetime | None:
    if current is None:
        return new
    return current if new is None or current <= new else new


def _link_donor(ctx: Context, donation: Donation, email: str | None, customer_id: str | None) -> None:
    email = (email or "").strip() or None
    if email and not donation.email:
        donation.email = email
    if donation.donor_id is None:
        donation.donor = identity.donor_for(
            ctx.session, email=donation.email, customer_id=customer_id, locale=donation.locale
        )
    elif customer_id and not donation.donor.stripe_customer_id:
        identity.attach_customer(ctx.session, donation.donor_id, customer_id)


def _mark_paid(ctx: Context, payment: DonationPayment, paid_at: datetime | None, *,
               first: bool = True) -> None:  # fmt: skip
    """The payment was received at ``paid_at`` (Stripe's time). The earliest report wins, so the order in
    which reports arrive changes nothing; the receipt is written once per payment (its cause is unique)."""
    payment.paid_at = _earliest(payment.paid_at, paid_at)
    _forward_payment(payment, PaymentStatus.PAID)
    donation = payment.donation
    donation.paid_at = _earliest(donation.paid_at, payment.paid_at)
    if payment.refunded_cents >= payment.amount_cents > 0:  # a full refund reported before the payment
        _forward_payment(payment, PaymentStatus.REFUNDED)
        if donation.kind is DonationKind.ONE_TIME:
            _forward(donation, DonationStatus.REFUNDED)
    ctx.session.flush()
    mails.queue_receipt(ctx.session, donation, payment, base_url=ctx.base_url, first=first)


# -- one-time and the start of monthly: Checkout ----------------------------------------------------


def _keep_attribution(ctx: Context, donation: Donation, metadata: Any) -> None:
    """Where the gift came from, as the session's metadata tells it (``sources.checkout_metadata``): the
    donation row stays the truth, the metadata fills only what the row lacks."""
    issue_id, link, article = sources.from_checkout_metadata(metadata)
    if donation.issue_id is None and issue_id is not None and newsletter_api.issue_exists(
        ctx.session, issue_id
    ):
        donation.issue_id = issue_id
    donation.source_link = donation.source_link or link
    donation.article_slug = donation.article_slug or article


def checkout_session(ctx: Context, obj: dict, event_type: str) -> Result:
    """``checkout.session.completed`` (paid, or unpaid for SEPA and other delayed methods) and
    ``checkout.session.async_payment_succeeded`` / ``_failed``."""
    donation = lock_ours(ctx.session, obj.get("metadata"))
    if donation is None:
        return _ignored()
    donation.stripe_session_id = donation.stripe_session_id or stripe_id(obj.get("id"))
    _keep_attribution(ctx, donation, obj.get("metadata"))
    details = obj.get("customer_details") or {}
    email = details.get("email") or obj.get("customer_email")
    _link_donor(ctx, donation, email, stripe_id(obj.get("customer")))
    given = address_from_stripe(details)  # collected for a charity's tax receipts
    if given is not None and donation.donor is not None:
        save_address(ctx.session, donation.donor, *given)
    paid = obj.get("payment_status") in ("paid", "no_payment_required")
    failed = event_type == "checkout.session.async_payment_failed"
    if obj.get("mode") == "subscription":
        subscription_id = stripe_id(obj.get("subscription"))
        donation.stripe_subscription_id = donation.stripe_subscription_id or subscription_id
        kind = donation.kind.value
        if failed:
            return Result(f"{kind}: first payment failed")  # the invoice and subscription tell the rest
        _forward(donation, DonationStatus.ACTIVE if paid else DonationStatus.PENDING)
        return Result(f"{kind}: started")
    intent = stripe_id(obj.get("payment_intent"))
    if intent is None:
        return Result("one-time: no payment yet")
    donation.stripe_payment_intent_id = donation.stripe_payment_intent_id or intent
    amount = obj.get("amount_total")
    payment = _payment(
        ctx.session, donation, intent=intent,
        amount_cents=amount if isinstance(amount, int) and amount > 0 else donation.amount_cents,
        currency=obj.get("currency") or donation.currency, stripe_created=obj.get("created"),
    )  # fmt: skip
    known = [f"pi:{intent}"]
    if failed:
        _forward(donation, DonationStatus.FAILED)
        _forward_payment(payment, PaymentStatus.FAILED)
        return Result("one-time: failed", known=known)
    if paid:
        _forward(donation, DonationStatus.PAID)
        _mark_paid(ctx, payment, moment(ctx.created))
        return Result("one-time: paid", known=known)
    _forward(donation, DonationStatus.PENDING)
    return Result("one-time: pending", known=known)


# -- monthly: invoices and the payments that pay them -----------------------------------------------


def invoice_subscription(obj: dict) -> tuple[str | None, dict]:
    """The subscription and its metadata, read as the current API shapes an invoice
    (``parent.subscription_details``); older payloads named it ``subscription`` at the top."""
    details = ((obj.get("parent") or {}).get("subscription_details")) or {}
    subscription = stripe_id(details.get("subscription")) or stripe_id(obj.get("subscription"))
    return subscription, details.get("metadata") or {}


def invoice_intent(obj: dict) -> str | None:
    """The invoice's payment intent when the invoice comes with its payments expanded (a lookup's or
    reconciliation's retrieve); webhook payloads do not carry them."""
    for entry in (obj.get("payments") or {}).get("data") or []:
        if (entry.get("status") or "paid") == "paid":
            intent = stripe_id((entry.get("payment") or {}).get("payment_intent"))
            if intent:
                return intent
    return None


def _invoice_donation(ctx: Context, obj: dict) -> Donation | None:
    subscription, metadata = invoice_subscription(obj)
    donation = lock_ours(ctx.session, metadata, subscription)
    if donation is None or not donation.kind.recurring:
        return None
    donation.stripe_subscription_id = donation.stripe_subscription_id or subscription
    _link_donor(ctx, donation, obj.get("customer_email"), stripe_id(obj.get("customer")))
    return donation


def _invoice_payment_row(ctx: Context, donation: Donation, obj: dict, amount_key: str) -> DonationPayment:
    amount = obj.get(amount_key)
    payment = _payment(
        ctx.session, donation, invoice_id=stripe_id(obj.get("id")), intent=invoice_intent(obj),
        amount_cents=amount if isinstance(amount, int) and amount > 0 else donation.amount_cents,
        currency=obj.get("currency") or donation.currency, stripe_created=obj.get("created"),
    )  # fmt: skip
    reason = obj.get("billing_reason")
    if isinstance(reason, str) and not payment.billing_reason:
        payment.billing_reason = reason[:40]
    return payment


def _known(payment: DonationPayment) -> list[str]:
    keys = [f"invoice:{payment.stripe_invoice_id}"] if payment.stripe_invoice_id else []
    if payment.stripe_payment_intent_id:
        keys.append(f"pi:{payment.stripe_payment_intent_id}")
    return keys


def _first_period(payment: DonationPayment) -> bool:
    """The receipt says "first" for the first billing period (Stripe's ``subscription_create``), whatever
    month's invoice happened to arrive first."""
    if payment.billing_reason:
        return payment.billing_reason == "subscription_create"
    return False


def invoice_paid(ctx: Context, obj: dict) -> Result:
    """``invoice.paid``: a month of a monthly donation (the first one too), paid at the invoice's own
    ``status_transitions.paid_at``."""
    donation = _invoice_donation(ctx, obj)
    if donation is None:
        return _ignored()
    payment = _invoice_payment_row(ctx, donation, obj, "amount_paid")
    _forward(donation, DonationStatus.ACTIVE)
    paid_at = moment((obj.get("status_transitions") or {}).get("paid_at"), ctx.created)
    _mark_paid(ctx, payment, paid_at, first=_first_period(payment))
    return Result(f"{donation.kind.value}: paid", known=_known(payment))


def invoice_payment_failed(ctx: Context, obj: dict) -> Result:
    """``invoice.payment_failed``: a renewal did not go through; the donor gets one friendly mail per
    invoice, however often Stripe retries it."""
    donation = _invoice_donation(ctx, obj)
    if donation is None:
        return _ignored()
    payment = _invoice_payment_row(ctx, donation, obj, "amount_due")
    attempts = obj.get("attempt_count")
    payment.failure_count = max(payment.failure_count, attempts if isinstance(attempts, int) else 1)
    if _forward_payment(payment, PaymentStatus.FAILED) and donation.status is not DonationStatus.ENDED:
        ctx.session.flush()
        mails.queue_card_failed(ctx.session, donation, payment, base_url=ctx.base_url)
    return Result(f"{donation.kind.value}: payment failed", known=_known(payment))


def invoice_payment_paid(ctx: Context, obj: dict) -> Result:
    """``invoice_payment.paid``: which payment intent paid which invoice. It is how a monthly payment
    learns its payment intent (and so its refunds and disputes) without asking Stripe; it waits for its
    invoice when it comes first."""
    invoice_id = stripe_id(obj.get("invoice"))
    intent = stripe_id((obj.get("payment") or {}).get("payment_intent"))
    if invoice_id is None or obj.get("status") not in (None, "paid"):
        return _ignored("ignored: not a paid invoice payment")
    donation_id = by_invoice(ctx.session, invoice_id)
    if donation_id is None:
        return _parked(f"invoice:{invoice_id}", "invoice")
    donation = lock(ctx.session, donation_id)
    payment = _payment_where(ctx.session, DonationPayment.stripe_invoice_id == invoice_id)
    if intent and not payment.stripe_payment_intent_id:
        taken = by_intent(ctx.session, intent)
        if taken is None:
            payment.stripe_payment_intent_id = intent
    _forward(donation, DonationStatus.ACTIVE)
    paid_at = moment((obj.get("status_transitions") or {}).get("paid_at"), ctx.created)
    _mark_paid(ctx, payment, paid_at, first=_first_period(payment))
    return Result(f"{donation.kind.value}: payment linked", known=_known(payment))


# -- monthly: the subscription ----------------------------------------------------------------------

_ENDED_SUBSCRIPTION = ("canceled", "incomplete_expired")


def subscription(ctx: Context, obj: dict, event_type: str) -> Result:
    """``customer.subscription.updated`` / ``.deleted``: Stripe's status of the monthly donation (the
    newest event winning; a cancelled subscription stays cancelled) and its amount, kept as history."""
    subscription_id = stripe_id(obj.get("id"))
    donation = lock_ours(ctx.session, obj.get("metadata"), subscription_id)
    if donation is None or not donation.kind.recurring:
        return _ignored()
    donation.stripe_subscription_id = donation.stripe_subscription_id or subscription_id
    _follow_interval(donation, obj)
    _link_donor(ctx, donation, None, stripe_id(obj.get("customer")))
    changed = event_type == "customer.subscription.updated" and amount_changes.record(
        ctx.session, donation, obj, previous=ctx.previous, effective=moment(ctx.created),
        event_id=ctx.event_id,
    )  # fmt: skip
    status = "canceled" if event_type == "customer.subscription.deleted" else str(obj.get("status") or "")
    detail = _subscription_status(ctx, donation, obj, status)
    return Result(f"{detail}; amount changed" if changed else detail)


def subscription_interval(obj: dict) -> str | None:
    """The billing interval of a subscription's Prices (``month``, ``year``) when every item has the same
    one, once per interval; None otherwise (items without Prices, mixed or multiple intervals)."""
    found = set()
    for item in ((obj.get("items") or {}).get("data")) or []:
        recurring = ((item or {}).get("price") or {}).get("recurring") or {}
        found.add((recurring.get("interval"), recurring.get("interval_count") or 1))
    if len(found) != 1:
        return None
    interval, count = found.pop()
    return interval if count == 1 and isinstance(interval, str) else None


def _follow_interval(donation: Donation, obj: dict) -> None:
    """The subscription's Price interval decides monthly or yearly (the donation was started as one; a
    subscription switched at Stripe follows). An interval Beitrag does not offer changes nothing."""
    kind = KIND_OF_INTERVAL.get(subscription_interval(obj) or "")
    if kind is not None and kind is not donation.kind:
        donation.kind = kind


def _subscription_status(ctx: Context, donation: Donation, obj: dict, status: str) -> str:
    if donation.subscription_status in _ENDED_SUBSCRIPTION:
        return f"{donation.kind.value}: already ended"
    if status not in _ENDED_SUBSCRIPTION:
        if donation.subscription_status_at is not None and ctx.created < donation.subscription_status_at:
            return f"{donation.kind.value}: older news"
        donation.subscription_status = status[:32]
        donation.subscription_status_at = ctx.created
        if status in ("active", "past_due", "unpaid"):
            _forward(donation, DonationStatus.ACTIVE)
        return f"{donation.kind.value}: {status}"
    donation.subscription_status = status
    donation.subscription_status_at = ctx.created
    reason = (obj.get("cancellation_details") or {}).get("reason")
    donation.cancel_reason = (reason[:64] if isinstance(reason, str) else None) or donation.cancel_reason
    if _forward(donation, DonationStatus.ENDED):
        donation.ended_at = moment(obj.get("ended_at") or obj.get("canceled_at"), ctx.created)
        ctx.session.flush()
        if status == "canceled":  # not for a checkout whose first payment never came (incomplete_expired)
            mails.queue_ended(ctx.session, donation, base_url=ctx.base_url)
    return f"{donation.kind.value}: ended"


# -- refunds and disputes, of one-time and monthly payments alike -----------------------------------


def _payment_of_intent(ctx: Context, intent: str) -> DonationPayment | None:
    donation_id = by_intent(ctx.session, intent)
    if donation_id is None:
        return None
    lock(ctx.session, donation_id)
    return _payment_where(ctx.session, DonationPayment.stripe_payment_intent_id == intent)


def _latest_refund_time(obj: dict, fallback: int) -> datetime | None:
    times = [r.get("created") for r in ((obj.get("refunds") or {}).get("data") or []) if isinstance(r, dict)]
    times = [t for t in times if isinstance(t, int)]
    return moment(max(times) if times else None, fallback)


def charge_refunded(ctx: Context, obj: dict) -> Result:
    """``charge.refunded``, partial or full: Stripe's cumulative ``amount_refunded`` is the refunded total
    (never added up here, so a redelivery or a late earlier refund changes nothing)."""
    intent = stripe_id(obj.get("payment_intent"))
    if intent is None:
        return _ignored()
    payment = _payment_of_intent(ctx, intent)
    if payment is None:
        return _parked(f"pi:{intent}", "payment")
    refunded = obj.get("amount_refunded")
    refunded = refunded if isinstance(refunded, int) and refunded >= 0 else 0
    if refunded > payment.refunded_cents:
        payment.refunded_cents = min(refunded, payment.amount_cents)
        payment.refunded_at = _latest_refund_time(obj, ctx.created)
    in_full = bool(obj.get("refunded")) or payment.refunded_cents >= payment.amount_cents
    if in_full and payment.paid_at is not None:
        _forward_payment(payment, PaymentStatus.REFUNDED)
        if payment.donation.kind is DonationKind.ONE_TIME:
            _forward(payment.donation, DonationStatus.REFUNDED)
        return Result("refunded in full")
    return Result("refunded in part")


_DISPUTE_RANK = {None: 0, DisputeStatus.OPEN: 1, DisputeStatus.WON: 2, DisputeStatus.LOST: 2}


def dispute(ctx: Context, obj: dict, event_type: str) -> Result:
    """``charge.dispute.created`` / ``.closed``: open, then won or lost (a late "created" changes nothing)."""
    intent = stripe_id(obj.get("payment_intent"))
    if intent is None:
        return _ignored()
    payment = _payment_of_intent(ctx, intent)
    if payment is None:
        return _parked(f"pi:{intent}", "payment")
    if event_type == "charge.dispute.closed":
        status = DisputeStatus.LOST if obj.get("status") == "lost" else DisputeStatus.WON
    else:
        status = DisputeStatus.OPEN
    if _DISPUTE_RANK[status] > _DISPUTE_RANK[payment.dispute_status]:
        payment.dispute_status = status
    payment.disputed_at = _earliest(payment.disputed_at, moment(obj.get("created"), ctx.created))
    return Result(f"dispute {payment.dispute_status.value}")


# -- one event ----------------------------------------------------------------------------------------


def apply_object(ctx: Context, kind: str, obj: dict) -> Result:
    """Apply one object as the event type ``kind`` reports it, in the caller's transaction."""
    if not isinstance(obj, dict):
        return _ignored("ignored: no object")
    if kind.startswith("checkout.session."):
        return checkout_session(ctx, obj, kind)
    if kind == "invoice.paid":
        return invoice_paid(ctx, obj)
    if kind == "invoice.payment_failed":
        return invoice_payment_failed(ctx, obj)
    if kind == "invoice_payment.paid":
        return invoice_payment_paid(ctx, obj)
    if kind.startswith("customer.subscription."):
        return subscription(ctx, obj, kind)
    if kind == "charge.refunded":
        return charge_refunded(ctx, obj)
    if kind.startswith("charge.dispute."):
        return dispute(ctx, obj, kind)
    return _ignored("ignored: not an event Beitrag uses")


def apply_event(session: Session, event: dict, *, base_url: str) -> Result:
    """Apply a verified event's object (no event store: see ``webhooks`` and ``parking``)."""
    data = event.get("data") or {}
    created = event.get("created")
    previous = data.get("previous_attributes")
    ctx = Context(
        session, base_url, created if isinstance(created, int) else 0, event_id=event.get("id"),
        previous=previous if isinstance(previous, dict) else None,
    )  # fmt: skip
    return apply_object(ctx, event["type"], data.get("object"))
