"""Transactional mail: one message for one reader (a confirmation, a receipt, a test of an issue), sent
through the same pipeline as a newsletter: DKIM when a key is set, the signed bounce address as envelope
sender, the relay (``smtp.Relay``). Callers queue it (``mail.tasks``); the worker sends it from here."""

from __future__ import annotations

import base64
from typing import Any

from flask import current_app

from newsletter.mail import mime, rendering, return_paths, signing, smtp


def deliver(config: Any, to: str, message: bytes, *, what: str, envelope: str | None = None) -> str:
    """Sign ``message`` and hand it to the relay. A temporary refusal raises (RQ tries again); a permanent
    one is logged as ``what`` and answered "refused: ...". ``envelope``: the envelope sender in place of
    the signed bounce address (an editor's test, whose bounce must suppress nobody)."""
    if config.get("DKIM_KEY") is not None:
        message = signing.sign(message, config["DKIM_KEY"])
    if envelope is None:
        envelope = return_paths.transactional_return_path(config["SECRET_KEY"], config["BOUNCE_DOMAIN"], to)
    try:
        with smtp.Relay(smtp.SMTPTarget.from_url(config["SMTP_URL"]), max_messages=1) as relay:
            return relay.send(envelope, to, message)
    except smtp.DeliveryError as exc:
        if exc.temporary:
            raise
        current_app.logger.warning("%s was refused: %s", what, exc)
        return f"refused: {exc}"


def send(config: Any, template: str, to: str, context: dict[str, Any], locale: str) -> str:
    """Render ``email/<template>/`` for one reader and deliver it from the newsroom's address. Files in
    ``context["attachments"]`` (``filename``, ``content_type``, base64 ``data``) go with it."""
    context = dict(context)
    attachments = [(a["filename"], a["content_type"], base64.b64decode(a["data"]))
                   for a in context.pop("attachments", None) or ()]  # fmt: skip
    rendered = rendering.render_email(template, context, locale)
    try:
        message = mime.build_transactional(
            rendered, sender_name=config["NEWSROOM_NAME"], sender_address=config["MAIL_FROM"], to=to,
            attachments=attachments,
        )
    except mime.HeaderInjection as exc:
        current_app.logger.warning("transactional mail %s not built: %s", template, exc)
        return f"refused: {exc}"
    return deliver(config, to, message, what=f"transactional mail {template} to a reader")
