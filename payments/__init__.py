"""The donations side of Beitrag: Stripe Checkout (``checkout``), Stripe's events (``events``), donors and
their mails (``supporters``) and the money figures of the statistics (``reports``).

It reaches the newsletter side only through ``newsletter.api`` and ``newsletter.platform``; the newsletter
side never imports it, and asks what it needs through the providers registered here (``newsletter.ports``).
"""

from __future__ import annotations

from flask import Flask

from newsletter import api as newsletter_api
from newsletter.platform import clock, queues
from payments import cli, demo, demo_checkout
from payments.checkout import views as checkout_views
from payments.events import views as events_views
from payments.provider import MoneyFigures, ReaderSupport
from payments.receipts import models as receipt_models  # noqa: F401  (the receipts' tables)
from payments.receipts import staff_views as receipts_staff_views
from payments.receipts.charity import charity_from_config
from payments.reports import summaries, tables
from payments.settings import DEFAULTS, bank_settings
from payments.supporters import staff_views as supporters_staff_views
from payments.transfers import staff_views as transfer_staff_views
from payments.transfers import views as transfer_views


def init_app(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.config.update(bank_settings(app.config))
    app.extensions["beitrag.payments"] = {"stripe_enabled": bool(app.config.get("STRIPE_SECRET_KEY"))}
    app.register_blueprint(checkout_views.bp)
    app.register_blueprint(transfer_views.bp)
    app.register_blueprint(transfer_staff_views.bp)
    app.register_blueprint(events_views.bp)
    app.register_blueprint(supporters_staff_views.bp)
    app.register_blueprint(receipts_staff_views.bp)
    app.cli.add_command(cli.group)
    demo_checkout.init_app(app)
    tables.init_app(app)
    summaries.register_hooks()
    clock.register(app, queues.SWEEP_DONOR_MAILS, 2, inline=True)
    clock.register(app, queues.SWEEP_STRIPE_EVENTS, 60)
    # The test checkout's stand-in keeps no ledger to compare with.
    if app.config.get("STRIPE_SECRET_KEY") and not app.config.get("DEMO_CHECKOUT"):
        clock.register(app, queues.RECONCILE_PAYMENTS, 24 * 3600)
    charity = charity_from_config(app.config)  # all of the charity's details or none: refuses to start
    if charity is not None and charity.january:
        clock.register(app, queues.YEAR_RECEIPTS, 24 * 3600)
    support = ReaderSupport(base_url=app.config["BASE_URL"], config=app.config)
    newsletter_api.register_supporter_provider(app, support)
    newsletter_api.register_money_report(app, MoneyFigures(app.config["DONATION_CURRENCY"]))
    newsletter_api.register_demo_loader(app, demo.load_demo_donations)
