"""The only module that talks to Stripe (through the official SDK). It knows no Flask request and no model:
callers pass plain values and get plain dicts back.

Every write carries an idempotency key made from our own row, so a retried request never makes a second
checkout or portal session.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    product_id: str = "beitrag-monthly-donation"  # the monthly donation's Product (ours, by this id)

    @property
    def yearly_product_id(self) -> str:
        """The yearly donation's Product: a Product of its own, so that Checkout and the portal name it."""
        if "monthly" in self.product_id:
            return self.product_id.replace("monthly", "yearly")
        return f"{self.product_id}-yearly"

    def for_lookups(self) -> StripeSettings:
        """The settings of the jobs that look things up at Stripe: a short timeout and no retries of the
        SDK's own (the queue retries the job, with backoff)."""
        return replace(self, max_network_retries=0, timeout=min(self.timeout, 10.0))

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
    settings: StripeSettings, *, donation_id: int, reference: str, amount_cents: int, currency: str,
    product_name: str, success_url: str, cancel_url: str, email: str | None, locale: str,
    idempotency_key: str, monthly_price: str | None = None, interval: str = "month", fee_cents: int = 0,
    fee_name: str = "", attribution: dict[str, str] | None = None, collect_address: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """A hosted Checkout Session for one donation: payment mode with ``price_data`` for a one-time gift,
    subscription mode with ``monthly_price`` (a recurring Price of the monthly or yearly donation's Product,
    billed every ``interval``, so the customer portal can offer other amounts later). A fee the donor
    covers is a line of its own (``fee_name``), billed with every payment, so Checkout shows it apart. Our
    id and reference go into the metadata of the session and of what it makes (the payment intent or the
    subscription): the reference is what makes an object ours. ``attribution`` (issue, link, article:
    where the gift came from) goes beside them, so that Stripe's dashboard and every event about the gift
    tell it too; ``collect_address`` asks for the billing address (Zuwendungsbestätigungen)."""
    metadata = {"donation_id": str(donation_id), "donation_reference": reference}
    metadata |= {key: value[:500] for key, value in (attribution or {}).items() if value}
    params: dict[str, Any] = {
        "mode": "subscription" if monthly_price else "payment",
        "success_url": success_url,
        "cancel_url": cancel_url,
        "client_reference_id": str(donation_id),
        "metadata": metadata,
        "locale": locale if locale in ("de", "en") else "auto",
    }
    if monthly_price:
        params["line_items"] = [{"price": monthly_price, "quantity": 1}]
        params["subscription_data"] = {"metadata": metadata}
    else:
        price_data = {"currency": currency, "unit_amount": amount_cents}
        price_data["product_data"] = {"name": product_name}
        params["line_items"] = [{"price_data": price_data, "quantity": 1}]
        params["payment_intent_data"] = {"metadata": metadata}
        params["submit_type"] = "donate"
        params["customer_creation"] = "always"
    if fee_cents > 0:
        fee_data: dict[str, Any] = {"currency": currency, "unit_amount": fee_cents,
                                    "product_data": {"name": fee_name}}  # fmt: skip
        if monthly_price:
            fee_data["recurring"] = {"interval": interval}
        params["line_items"].append({"price_data": fee_data, "quantity": 1})
    if email:
        params["customer_email"] = email
    if collect_address:  # a charity's tax receipt states the donor's name and postal address
        params["billing_address_collection"] = "required"
    try:
        session = _client(settings).v1.checkout.sessions.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": idempotency_key},  # type: ignore[arg-type]
        )
    except stripe.StripeError as exc:
        raise GatewayError(f"checkout session for donation {donation_id}: {exc}") from exc
    return _plain(session)


def ensure_product(settings: StripeSettings, product_id: str, name: str) -> dict[str, Any]:
    """The monthly donation's Product under our own id, made if the account has none yet."""
    client = _client(settings)
    try:
        return _plain(client.v1.products.retrieve(product_id))
    except stripe.InvalidRequestError as exc:
        if exc.code != "resource_missing":
            raise GatewayError(f"product {product_id}: {exc}") from exc
    except stripe.StripeError as exc:
        raise GatewayError(f"product {product_id}: {exc}") from exc
    try:
        return _plain(client.v1.products.create(
            params={"id": product_id, "name": name, "metadata": {"beitrag": "monthly donation"}},
            options={"idempotency_key": f"beitrag-product-{product_id}"},  # type: ignore[arg-type]
        ))  # fmt: skip
    except stripe.StripeError as exc:
        raise GatewayError(f"product {product_id}: {exc}") from exc


def monthly_price(
    settings: StripeSettings, *, product_id: str, currency: str, amount_cents: int, lookup_key: str,
    interval: str = "month",
) -> dict[str, Any]:
    """The active Price of ``product_id`` for this amount, billed every ``interval`` (``month`` or
    ``year``), found by its lookup key or made."""
    client = _client(settings)
    try:
        found = client.v1.prices.list(params={"lookup_keys": [lookup_key], "active": True, "limit": 1})
        for price in found.data:
            every = (price.get("recurring") or {}).get("interval")
            if price.get("product") == product_id and price.get("unit_amount") == amount_cents and (
                every == interval
            ):
                return _plain(price)
        return _plain(client.v1.prices.create(
            params={
                "product": product_id, "currency": currency, "unit_amount": amount_cents,
                "recurring": {"interval": interval}, "lookup_key": lookup_key, "transfer_lookup_key": True,
                "metadata": {"beitrag": f"{'yearly' if interval == 'year' else 'monthly'} donation"},
            },
            options={"idempotency_key": f"beitrag-price-{lookup_key}"},  # type: ignore[arg-type]
        ))  # fmt: skip
    except stripe.StripeError as exc:
        raise GatewayError(f"price {lookup_key}: {exc}") from exc


