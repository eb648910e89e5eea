"""Stripe's webhook: ``POST /webhooks/stripe``. The event is checked and applied (``webhooks``); the donor
mails it wrote are queued right after the commit (and by the clock's sweep when Redis is away)."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from db import db
from newsletter.platform.extensions import csrf
from payments.events import webhooks
from payments.settings import stripe_settings
from payments.supporters import mails

bp = Blueprint("events", __name__)


@bp.post("/webhooks/stripe")
@csrf.exempt  # Stripe signs the body instead
def stripe_webhook():
    settings = stripe_settings()
    if settings is None:
        return {"error": "Stripe is not configured"}, 400
    if (request.content_length or 0) > webhooks.MAX_BODY_BYTES:
        return {"error": "too large"}, 413
    try:
        event = webhooks.read_event(request.get_data(), request.headers.get("Stripe-Signature"), settings)
    except webhooks.BadEvent as exc:
        return {"error": str(exc)}, 400
    outcome = webhooks.handle(db.session, event, settings, base_url=current_app.config["BASE_URL"])
    if outcome.status == 200:
        try:
            mails.queue_unsent(db.session)
            db.session.commit()
        except Exception as exc:  # the event is applied; the clock's sweep queues the mail later
            db.session.rollback()
            current_app.logger.warning("donor mails not queued yet: %s", exc)
    return {"status": outcome.detail}, outcome.status
