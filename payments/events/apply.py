"""What Stripe reports, applied to our donations and payments: states move only forward."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import utcnow
from newsletter import api as newsletter_api
from payments import gateway
from payments.models import (
    PAYMENT_RANK,
    RANK,
    DisputeStatus,
    Donation,
    DonationKind,
    DonationPayment,
    DonationStatus,
    Donor,
    PaymentStatus,
)
from payments.supporters import mails


class RetryLater(RuntimeError):
    """The event speaks of a payment we cannot place yet; Stripe should deliver it again later."""


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


def _lock(session: Session, donation_id: int) -> Donation | None:
    return session.scalar(select(Donation).where(Donation.id == donation_id).with_for_update())


def _donation_from_metadata(session: Session, metadata: Any) -> Donation | None:
    raw = (metadata or {}).get("donation_id")
    if not isinstance(raw, str) or not raw.isdigit():
        return None
    donation = _lock(session, int(raw))
    reference = (metadata or {}).get("donation_reference")
    if donation is not None and reference and reference != donation.reference:
        return None  # not ours: another installation sharing the Stripe account
    return donation


def _when(unix: Any) -> datetime:
    return datetime.fromtimestamp(int(unix), UTC) if isinstance(unix, int) else utcnow()


def _link_donor(session: Session, donation: Donation, email: str | None, customer_id: str | None) -> None:
    """The donor with this address (regardless of case), made if new, and linked to the reader with it."""
    email = (email or donation.email or "").strip() or None
    if email:
        donation.email = donation.email or email
    donor = donation.donor
    if donor is None and customer_id:
        donor = session.scalar(select(Donor).where(Donor.stripe_customer_id == customer_id))
    if donor is None and email:
        donor = session.scalar(select(Donor).where(func.lower(Donor.email) == email.lower()))
    if donor is None and email:
        donor = Donor(email=email, locale=donation.locale)
        session.add(donor)
    if donor is None:
        return
    if customer_id and not donor.stripe_customer_id:
        donor.stripe_customer_id = customer_id
    if donor.subscriber_id is None:
        donor.subscriber_id = newsletter_api.find_subscriber_id(session, donor.email)
    donation.donor = donor
    session.flush()


def _payment(session: Session, donation: Donation, *, invoice_id: str | None = None,
             payment_intent_id: str | None = None, amount_cents: int, currency: str,
             status: PaymentStatus, stripe_created: int | None = None) -> DonationPayment:  # fmt: skip
    """The payment row for an invoice or payment intent, made if new (in ``PENDING``); not yet moved."""
    payment = None
    if invoice_id:
        payment = session.scalar(
            select(DonationPayment).where(DonationPayment.stripe_invoice_id == invoice_id)
        )
    if payment is None and payment_intent_id:
        payment = session.scalar(
            select(DonationPayment).where(DonationPayment.stripe_payment_intent_id == payment_intent_id)
        )
    if payment is None:
        payment = DonationPayment(
            donation=donation, stripe_invoice_id=invoice_id, stripe_payment_intent_id=payment_intent_id,
            amount_cents=amount_cents, currency=currency, status=PaymentStatus.PENDING,
            stripe_created=stripe_created, refunded_cents=0, failure_count=0,
        )  # fmt: skip
        session.add(payment)
    if payment_intent_id and not payment.stripe_payment_intent_id:
        payment.stripe_payment_intent_id = payment_intent_id
    if stripe_created and not payment.stripe_created:
        payment.stripe_created = stripe_created
    return payment


def _mark_paid(session: Session, payment: DonationPayment, paid_at: datetime, *, base_url: str) -> None:
    if payment.status is PaymentStatus.PAID or not _forward_payment(payment, PaymentStatus.PAID):
        return
    payment.paid_at = paid_at
    donation = payment.donation
    donation.paid_at = donation.paid_at or paid_at
    session.flush()
    mails.queue_receipt(session, donation, payment, base_url=base_url)


def apply_checkout_session(session: Session, obj: dict, *, event_type: str, base_url: str) -> str:
    """``checkout.session.completed`` (paid, or unpaid for SEPA and other delayed methods) and
    ``checkout.session.async_payment_succeeded`` / ``_failed``."""
    donation = _donation_from_metadata(session, obj.get("metadata"))
    if donation is None and str(obj.get("client_reference_id") or "").isdigit():
        donation = _lock(session, int(obj["client_reference_id"]))
    if donation is None:
        return "ignored: not a donation of ours"
    donation.stripe_session_id = donation.stripe_session_id or obj.get("id")
    details = obj.get("customer_details") or {}
    _link_donor(session, donation, details.get("email") or obj.get("customer_email"), obj.get("customer"))
    paid = obj.get("payment_status") in ("paid", "no_payment_required")
    failed = event_type == "checkout.session.async_payment_failed"
    amount = obj.get("amount_total") or donation.amount_cents
    currency = obj.get("currency") or donation.currency
    if obj.get("mode") == "subscription":
        donation.stripe_subscription_id = donation.stripe_subscription_id or obj.get("subscription")
        if failed:
            return "monthly: first payment failed"  # the invoice events and the subscription tell the rest
        _forward(donation, DonationStatus.ACTIVE if paid else DonationStatus.PENDING)
        return "monthly: started"
    intent = obj.get("payment_intent")
    donation.stripe_payment_intent_id = donation.stripe_payment_intent_id or intent
    payment = _payment(session, donation, payment_intent_id=intent, amount_cents=amount, currency=currency,
                       status=PaymentStatus.PENDING, stripe_created=obj.get("created"))  # fmt: skip
    if failed:
        _forward(donation, DonationStatus.FAILED)
        _forward_payment(payment, PaymentStatus.FAILED)
        return "one-time: failed"
    if paid:
        _forward(donation, DonationStatus.PAID)
        _mark_paid(session, payment, utcnow(), base_url=base_url)
        return "one-time: paid"
    _forward(donation, DonationStatus.PENDING)
    return "one-time: pending"


def _invoice_subscription(obj: dict) -> tuple[str | None, dict]:
    """The subscription and its metadata, read as the current API shapes an invoice
    (``parent.subscription_details``); older payloads named it ``subscription`` at the top."""
    details = ((obj.get("parent") or {}).get("subscription_details")) or {}
    subscription = details.get("subscription") or obj.get("subscription")
    if isinstance(subscription, dict):
        subscription = subscription.get("id")
    return subscription, details.get("metadata") or {}


def _invoice_payment_intent(obj: dict) -> str | None:
    for entry in (obj.get("payments") or {}).get("data") or []:
        intent = (entry.get("payment") or {}).get("payment_intent")
        if isinstance(intent, dict):
            intent = intent.get("id")
        if intent:
            return intent
    return None


def _donation_for_invoice(session: Session, obj: dict) -> Donation | None:
    subscription, metadata = _invoice_subscription(obj)
    donation = _donation_from_metadata(session, metadata)
    if donation is None and subscription:
        donation = session.scalar(
            select(Donation).where(Donation.stripe_subscription_id == subscription).with_for_update()
        )
    if donation is not None and subscription:
        donation.stripe_subscription_id = donation.stripe_subscription_id or subscription
    return donation


def _invoice_payment(session: Session, obj: dict, *, amount_key: str):
    """The donation an invoice belongs to (donor linked) and the invoice's payment row, found or made
    pending; None when the invoice is not for one of our donations."""
    donation = _donation_for_invoice(session, obj)
    if donation is None:
        return None
    _link_donor(session, donation, obj.get("customer_email"), obj.get("customer"))
    payment = _payment(
        session, donation, invoice_id=obj.get("id"), payment_intent_id=_invoice_payment_intent(obj),
        amount_cents=obj.get(amount_key) or donation.amount_cents,
        currency=obj.get("currency") or donation.currency, status=PaymentStatus.PENDING,
        stripe_created=obj.get("created"),
    )  # fmt: skip
    return donation, payment


def apply_invoice_paid(session: Session, obj: dict, *, base_url: str) -> str:
    """``invoice.paid``: a month of a monthly donation (the first one too)."""
    found = _invoice_payment(session, obj, amount_key="amount_paid")
    if found is None:
        return "ignored: not a donation of ours"
    donation, payment = found
    _forward(donation, DonationStatus.ACTIVE)
    paid_at = (obj.get("status_transitions") or {}).get("paid_at")
    _mark_paid(session, payment, _when(paid_at), base_url=base_url)
    return "monthly: paid"


def apply_invoice_payment_failed(session: Session, obj: dict, *, base_url: str) -> str:
    """``invoice.payment_failed``: a renewal did not go through; the donor gets one friendly mail per
    invoice, however often Stripe retries it."""
    found = _invoice_payment(session, obj, amount_key="amount_due")
    if found is None:
        return "ignored: not a donation of ours"
    donation, payment = found
    payment.failure_count = max(payment.failure_count, int(obj.get("attempt_count") or 1))
    if _forward_payment(payment, PaymentStatus.FAILED) and donation.status is not DonationStatus.ENDED:
        session.flush()
        mails.queue_card_failed(session, donation, payment, base_url=base_url)
    return "monthly: payment failed"


_ENDED_SUBSCRIPTION = ("canceled", "incomplete_expired")


def apply_subscription(
    session: Session, obj: dict, *, event_type: str, event_created: int, base_url: str
) -> str:
    """``customer.subscription.updated`` / ``.deleted``: Stripe's status of the monthly donation, the
    newest event winning; a cancelled subscription stays cancelled."""
    donation = _donation_from_metadata(session, obj.get("metadata"))
    if donation is None and obj.get("id"):
        donation = session.scalar(
            select(Donation).where(Donation.stripe_subscription_id == obj["id"]).with_for_update()
        )
    if donation is None:
        return "ignored: not a donation of ours"
    donation.stripe_subscription_id = donation.stripe_subscription_id or obj.get("id")
    _link_donor(session, donation, None, obj.get("customer"))
    status = "canceled" if event_type == "customer.subscription.deleted" else str(obj.get("status") or "")
    if donation.subscription_status in _ENDED_SUBSCRIPTION:
        return "monthly: already ended"
    if status not in _ENDED_SUBSCRIPTION:
        if donation.subscription_status_at is not None and event_created < donation.subscription_status_at:
            return "monthly: older news"
        donation.subscription_status = status
        donation.subscription_status_at = event_created
        if status in ("active", "past_due", "unpaid"):
            _forward(donation, DonationStatus.ACTIVE)
        return f"monthly: {status}"
    donation.subscription_status = status
    donation.subscription_status_at = event_created
    donation.cancel_reason = ((obj.get("cancellation_details") or {}).get("reason")) or donation.cancel_reason
    if _forward(donation, DonationStatus.ENDED):
        donation.ended_at = _when(obj.get("ended_at") or obj.get("canceled_at"))
        session.flush()
        if status == "canceled":  # not for a checkout whose first payment never came (incomplete_expired)
            mails.queue_ended(session, donation, base_url=base_url)
    return "monthly: ended"


def _payment_for_intent(session: Session, settings: gateway.StripeSettings | None, intent: str | None,
                        customer: str | None, amount: int,
                        currency: str) -> DonationPayment | None:  # fmt: skip
    """The payment a charge or dispute concerns, by payment intent. A one-time payment not yet reported
    is found through the payment intent's metadata (asked of Stripe)."""
    if not intent:
        return None
    payment = session.scalar(
        select(DonationPayment).where(DonationPayment.stripe_payment_intent_id == intent)
    )
    if payment is not None:
        _lock(session, payment.donation_id)
        return payment
    donation = session.scalar(
        select(Donation).where(Donation.stripe_payment_intent_id == intent).with_for_update()
    )
    if donation is None and settings is not None:
        try:
            found = gateway.retrieve_payment_intent(settings, intent)
        except gateway.GatewayError as exc:
            raise RetryLater(str(exc)) from exc
        donation = _donation_from_metadata(session, found.get("metadata"))
    if donation is None:
        known = customer and session.scalar(select(Donor.id).where(Donor.stripe_customer_id == customer))
        if known:
            raise RetryLater(f"payment intent {intent} of a known donor is not placed yet")
        return None
    donation.stripe_payment_intent_id = donation.stripe_payment_intent_id or (
        intent if donation.kind is DonationKind.ONE_TIME else None
    )
    return _payment(session, donation, payment_intent_id=intent, amount_cents=amount, currency=currency,
                    status=PaymentStatus.PENDING)  # fmt: skip


