"""The donations side's settings: its defaults beside the app's (``newsletter.platform.settings``), and
Stripe's settings as the gateway takes them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import current_app

from newsletter.platform.settings import ConfigError
from payments import gateway
from payments.transfers import iban

DEFAULTS = {
    "DONATION_CURRENCY": "eur",
    "DONATION_PRESETS_CENTS": (300, 500, 1000, 2500),
    "DONATION_MIN_CENTS": 100,  # 1 EUR: below it, card fees eat the gift
    "DONATION_MAX_CENTS": 100_000,  # 1,000 EUR at once online
    "DONATION_GOAL_MONTHLY": 600,  # "412 of 600 regular supporters" (monthly and yearly); 0 hides the counter
    "DONATE_RATE_LIMIT": "10 per minute;60 per hour",
    "STRIPE_MAX_NETWORK_RETRIES": 2,
    # A parked event's payment usually becomes known within seconds (the checkout or invoice event follows);
    # Stripe is asked only when it has not, this long after.
    "STRIPE_LOOKUP_DELAY_SECONDS": 20,
    # Bank transfer (payments.transfers): the requests for a personal reference, per client address.
    "BANK_REFERENCE_RATE_LIMIT": "5 per minute;20 per hour",
}

BANK_LIMITS = {"BANK_IMPORT_MAX_BYTES": 5 * 1024 * 1024, "BANK_IMPORT_MAX_LINE_BYTES": 4096}


def bank_settings(config: Mapping[str, Any], env: Mapping[str, str] = os.environ) -> dict[str, Any]:
    """The newsroom's account for gifts by transfer, from the app's settings (a test passes them) or the
    environment: ``BANK_IBAN`` (checked with its mod-97 digits; a wrong one stops the start),
    ``BANK_RECIPIENT`` (the account holder, required with an IBAN, at most 70 characters as in a
    GiroCode), ``BANK_BIC`` (optional); and the import's limits. Without an IBAN the page offers no
    transfer."""

    def get(key: str) -> str:
        value = config.get(key)
        return str(value if value is not None else env.get(key) or "").strip()

    raw = get("BANK_IBAN")
    settings: dict[str, Any] = {"BANK_IBAN": None, "BANK_RECIPIENT": None, "BANK_BIC": None}
    for key, default in BANK_LIMITS.items():
        value = get(key) or str(default)
        if not value.isdigit() or int(value) < 1024:
            raise ConfigError(f"{key} must be a number of bytes of at least 1024, not {value!r}")
        settings[key] = int(value)
    if not raw:
        return settings
    if not iban.is_valid(raw):
        raise ConfigError("BANK_IBAN is not a valid IBAN (its check digits or its length are wrong)")
    recipient, bic = " ".join(get("BANK_RECIPIENT").split()), get("BANK_BIC")
    if not recipient or len(recipient) > 70:
        raise ConfigError("BANK_RECIPIENT must name the account holder (at most 70 characters)")
    if bic and not iban.is_valid_bic(bic):
        raise ConfigError(f"BANK_BIC is not a BIC: {bic!r}")
    settings.update(BANK_IBAN=iban.compact(raw), BANK_RECIPIENT=recipient, BANK_BIC=iban.compact(bic) or None)
    return settings


def stripe_settings() -> gateway.StripeSettings | None:
    """Stripe's settings from the app's, or None while no secret key is set (donations are off)."""
    config = current_app.config
    if not config.get("STRIPE_SECRET_KEY"):
        return None
    return gateway.StripeSettings(
        secret_key=config["STRIPE_SECRET_KEY"], webhook_secret=config.get("STRIPE_WEBHOOK_SECRET"),
        api_base=config.get("STRIPE_API_BASE"), max_network_retries=config["STRIPE_MAX_NETWORK_RETRIES"],
        product_id=config.get("STRIPE_PRODUCT_ID") or "beitrag-monthly-donation",
    )  # fmt: skip
