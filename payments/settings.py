"""The donations side's settings: its defaults beside the app's (``newsletter.platform.settings``), and
Stripe's settings as the gateway takes them."""

from __future__ import annotations

from flask import current_app

from payments import gateway

DEFAULTS = {
    "DONATION_CURRENCY": "eur",
    "DONATION_PRESETS_CENTS": (300, 500, 1000, 2500),
    "DONATION_MIN_CENTS": 100,  # 1 EUR: below it, card fees eat the gift
    "DONATION_MAX_CENTS": 100_000,  # 1,000 EUR at once online
    "DONATION_GOAL_MONTHLY": 600,  # "412 of 600 monthly supporters"; 0 hides the counter
    "DONATE_RATE_LIMIT": "10 per minute;60 per hour",
    "STRIPE_MAX_NETWORK_RETRIES": 2,
    # A parked event's payment usually becomes known within seconds (the checkout or invoice event follows);
    # Stripe is asked only when it has not, this long after.
    "STRIPE_LOOKUP_DELAY_SECONDS": 20,
}


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
