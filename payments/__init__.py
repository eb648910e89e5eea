"""The donations side of Beitrag: Stripe checkout, webhooks, supporters and their statistics.

It reaches the newsletter side only through ``newsletter.api``; the newsletter side never imports it.
"""

from __future__ import annotations

from flask import Flask

DEFAULTS = {
    "DONATION_CURRENCY": "eur",
    "DONATION_PRESETS_CENTS": (300, 500, 1000, 2500),
    "DONATION_MIN_CENTS": 100,  # 1 EUR: below it, card fees eat the gift
    "DONATION_MAX_CENTS": 100_000,  # 1,000 EUR at once online
    "DONATION_GOAL_MONTHLY": 600,  # "412 of 600 monthly supporters"; 0 hides the counter
    "DONATE_RATE_LIMIT": "10 per minute;60 per hour",
    "STRIPE_MAX_NETWORK_RETRIES": 2,
}


def init_app(app: Flask) -> None:
    from . import admin, cli, models, stats_admin, tallies, views  # noqa: F401  (tables join the metadata)

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.extensions["beitrag.payments"] = {"stripe_enabled": bool(app.config.get("STRIPE_SECRET_KEY"))}
    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    stats_admin.init_app(app)
    app.jinja_env.filters["money"] = views.money
    cli.init_app(app)
