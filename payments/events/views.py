"""Stripe's webhook: ``POST /webhooks/stripe``. The body is read up to its limit and the event checked and
applied (``webhooks``) in one transaction, and an event parked for a lookup at Stripe gets its job. The
donor mails it wrote are queued by the clock's sweep within two seconds, many per round trip
(``payments.supporters.mails``): at month start, when Stripe renews every monthly donation within hours,
that halves the work per event."""

from __future__ import annotations

from flask import Blueprint, current_app, request

from db import db
from newsletter.platform.bodies import body_limit
from newsletter.platform.extensions import csrf
from payments.events import tasks, webhooks
from payments.settings import stripe_settings

bp = Blueprint("events", __name__)


@bp.post("/webhooks/stripe")
@body_limit(webhooks.MAX_BODY_BYTES)
@csrf.exempt  # Stripe signs the body instead
def stripe_webhook():
    settings = stripe_settings()
    if settings is None:
        return {"error": "Stripe is not configured"}, 400
    try:
        payload = webhooks.read_body(request.stream, request.content_length)
    except webhooks.TooLarge as exc:
        # The rest of the body stays unread; the connection is closed rather than drained.
        return {"error": str(exc)}, 413, {"Connection": "close"}
    try:
        event = webhooks.read_event(payload, request.headers.get("Stripe-Signature"), settings)
    except webhooks.BadEvent as exc:
        return {"error": str(exc)}, 400
    base_url = current_app.config["BASE_URL"]
    outcome = webhooks.handle(db.session, event, base_url=base_url)
    if outcome.parked:
        tasks.look_up_later(db.session, outcome.parked, base_url=base_url)
    return {"status": outcome.detail}, outcome.status
