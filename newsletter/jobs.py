"""RQ entry points. Jobs take ids and plain values, never ORM objects, and are safe to run twice."""

from __future__ import annotations

from typing import Any

from flask import current_app

from . import delivery, mime, rendering


def send_transactional_mail(template: str, to: str, context: dict[str, Any], locale: str = "de") -> str:
    """Render ``email/<template>/`` for one reader and hand it to the relay. A temporary SMTP failure
    raises, so RQ retries the job (see ``api.send_transactional_mail``); a permanent one is logged."""
    config = current_app.config
    rendered = rendering.render_email(template, context, locale)
    message = mime.build_transactional(
        rendered, sender_name=config["NEWSROOM_NAME"], sender_address=config["MAIL_FROM"], to=to
    )
    target = delivery.SMTPTarget.from_url(config["SMTP_URL"])
    try:
        return delivery.send_message(target, config["MAIL_FROM"], [to], message)
    except delivery.DeliveryError as exc:
        if exc.temporary:
            raise
        current_app.logger.warning("transactional mail %s to a reader was refused: %s", template, exc)
        return f"refused: {exc}"


def sweep_reader_mails() -> int:
    """Queue the confirmation and preference-link mails written while Redis was down (scheduled job;
    also ``flask --app app newsletter sweep-reader-mails``)."""
    from db import db

    from . import subscribers

    queued = subscribers.send_unqueued_reader_mails(db.session, base_url=current_app.config["BASE_URL"])
    db.session.commit()
    return queued


def expire_pending_signups() -> int:
    """Delete sign-ups never confirmed within a week (also ``flask --app app newsletter expire-pending``)."""
    from db import db

    from . import subscribers

    deleted = subscribers.expire_pending_signups(db.session)
    db.session.commit()
    return deleted


# -- subscriber imports ----------------------------------------------------------------------------


def run_subscriber_import(import_id: int) -> str:
    """Read, check and settle a CSV import; progress is committed chunk by chunk for the progress page.
    Safe to run twice (see ``imports.run_import``). Then the opt-in mails start, paced."""
    from db import db

    from . import imports
    from .models import ImportConsent, ImportState

    try:
        record = imports.run_import(db.session, import_id, on_progress=db.session.commit)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        imports.fail_import(db.session, import_id, f"the import stopped: {type(exc).__name__}")
        db.session.commit()
        raise
    if record is None or record.state is not ImportState.DONE:
        return "nothing to do"
    if record.consent is ImportConsent.NONE and record.created_count:
        send_import_opt_ins(import_id)
    return f"import {import_id}: {record.created_count} new"


def send_import_opt_ins(import_id: int) -> int:
    """One paced batch of opt-in mails for an import; schedules the next batch while readers wait."""
    from datetime import timedelta

    from db import db

    from . import imports
    from .queues import get_queue

    config = current_app.config
    waiting = imports.send_opt_ins(
        db.session, import_id, base_url=config["BASE_URL"], batch=config["IMPORT_OPT_IN_BATCH"],
        cap=config["IMPORT_OPT_IN_CAP"],
    )  # fmt: skip
    db.session.commit()
    if waiting:
        get_queue("default").enqueue_in(
            timedelta(seconds=config["IMPORT_OPT_IN_INTERVAL"]), send_import_opt_ins, import_id
        )
    return waiting
