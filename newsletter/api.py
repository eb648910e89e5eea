"""The one surface other packages (``payments``) may import from ``newsletter``."""

from __future__ import annotations

from typing import Any

from rq import Retry

from .queues import get_queue

# Temporary SMTP failures: try again after 10 s, 1 min, 5 min, 30 min, 2 h.
TRANSACTIONAL_RETRY = Retry(max=5, interval=[10, 60, 300, 1800, 7200])


def send_transactional_mail(template: str, to: str, context: dict[str, Any], locale: str = "de", *,
                            job_id: str | None = None):  # fmt: skip
    """Queue one message for one reader on the high-priority ``transactional`` queue.

    ``context`` holds plain values (it is stored in Redis). ``job_id`` names the job, so a caller can
    find it again; it does not by itself keep a second call from sending a second message.
    """
    from . import jobs

    return get_queue("transactional").enqueue(
        jobs.send_transactional_mail, template, to, context, locale,
        job_id=job_id, retry=TRANSACTIONAL_RETRY, result_ttl=86400, failure_ttl=7 * 86400,
    )  # fmt: skip


def send_transactional_mails(messages: list[tuple[str, str, dict[str, Any], str]]) -> list:
    """Queue many ``(template, to, context, locale)`` messages in one Redis round trip (the reader-mail
    sweeper); each is a job like :func:`send_transactional_mail`'s."""
    from . import jobs

    if not messages:
        return []
    queue = get_queue("transactional")
    data = [
        queue.prepare_data(
            jobs.send_transactional_mail,
            args=message,
            retry=TRANSACTIONAL_RETRY,
            result_ttl=86400,
            failure_ttl=7 * 86400,
        )
        for message in messages
    ]
    with queue.connection.pipeline() as pipe:
        enqueued = queue.enqueue_many(data, pipeline=pipe)
        pipe.execute()
    return enqueued
