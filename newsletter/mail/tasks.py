"""The mail package's job, and how it is queued: one transactional message for one reader."""

from __future__ import annotations

from typing import Any

from flask import current_app

from newsletter.mail import transactional
from newsletter.platform import queues


def send_transactional_mail(template: str, to: str, context: dict[str, Any], locale: str = "de") -> str:
    """The job: render and send (see ``transactional.send``). A temporary SMTP failure raises, so RQ tries
    again (``queues.TRANSACTIONAL_MAIL`` says when); a permanent one is logged."""
    return transactional.send(current_app.config, template, to, context, locale)


def queue_transactional_mail(template: str, to: str, context: dict[str, Any], locale: str = "de", *,
                             job_id: str | None = None):  # fmt: skip
    """Queue one message on the high-priority ``transactional`` queue. ``context`` holds plain values (it
    is stored in Redis). ``job_id`` names the job so it can be found again; it does not by itself keep a
    second call from sending a second message (the outboxes do that)."""
    return queues.enqueue(queues.TRANSACTIONAL_MAIL, template, to, context, locale, job_id=job_id)


Message = tuple[tuple[str, str, dict[str, Any], str], str | None]  # (template, to, context, locale), job id


def queue_transactional_mails(messages: list[Message]) -> list:
    """Queue many ``((template, to, context, locale), job_id)`` messages in one Redis round trip."""
    return queues.enqueue_many(queues.TRANSACTIONAL_MAIL, messages)
