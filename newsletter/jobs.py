"""Old dotted paths of jobs that may still wait in Redis: RQ stores a job's function by its path, and a
scheduled issue may wait a year, so each job function that moved keeps its old name here. Nothing imports
this module; RQ does, when it runs such a job. New jobs are queued under their own paths
(``platform.queues``)."""

from __future__ import annotations

from newsletter.editorial.tasks import import_feed
from newsletter.mail.tasks import send_transactional_mail
from newsletter.readers.tasks import (
    expire_pending_signups,
    run_subscriber_import,
    send_import_opt_ins,
    sweep_reader_mails,
)
from newsletter.sending.tasks import (
    fire_scheduled_issue,
    poll_bounce_mailbox,
    send_issue_batch,
    send_issue_test,
    sweep_sends,
)

__all__ = [
    "expire_pending_signups", "fire_scheduled_issue", "import_feed", "poll_bounce_mailbox",
    "run_subscriber_import", "send_import_opt_ins", "send_issue_batch", "send_issue_test",
    "send_transactional_mail", "sweep_reader_mails", "sweep_sends",
]  # fmt: skip
