"""``POST /webhooks/ses``: Amazon SES bounce and complaint events, delivered by an SNS subscription.

Raw body -> SNS signature check (``sns``) -> the event applied once (``bounces``). Anything that does not
verify gets 403 and changes nothing; a replayed message is answered 200 and changes nothing.
"""

from __future__ import annotations

import json

from flask import Blueprint, current_app, request

from db import db
from newsletter.mail import sns
from newsletter.platform.bodies import body_limit
from newsletter.platform.extensions import csrf, limiter
from newsletter.sending import autopause, bounces, control

bp = Blueprint("ses_webhook", __name__)
MAX_BODY = 256 * 1024  # SNS messages are at most 256 KB


def _policy() -> sns.SNSPolicy:
    config = current_app.config
    return sns.SNSPolicy(config["SNS_CERT_HOST"], config.get("SNS_CA_FILE"), tuple(config["SNS_TOPIC_ARNS"]))


def _answer(text: str, status: int):
    return current_app.response_class(text + "\n", status=status, mimetype="text/plain")


@bp.post("/webhooks/ses")
@body_limit(MAX_BODY)  # a larger body, chunked or not, is answered 413 before more is read
@csrf.exempt  # SNS signs the message itself; there is no browser and no session here
@limiter.limit("600 per minute")  # SNS retries what it could not deliver; a flood from elsewhere stops here
def ses_events():
    try:
        message = json.loads(request.get_data(cache=False, as_text=False))
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        return _answer("not JSON", 400)
    try:
        sns.verify(message, _policy())
    except sns.SNSRejected as exc:
        current_app.logger.warning("SES webhook: refused an SNS message: %s", exc)
        return _answer("forbidden", 403)
    kind = message["Type"]
    if kind == "SubscriptionConfirmation":
        try:
            sns.confirm_subscription(message, _policy())
        except sns.SNSRejected as exc:
            current_app.logger.warning("SES webhook: subscription not confirmed: %s", exc)
            return _answer("confirmation failed", 502)
        current_app.logger.info("SES webhook: subscribed to %s", message.get("TopicArn"))
        return _answer("subscribed", 200)
    if kind != "Notification":
        return _answer("ok", 200)
    try:
        event = json.loads(message["Message"])
    except (ValueError, RecursionError):
        event = None
    if not isinstance(event, dict):
        return _answer("ignored", 200)
    secret = current_app.config["SECRET_KEY"]
    report = bounces.read_ses_event(event, message["MessageId"], secret)
    limits = autopause.Limits.from_config(current_app.config)
    outcome = bounces.apply_report(db.session, report, secret_key=secret, via="ses", trust_recipients=True,
                                   limits=limits)  # fmt: skip
    db.session.commit()
    if outcome.paused_issue is not None:
        control.signal_send(outcome.paused_issue, "pause")
    return _answer("applied" if outcome.applied else "nothing to do", 200)
