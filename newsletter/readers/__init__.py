"""Readers: addresses and the suppression list, newsletters (lists), sign-up and confirmation, the
reader-mail outbox, the preference center, leaving and erasure, the staff's reader list, CSV imports and
the export, the signed links in every mail, and the limits on the public forms."""

from __future__ import annotations

from flask import Flask

from newsletter.platform import clock, queues
from newsletter.readers import (
    cli,  # noqa: F401  (its commands join the newsletter group)
    import_views,
    limits,
    newsletters,
    preference_views,
    segment_views,
    staff_texts,
    staff_views,
    views,
)


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(preference_views.bp)
    app.register_blueprint(staff_views.bp)
    app.register_blueprint(import_views.bp)
    app.register_blueprint(segment_views.bp)
    app.context_processor(staff_texts.labels)
    limits.init_app(app)
    newsletters.register_hooks()
    # Sign-ups write their confirmation mail to the outbox (reader_mails); this puts it on the queue.
    clock.register(app, queues.SWEEP_READER_MAILS, 2, inline=True)
    clock.register(app, queues.EXPIRE_PENDING_SIGNUPS, 3600)
    # An import whose worker died continues from its last settled chunk once this queues it again.
    clock.register(app, queues.SWEEP_IMPORTS, 30)
