"""The donations side of Beitrag: Stripe checkout, webhooks, supporters and their statistics.

It reaches the newsletter side only through ``newsletter.api``; the newsletter side never imports it.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    app.extensions["beitrag.payments"] = {"stripe_enabled": bool(app.config.get("STRIPE_SECRET_KEY"))}