def apply_charge_refunded(session: Session, obj: dict, *, settings=None) -> str:
    """``charge.refunded``, partial or full: the refunded total only grows."""
    amount = int(obj.get("amount") or 0)
    payment = _payment_for_intent(session, settings, obj.get("payment_intent"), obj.get("customer"),
                                  amount, obj.get("currency") or "eur")  # fmt: skip
    if payment is None:
        return "ignored: not a donation of ours"
    refunded = int(obj.get("amount_refunded") or 0)
    payment.refunded_cents = max(payment.refunded_cents, refunded)
    if obj.get("refunded") or (amount and payment.refunded_cents >= amount):
        _forward_payment(payment, PaymentStatus.REFUNDED)
        if payment.donation.kind is DonationKind.ONE_TIME:
            _forward(payment.donation, DonationStatus.REFUNDED)
        return "refunded in full"
    return "refunded in part"


_DISPUTE_RANK = {None: 0, DisputeStatus.OPEN: 1, DisputeStatus.WON: 2, DisputeStatus.LOST: 2}


def apply_dispute(session: Session, obj: dict, *, event_type: str, settings=None) -> str:
    """``charge.dispute.created`` / ``.closed``: open, then won or lost (a late "created" changes nothing)."""
    payment = _payment_for_intent(session, settings, obj.get("payment_intent"), None,
                                  int(obj.get("amount") or 0), obj.get("currency") or "eur")  # fmt: skip
    if payment is None:
        return "ignored: not a donation of ours"
    if event_type == "charge.dispute.closed":
        status = DisputeStatus.LOST if obj.get("status") == "lost" else DisputeStatus.WON
    else:
        status = DisputeStatus.OPEN
    if _DISPUTE_RANK[status] > _DISPUTE_RANK[payment.dispute_status]:
        payment.dispute_status = status
    return f"dispute {payment.dispute_status.value}"

