"""The supporters' job: the clock's sweep of the donor-mail outbox."""

from __future__ import annotations

from db import db
from newsletter import api as newsletter_api
from payments.supporters import mails


def sweep_donor_mails(batch: int = 1000) -> int:
    """Queue the donor mails (receipts, card reminders, endings, statements) written and not yet queued,
    batch by batch (every 2 s from the clock; also ``flask --app app payments sweep-mails``). Safe to run
    twice and on several hosts: rows are claimed."""
    return newsletter_api.sweep_outbox_all(
        db.session, lambda limit: mails.queue_unsent(db.session, limit=limit), batch=batch
    )
