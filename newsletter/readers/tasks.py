"""The readers' jobs: the outbox sweep, expiry of unconfirmed sign-ups, CSV imports and their opt-ins.
Jobs take ids and plain values, own their transaction, and are safe to run twice."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from db import db
from newsletter.mail import outbox as mail_outbox
from newsletter.platform import queues
from newsletter.readers import reader_mails, subscribers, welcome_mails
from newsletter.readers.imports import records, settle, staging
from newsletter.readers.models import ImportConsent, ImportState


def sweep_reader_mails(batch: int = 1000) -> int:
    """Queue the confirmation and preference-link mails that sign-ups wrote to the outbox, batch by batch
    (run every 2 s by the clock, ``flask --app app newsletter clock``; also ``flask --app app newsletter
    sweep-reader-mails``). Safe to run twice and on several hosts: rows are claimed."""
    config = current_app.config

    def sweep_once(limit: int) -> int:
        return reader_mails.send_unqueued_reader_mails(
            db.session, base_url=config["BASE_URL"], secret_key=config["SECRET_KEY"], limit=limit
        )

    return mail_outbox.sweep_all(db.session, sweep_once, batch=batch)


def expire_pending_signups() -> int:
    """Delete sign-ups never confirmed within a week (also ``flask --app app newsletter expire-pending``)."""
    deleted = subscribers.expire_pending_signups(db.session)
    db.session.commit()
    return deleted


def run_subscriber_import(import_id: int) -> str:
    """Read, check and settle a CSV import, chunk by chunk, each chunk committed with its record; continue
    one whose worker died from its last settled chunk (the sweep queues it again once its lease ran out).
    Safe to run twice (see ``settle.run_import``). Then the opt-in mails start, paced."""
    config = current_app.config
    try:
        record = settle.run_import(
            db.session, import_id, on_progress=db.session.commit,
            lease_seconds=config["IMPORT_LEASE_SECONDS"], settle_rows=config["IMPORT_SETTLE_ROWS"],
            max_line=config["IMPORT_MAX_LINE_BYTES"],
        )  # fmt: skip
        db.session.commit()
    except staging.ImportTakenOver:
        db.session.rollback()
        return f"import {import_id}: continued by another run"
    except Exception as exc:
        db.session.rollback()
        stored_path = settle.fail_import(db.session, import_id, f"the import stopped: {type(exc).__name__}")
        db.session.commit()
        if stored_path:
            records.discard_file(stored_path)
        raise
    if record is None:
        return f"import {import_id}: another run holds it"
    if record.state in (ImportState.DONE, ImportState.FAILED):  # settled for good: the upload may go
        records.discard_file(record.stored_path)
    if record.state is not ImportState.DONE:
        return "nothing to do"
    if record.consent is ImportConsent.RECORDED and record.send_welcome:
        welcome_mails.request_welcome_for_import(db.session, import_id)
        db.session.commit()
    if record.consent is ImportConsent.NONE and record.created_count:
        send_import_opt_ins(import_id)
    return f"import {import_id}: {record.created_count} new"


def queue_subscriber_import(import_id: int, run: int = 0) -> None:
    queues.enqueue(queues.SUBSCRIBER_IMPORT, import_id, job_id=queues.subscriber_import_id(import_id, run))


def sweep_imports() -> int:
    """Queue again the imports whose worker died or stalls (their lease ran out): each continues from its
    last settled chunk. Then delete the uploaded files no import needs any more
    (``records.discard_leftovers``). Run by the clock every 30 s; also ``flask --app app newsletter
    sweep-imports``. Safe to run twice: the job of a run is queued once, and a run claims the import
    before it reads."""
    stalled = settle.stalled_imports(db.session)
    db.session.rollback()
    for import_id, run in stalled:
        queue_subscriber_import(import_id, run + 1)
    records.discard_leftovers(db.session, records.upload_folder(current_app.instance_path))
    db.session.commit()
    return len(stalled)


def send_import_opt_ins(import_id: int) -> int:
    """One paced batch of opt-in mails for an import; schedules the next batch while readers wait."""
    config = current_app.config
    waiting = records.send_opt_ins(
        db.session, import_id, batch=config["IMPORT_OPT_IN_BATCH"], cap=config["IMPORT_OPT_IN_CAP"]
    )
    db.session.commit()
    sweep_reader_mails()  # the batch's mails are in the outbox; no need to wait for the clock
    if waiting:
        pause = timedelta(seconds=config["IMPORT_OPT_IN_INTERVAL"])
        queues.enqueue(queues.IMPORT_OPT_INS, import_id, after=pause)
    return waiting
