"""The monthly donation at Stripe: one Product, a Price per amount and currency, and the customer portal's
configuration that lets donors switch between the preset amounts.

Monthly donations start on a Price of the one Product (the preset amounts, and a Price made on demand for
a custom amount), not on ad-hoc ``price_data``: only Prices of a configured Product can be offered for a
change in the customer portal. Each is made once and then found in ``stripe_catalog``, so a checkout asks
Stripe for nothing more than the session itself; what is missing is looked up by its lookup key (made by
another host meanwhile) before it is made. No database transaction is open while Stripe answers.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import dialect_insert, utcnow
from payments import gateway
from payments.models import StripeCatalogEntry


def _cached(session: Session, key: str) -> str | None:
    return session.scalar(select(StripeCatalogEntry.stripe_id).where(StripeCatalogEntry.key == key))


def _remember(session: Session, key: str, stripe_id: str) -> None:
    statement = dialect_insert(session, StripeCatalogEntry.__table__).values(
        key=key, stripe_id=stripe_id, created_at=utcnow()
    )
    session.execute(statement.on_conflict_do_nothing(index_elements=["key"]))
    session.commit()


def lookup_key(product_id: str, currency: str, amount_cents: int, interval: str = "month") -> str:
    return f"{product_id}:{currency.lower()}:{interval}:{amount_cents}"


def _product(session: Session, settings: gateway.StripeSettings, product_id: str, name: str) -> str:
    key = f"product:{product_id}"
    if _cached(session, key) is None:
        session.commit()
        _remember(session, key, gateway.ensure_product(settings, product_id, name)["id"])
    return product_id


def monthly_price(
    session: Session, settings: gateway.StripeSettings, *, product_id: str, product_name: str,
    currency: str, amount_cents: int, interval: str = "month",
) -> str:  # fmt: skip
    """The id of the Price for this amount billed every ``interval`` (a yearly gift's Prices belong to
    the yearly Product), made at Stripe the first time it is asked for. Commits the caller's session (a
    checkout starts from a committed donation anyway)."""
    key = f"price:{lookup_key(product_id, currency, amount_cents, interval)}"
    found = _cached(session, key)
    if found:
        return found
    _product(session, settings, product_id, product_name)
    session.commit()
    price = gateway.monthly_price(
        settings, product_id=product_id, currency=currency, amount_cents=amount_cents,
        lookup_key=lookup_key(product_id, currency, amount_cents, interval), interval=interval,
    )  # fmt: skip
    _remember(session, key, price["id"])
    return price["id"]


def portal_configuration(
    session: Session, settings: gateway.StripeSettings, *, product_id: str, product_name: str,
    currency: str, presets: tuple[int, ...],
) -> str:  # fmt: skip
    """The customer portal configuration that offers the preset amounts (made once per set of Prices).
    Commits the caller's session."""
    prices = [
        monthly_price(session, settings, product_id=product_id, product_name=product_name,
                      currency=currency, amount_cents=amount)
        for amount in presets
    ]  # fmt: skip
    digest = hashlib.sha256(",".join(prices).encode()).hexdigest()[:16]
    key = f"portal:{product_id}:{digest}"
    found = _cached(session, key)
    if found:
        return found
    session.commit()
    configuration = gateway.create_portal_configuration(
        settings, product_id=product_id, price_ids=prices, idempotency_key=f"beitrag-portal-config-{digest}"
    )
    _remember(session, key, configuration["id"])
    return configuration["id"]
