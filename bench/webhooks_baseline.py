"""The baseline for ``bench.webhooks``: a bare Flask app under gunicorn whose POST /webhooks/stripe checks
Stripe's signature with the SDK (as Beitrag's gateway does, 300 s tolerance), reads the event's id, type
and created from the JSON body and inserts them as one row, answering 200. It is the least any webhook
endpoint must do per event, so the ratio says what applying the event to the donations costs on top.

Not part of Beitrag; gunicorn loads it with ``bench.webhooks_baseline:create_app()`` and
``BENCH_DATABASE_URL`` and ``BENCH_WEBHOOK_SECRET`` in the environment. The table is made by
``bench/webhooks.py`` (:data:`TABLE_DDL`)."""

from __future__ import annotations

import json
import os

import stripe
from flask import Flask, request
from sqlalchemy import create_engine, text

TABLE_DDL = (
    "CREATE TABLE bench_webhook_events (id text PRIMARY KEY, type text NOT NULL, created bigint NOT NULL)"
)


def create_app() -> Flask:
    app = Flask(__name__)
    # The pool Flask-SQLAlchemy gives Beitrag (5 + 10 overflow), so both sides may hold as many connections.
    engine = create_engine(os.environ["BENCH_DATABASE_URL"], pool_size=5, max_overflow=10)
    secret = os.environ["BENCH_WEBHOOK_SECRET"]

    @app.post("/webhooks/stripe")
    def stripe_webhook():
        payload = request.get_data()
        try:
            stripe.WebhookSignature.verify_header(
                payload.decode("utf-8"), request.headers.get("Stripe-Signature", ""), secret, 300
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError) as exc:
            return {"error": str(exc)}, 400
        event = json.loads(payload)
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO bench_webhook_events (id, type, created) VALUES (:id, :type, :created)"),
                {"id": event["id"], "type": event["type"], "created": int(event["created"])},
            )
        return {"status": "stored"}

    @app.get("/healthz")
    def health():
        return "ok\n"

    return app