def create_portal_configuration(
    settings: StripeSettings, *, product_id: str, price_ids: list[str], idempotency_key: str
) -> dict[str, Any]:
    """A customer portal configuration where donors change card or amount (among ``price_ids``, from the
    next month on, without proration) or end their monthly donation."""
    params = {
        "features": {
            "payment_method_update": {"enabled": True},
            "invoice_history": {"enabled": True},
            "subscription_cancel": {"enabled": True, "mode": "immediately"},
            "subscription_update": {
                "enabled": True, "default_allowed_updates": ["price"], "proration_behavior": "none",
                "products": [{"product": product_id, "prices": price_ids}],
            },
        },
        "metadata": {"beitrag": "monthly donation"},
    }  # fmt: skip
    try:
        return _plain(_client(settings).v1.billing_portal.configurations.create(
            params=params,  # type: ignore[arg-type]
            options={"idempotency_key": idempotency_key},  # type: ignore[arg-type]
        ))  # fmt: skip
    except stripe.StripeError as exc:
        raise GatewayError(f"portal configuration: {exc}") from exc


def retrieve_checkout_session(settings: StripeSettings, session_id: str) -> dict[str, Any]:
    try:
        return _plain(_client(settings).v1.checkout.sessions.retrieve(session_id))
    except stripe.StripeError as exc:
        raise GatewayError(f"checkout session {session_id}: {exc}") from exc


def retrieve_payment_intent(settings: StripeSettings, payment_intent_id: str, *,
                            expand: tuple[str, ...] = ()) -> dict[str, Any]:  # fmt: skip
    params = {"expand": list(expand)} if expand else {}
    try:
        return _plain(_client(settings).v1.payment_intents.retrieve(payment_intent_id, params=params))  # type: ignore[arg-type]
    except stripe.StripeError as exc:
        raise GatewayError(f"payment intent {payment_intent_id}: {exc}") from exc


def retrieve_invoice(settings: StripeSettings, invoice_id: str, *, with_payments: bool = False) -> dict:
    """An invoice; ``with_payments`` expands its ``payments`` (which payment intent paid it)."""
    params = {"expand": ["payments"]} if with_payments else {}
    try:
        return _plain(_client(settings).v1.invoices.retrieve(invoice_id, params=params))  # type: ignore[arg-type]
    except stripe.StripeError as exc:
        raise GatewayError(f"invoice {invoice_id}: {exc}") from exc


def invoice_payments_for_intent(settings: StripeSettings, payment_intent_id: str) -> list[dict[str, Any]]:
    """The invoice payments a payment intent made (charges and payment intents do not name their invoice
    in the current API; this is the link)."""
    params = {"payment": {"type": "payment_intent", "payment_intent": payment_intent_id}, "limit": 10}
    try:
        found = _client(settings).v1.invoice_payments.list(params=params)  # type: ignore[arg-type]
    except stripe.StripeError as exc:
        raise GatewayError(f"invoice payments of {payment_intent_id}: {exc}") from exc
    return [_plain(item) for item in found.data]


def checkout_sessions_for_intent(settings: StripeSettings, payment_intent_id: str) -> list[dict[str, Any]]:
    try:
        found = _client(settings).v1.checkout.sessions.list(
            params={"payment_intent": payment_intent_id, "limit": 10}
        )
    except stripe.StripeError as exc:
        raise GatewayError(f"checkout sessions of {payment_intent_id}: {exc}") from exc
    return [_plain(item) for item in found.data]


_LISTS = {
    "charges": lambda c: c.v1.charges, "refunds": lambda c: c.v1.refunds, "disputes": lambda c: c.v1.disputes,
    "invoices": lambda c: c.v1.invoices, "invoice_payments": lambda c: c.v1.invoice_payments,
    "subscriptions": lambda c: c.v1.subscriptions, "checkout_sessions": lambda c: c.v1.checkout.sessions,
}  # fmt: skip


def list_all(settings: StripeSettings, kind: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Every object of a list endpoint that matches ``params`` (``created``, ``status`` ...), page by page
    (100 at a time) as plain dicts: what reconciliation compares with our ledger."""
    service = _LISTS[kind](_client(settings))
    try:
        return [_plain(item) for item in service.list(params={**params, "limit": 100}).auto_paging_iter()]
    except stripe.StripeError as exc:
        raise GatewayError(f"{kind}: {exc}") from exc


def retrieve_charge(settings: StripeSettings, charge_id: str) -> dict[str, Any]:
    try:
        return _plain(_client(settings).v1.charges.retrieve(charge_id))
    except stripe.StripeError as exc:
        raise GatewayError(f"charge {charge_id}: {exc}") from exc


def create_portal_session(
    settings: StripeSettings, *, customer_id: str, return_url: str, locale: str, idempotency_key: str,
    configuration: str | None = None,
) -> dict[str, Any]:
    """A Customer Portal session where the donor changes card or amount, or ends the monthly donation."""
    params = {
        "customer": customer_id,
        "return_url": return_url,
        "locale": locale if locale in ("de", "en") else "auto",
    }
    if configuration:
        params["configuration"] = configuration
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
