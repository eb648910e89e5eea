"""A donation begins: the amount a reader chose, where they came from, and Stripe Checkout."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from newsletter import api as newsletter_api
from payments import gateway
from payments.amounts import DonationError
from payments.checkout import prices
from payments.models import Donation, DonationKind, DonationStatus
from payments.supporters import sources
from payments.supporters.sources import clean_tag


@dataclass(frozen=True)
class Attribution:
    """Where a donation came from: an issue and the link in it, UTM parameters, the referring article."""

    issue_id: int | None = None
    link: str | None = None
    utm_source: str | None = None
    utm_medium: str | None = None
    utm_campaign: str | None = None
    article: str | None = None


def attribution_from(values: Any) -> Attribution:
    """Attribution from a request's parameters (``issue``, ``link``, ``utm_*``, ``article``); anything
    malformed is dropped, never refused: attribution must not stand between a reader and a gift."""
    raw_issue = values.get("issue")
    issue_id = (
        int(raw_issue) if isinstance(raw_issue, str) and raw_issue.isdigit() and len(raw_issue) < 10 else None
    )
    return Attribution(
        issue_id=issue_id,
        link=clean_tag(values.get("link")),
        utm_source=clean_tag(values.get("utm_source")),
        utm_medium=clean_tag(values.get("utm_medium")),
        utm_campaign=clean_tag(values.get("utm_campaign")),
        article=clean_tag(values.get("article"), 200),
    )


def find_donation_by_reference(session: Session, reference: str) -> Donation | None:
    if not reference or len(reference) > 40:
        return None
    return session.scalar(select(Donation).where(Donation.reference == reference))


def start_donation(
    session: Session, *, kind: DonationKind, amount_cents: int, currency: str, locale: str,
    email: str | None, message: str | None, public_name: str | None, attribution: Attribution,
    fee_covered_cents: int = 0,
) -> Donation:  # fmt: skip
    """A new donation row, waiting for its checkout: the gift and, apart, the fee its donor covers.
    Flushed, so it has its id."""
    if amount_cents <= 0:
        raise DonationError("amount_too_small")
    if fee_covered_cents < 0:
        raise DonationError("fee_invalid")
    issue_id = attribution.issue_id
    if issue_id is not None and not newsletter_api.issue_exists(session, issue_id):
        issue_id = None
    donation = Donation(
        reference=secrets.token_urlsafe(18), kind=kind, amount_cents=amount_cents, currency=currency,
        locale=locale, email=email or None, message=message or None, public_name=public_name or None,
        issue_id=issue_id, source_link=attribution.link, utm_source=attribution.utm_source,
        utm_medium=attribution.utm_medium, utm_campaign=attribution.utm_campaign,
        article_slug=attribution.article, status=DonationStatus.OPEN, fee_covered_cents=fee_covered_cents,
    )  # fmt: skip
    session.add(donation)
    session.flush()
    return donation


def open_checkout(
    session: Session, donation: Donation, settings: gateway.StripeSettings, *, base_url: str,
    product_name: str, collect_address: bool = False, fee_name: str = "",
) -> str:  # fmt: skip
    """Start Stripe's hosted checkout for ``donation`` (committed first: no transaction is open while
    Stripe answers); returns the address to send the reader to. A monthly or yearly donation starts on the
    Price of its amount and interval; a covered fee is a line of its own (``fee_name``). On a gateway error
    the donation is marked ``start_failed`` and :class:`gateway.GatewayError` raised."""
    donation_id, reference = donation.id, donation.reference
    interval = donation.kind.interval
    fee = donation.fee_covered_cents
    product_id = settings.yearly_product_id if interval == "year" else settings.product_id
    amount, currency = donation.amount_cents, donation.currency
    email, locale = donation.email, donation.locale
    attribution = sources.checkout_metadata(donation)
    session.commit()
    try:
        price = None
        if interval:
            price = prices.monthly_price(
                session, settings, product_id=product_id, product_name=product_name,
                currency=currency, amount_cents=amount, interval=interval,
            )  # fmt: skip
        session.commit()
        checkout = gateway.create_checkout_session(
            settings, donation_id=donation_id, reference=reference, amount_cents=amount, currency=currency,
            product_name=product_name, monthly_price=price, interval=interval or "month",
            fee_cents=fee, fee_name=fee_name,
            success_url=f"{base_url}/spenden/danke?session_id={{CHECKOUT_SESSION_ID}}",
            cancel_url=f"{base_url}/spenden/abgebrochen?ref={reference}",
            email=email, locale=locale, attribution=attribution, collect_address=collect_address,
            idempotency_key=f"beitrag-donation-{donation_id}-{reference}-checkout",
        )  # fmt: skip
    except gateway.GatewayError:
        session.rollback()
        session.execute(
            update(Donation).where(Donation.id == donation_id, Donation.status == DonationStatus.OPEN)
            .values(status=DonationStatus.START_FAILED)
        )  # fmt: skip
        session.commit()
        raise
    session.execute(
        update(Donation).where(Donation.id == donation_id)
        .values(stripe_session_id=checkout["id"], stripe_price_id=price)
    )  # fmt: skip
    session.commit()
    return checkout["url"]
