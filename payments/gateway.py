"""The only module that talks to Stripe (through the official SDK). It knows no Flask request and no model:
callers pass plain values and get plain dicts back.

Every write carries an idempotency key made from our own row, so a retried request never makes a second
checkout or portal session.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import stripe


class GatewayError(RuntimeError):
    """Stripe could not be reached or refused the request; the message is for the log, not the reader."""


class SignatureError(ValueError):
    """A webhook payload whose signature is missing, forged or older than the tolerance."""


@dataclass(frozen=True)
class StripeSettings:
    secret_key: str
    webhook_secret: str | None = None
    api_base: str | None = None
    max_network_retries: int = 2
    timeout: float = 20.0

    @property
    def livemode(self) -> bool:
        """Live keys start with ``sk_live_`` or ``rk_live_``; everything else is test mode."""
        return "_live_" in self.secret_key[:9]


def _client(settings: StripeSettings) -> stripe.StripeClient:
    options: dict[str, Any] = {"max_network_retries": settings.max_network_retries}
    if settings.api_base:
        options["base_addresses"] = {"api": settings.api_base}
    return stripe.StripeClient(
        settings.secret_key, http_client=stripe.RequestsClient(timeout=settings.timeout), **options
    )


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


def create_checkout_session(
    settings: StripeSettings, *, donation_id: int, reference: str, monthly: bool, amount_cents: int,
    currency: str, product_name: str, success_url: str, cancel_url: str, email: str | None, locale: str,
    idempotency_key: str,
) -> dict[str, Any]:  # fmt: skip
    """A hosted Checkout Session for one donation: payment mode with ``price_data``, or subscription mode
    with a monthly ``price_data.recurring``. Our ids go into ``client_reference_id`` and the metadata of
    the session and of what it makes (the payment intent or the subscription)."""
    metadata = {"donation_id": str(donation_id), "donation_reference": reference}
    price_data: dict[str, Any] = {
        "currency": currency, "unit_amount": amount_cents, "product_data": {"name": product_name},
    }  # fmt: skip
    params: dict[str, Any] = {
        "mode": "subscription" if monthly else "payment",
        "line_items": [{"price_data": price_data, "quantity": 1}],
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": str(donation_id),
        "metadata": metadata,
        "locale": locale if locale in ("de", "en") else "auto",
    }
    if monthly:
        price_data["recurring"] = {"interval": "month"}
        params["subscription_data"] = {"metadata": metadata}
    else:
        params["payment_intent_data"] = {"metadata": metadata}
        params["submit_type"] = "donate"
        params["customer_creation"] = "always"
    if email:
        params["customer_email"] = email
    try:
        session = _client(settings).v1.checkout.sessions.create(
            params=params,
            options={"idempotency_key": idempotency_key},  # type: ignore[arg-type]
        )
    except stripe.StripeError as exc:
        raise GatewayError(f"checkout session for donation {donation_id}: {exc}") from exc
    return _plain(session)


def retrieve_checkout_session(settings: StripeSettings, session_id: str) -> dict[str, Any]:
    try:
        return _plain(_client(settings).v1.checkout.sessions.retrieve(session_id))
    except stripe.StripeError as exc:
        raise GatewayError(f"checkout session {session_id}: {exc}") from exc


def retrieve_payment_intent(settings: StripeSettings, payment_intent_id: str) -> dict[str, Any]:
    try:
        return _plain(_client(settings).v1.payment_intents.retrieve(payment_intent_id))
    except stripe.StripeError as exc:
        raise GatewayError(f"payment intent {payment_intent_id}: {exc}") from exc


def create_portal_session(
    settings: StripeSettings, *, customer_id: str, return_url: str, locale: str, idempotency_key: str
) -> dict[str, Any]:
    """A Customer Portal session where the donor changes card or amount, or ends the monthly donation."""
    params = {
        "customer": customer_id,
        "return_url": return_url,
        "locale": locale if locale in ("de", "en") else "auto",
    }
    try:
        session = _client(settings).v1.billing_portal.sessions.create(
            params=params,
            options={"idempotency_key": idempotency_key},  # type: ignore[arg-type]
        )
    except stripe.StripeError as exc:
        raise GatewayError(f"portal session for customer {customer_id}: {exc}") from exc
    return _plain(session)


def verify_webhook(
    payload: bytes, signature_header: str | None, secret: str, *, tolerance: int = 300
) -> None:
    """Check Stripe's signature on the raw body (HMAC-SHA256 over ``t.body``) with the SDK. The tolerance
    is never zero: zero would turn the age check off."""
    if tolerance <= 0:
        raise ValueError("the webhook tolerance must be positive")
    if not signature_header:
        raise SignatureError("no Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature_header, secret, tolerance)
    except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
        raise SignatureError(str(exc)) from None
