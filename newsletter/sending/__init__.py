"""Sending: the ledger (one row per reader of an issue), the worker that sends its batches, the gate in
Redis that paces them, send control (start, pause, resume, cancel, schedule), the sweeper, progress,
counted links, bounces and complaints, and the issue tallies the statistics read."""

from __future__ import annotations

from flask import Flask, current_app

from newsletter.platform import clock, queues
from newsletter.sending import (
    cli,  # noqa: F401  (its commands join the newsletter group)
    confirm,
    ledger,
    progress,
    ses_webhook,
    staff_views,
    tallies,
    views,
    welcome_views,
)


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(staff_views.bp)
    app.register_blueprint(welcome_views.bp)
    app.register_blueprint(ses_webhook.bp)
    app.add_template_global(progress.send_panel, "send_progress")
    # The issue page offers Send only to an issue that has no blocker (a sender that does not align included).
    app.add_template_global(lambda issue: ledger.send_blocker(issue, current_app.config), "send_blocker")
    # The issue page says what the confirmation says: the ask's button leads nowhere without Stripe keys.
    app.add_template_global(confirm.donations_warning, "donations_warning")
    tallies.register_hooks()
    # Scheduled issues whose time passed, rows of killed workers, batches Redis lost (see sweeper).
    clock.register(app, queues.SWEEP_SENDS, "SEND_SWEEP_SECONDS", inline=True)
    # Automatic digests whose slot has come (digest_runs): inline, so that a long send does not delay them.
    clock.register(app, queues.BUILD_DIGESTS, "DIGEST_SWEEP_SECONDS", inline=True)
    # Bounces, complaints and mailed unsubscribe requests in BOUNCE_MAILBOX_URL and UNSUBSCRIBE_MAILBOX_URL
    # (a no-op without one).
    clock.register(app, queues.POLL_BOUNCE_MAILBOX, 60)
    # Welcome mails whose delay has passed (``welcome``), queued like the reader mails' outbox.
    clock.register(app, queues.SWEEP_WELCOME_MAILS, 2, inline=True)
