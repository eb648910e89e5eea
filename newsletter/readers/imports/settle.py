"""Running an import: claim it, read into staging, settle (new readers created, known ones left, suppressed
ones refused) chunk by chunk, count. A run that dies leaves its settled chunks; the next run claims the
import once the lease has run out and continues after them."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Integer, delete, func, select, text, update
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.readers.imports.files import MAX_LINE_BYTES
from newsletter.readers.imports.rows import read_into_staging
from newsletter.readers.imports.settle_sql import (
    _FENCE_EXCLUSIVE,
    _FENCE_KEY,
    _FENCE_SHARED,
    EXISTING,
    SUPPRESSED,
    timed,
)
from newsletter.readers.imports.staging import ImportTakenOver, count_outcomes, outcome_figures
from newsletter.readers.models import (
    ConsentBasis,
    ImportChunk,
    ImportConsent,
    ImportRow,
    ImportState,
    Newsletter,
    SubscriberImport,
    SubscriberStatus,
)
from newsletter.staff.models import StaffUser

log = logging.getLogger(__name__)

# Elsewhere (SQLite): the staging rows are settled after reading, in a few set-based statements.
_SETTLE = [
    # Suppressed addresses are refused, whatever the editor says.
    """UPDATE subscriber_import_rows SET outcome = 'refused', reason = :suppressed
       WHERE import_id = :id AND outcome = 'read'
         AND email_hash IN (SELECT email_hash FROM suppressions)""",
    # Readers the database already knows are left as they are.
    """UPDATE subscriber_import_rows SET outcome = 'existing', reason = :existing
       WHERE import_id = :id AND outcome = 'read'
         AND EXISTS (SELECT 1 FROM subscribers s
                     WHERE lower(s.email) = subscriber_import_rows.email_lower)""",
]
_SETTLE_READERS = """
INSERT INTO subscribers (email, status, locale, source, created_at, updated_at, confirmed_at,
                         consent_basis, consent_at, consent_detail, ask_frequency)
SELECT email, :status, COALESCE(locale, :locale), COALESCE(source, :source), :now, :now, :confirmed_at,
       :basis, :consent_at, :detail, 'normal'
FROM subscriber_import_rows WHERE import_id = :id AND outcome = 'read'
ON CONFLICT DO NOTHING"""


def _settle_params(record: SubscriberImport, staff_email: str) -> dict[str, Any]:
    """What every new reader of the import gets."""
    now = utcnow()
    recorded = record.consent is ImportConsent.RECORDED
    params = {
        "id": record.id,
        "status": (SubscriberStatus.ACTIVE if recorded else SubscriberStatus.PENDING).value,
        "locale": "de",
        "source": f"import:{record.id}",
        "now": now,
        "confirmed_at": now if recorded else None,
        "basis": ConsentBasis.RECORDED.value if recorded else None,
        "consent_at": now if recorded else None,
        "detail": f"{record.consent_detail} (import {record.id} by {staff_email})"[:500]
        if recorded
        else None,
    }
    return params


def _settle(session: Session, record: SubscriberImport, params: dict[str, Any]) -> dict[str, int]:
    """Settle the staging rows in a few set-based statements (not PostgreSQL, which settles while
    reading) and count the outcomes."""
    now = params["now"]
    for sql in _SETTLE:
        session.execute(text(sql), {"id": record.id, "suppressed": SUPPRESSED, "existing": EXISTING})
    created = session.execute(timed(_SETTLE_READERS), params).rowcount
    for newsletter_id in session.scalars(select(Newsletter.id)):
        session.execute(
            timed(
                "INSERT INTO subscriptions (subscriber_id, newsletter_id, created_at) "
                "SELECT s.id, :nid, :now FROM subscriber_import_rows r "
                "JOIN subscribers s ON lower(s.email) = r.email_lower "
                "WHERE r.import_id = :id AND r.outcome = 'read' AND s.created_at = :now "
                "AND (',' || r.newsletter_ids || ',') LIKE :pattern ON CONFLICT DO NOTHING"
            ),
            {"id": record.id, "nid": newsletter_id, "now": now, "pattern": f"%,{newsletter_id},%"},
        )
    counts = session.execute(
        select(ImportRow.outcome, ImportRow.reason, func.count())
        .where(ImportRow.import_id == record.id)
        .group_by(ImportRow.outcome, ImportRow.reason)
    ).all()
    return outcome_figures({(outcome, reason): n for outcome, reason, n in counts}, created)


FILE_GONE = "the uploaded file is gone"


def claim_import(session: Session, import_id: int, lease_seconds: float) -> int | None:
    """Take the import for a new run and commit: a queued import, or a running one whose lease ran out
    (its worker died or stalls). Returns the run's number, or None while another run holds the import.
    On PostgreSQL the claim waits for the chunks the run before may still be settling (the fence)."""
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SET LOCAL lock_timeout = '10s'"))
        session.execute(text(_FENCE_EXCLUSIVE), {"key": _FENCE_KEY, "id": import_id})
    now = utcnow()
    record = SubscriberImport
    claimed = session.execute(
        update(record)
        .where(
            record.id == import_id,
            (record.state == ImportState.QUEUED)
            | (
                (record.state == ImportState.RUNNING)
                & ((record.lease_until.is_(None)) | (record.lease_until < now))
            ),
        )
        .values(
            run=record.run + 1,
            resumed=record.resumed + (record.state == ImportState.RUNNING).cast(Integer),
            state=ImportState.RUNNING,
            lease_until=now + timedelta(seconds=lease_seconds),
            started_at=func.coalesce(record.started_at, now),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    if not claimed:
        return None
    return session.scalar(select(record.run).where(record.id == import_id))


def settled_chunks(session: Session, import_id: int) -> list[tuple[int, int]]:
    """The line ranges of the chunks settled so far, in order."""
    return [
        (first, last)
        for first, last in session.execute(
            select(ImportChunk.first_line, ImportChunk.last_line)
            .where(ImportChunk.import_id == import_id)
            .order_by(ImportChunk.first_line)
        )
    ]


def _chunk_figures(session: Session, import_id: int) -> dict[str, int]:
    sums = session.execute(
        select(
            func.coalesce(func.sum(ImportChunk.created), 0),
            func.coalesce(func.sum(ImportChunk.existing), 0),
            func.coalesce(func.sum(ImportChunk.duplicates), 0),
            func.coalesce(func.sum(ImportChunk.suppressed), 0),
            func.coalesce(func.sum(ImportChunk.errors), 0),
        ).where(ImportChunk.import_id == import_id)
    ).one()
    return dict(zip(("created", "existing", "duplicates", "suppressed", "errors"), sums, strict=True))


def run_import(
    session: Session,
    import_id: int,
    *,
    on_progress: Callable[[], None] = lambda: None,
    lease_seconds: float = 120.0,
    settle_rows: int | None = None,
    max_line: int = MAX_LINE_BYTES,
) -> SubscriberImport | None:
    """Carry out a queued import, or continue one whose run died (its lease ran out): the chunks that run
    settled stay, their lines are read again only for the duplicates within the file, and the report ends
    as that of an uninterrupted run. A finished import is left alone, and so is one another run holds
    (returns None). Commits: the claim, each chunk, and the end are transactions of their own."""
    record = session.get(SubscriberImport, import_id, populate_existing=True)
    if record is None or record.state in (ImportState.DONE, ImportState.FAILED, ImportState.UPLOADED):
        return record
    run = claim_import(session, import_id, lease_seconds)
    if run is None:
        return None
    record = session.get(SubscriberImport, import_id, populate_existing=True)
    settled = settled_chunks(session, record.id)
    if not Path(record.stored_path).is_file():
        return _stop_without_file(session, record, run)
    if not settled:
        session.execute(delete(ImportRow).where(ImportRow.import_id == record.id))
        record.bytes_done = record.rows_read = 0
    on_progress()
    staff = record.staff_user_id

    staff_user = session.get(StaffUser, staff) if staff else None
    staff_email = staff_user.email if staff_user else "staff"
    params = _settle_params(record, staff_email)
    started, cpu = time.perf_counter(), time.process_time()
    writer = read_into_staging(
        session, record, on_progress, params, run=run, settled=settled, lease_seconds=lease_seconds,
        settle_rows=settle_rows, max_line=max_line,
    )  # fmt: skip
    read, read_cpu = time.perf_counter(), time.process_time()
    figures = _chunk_figures(session, record.id) if writer.postgres else _settle(session, record, params)
    log.info(
        "import %s (run %s%s): %s rows read%s in %.1f s (%.1f s CPU in this process), then settled in %.1f s",
        record.id, run, f", after {len(settled)} settled chunks" if settled else "", record.rows_read,
        " and settled" if writer.postgres else "", read - started, read_cpu - cpu, time.perf_counter() - read,
    )  # fmt: skip
    _hold_fence(session, record.id, run)
    count_outcomes(record, figures)
    record.state = ImportState.DONE
    record.finished_at = utcnow()
    record.lease_until = None
    return record


def _hold_fence(session: Session, import_id: int, run: int) -> None:
    """Before the end of a run is written: this run still holds the import (in the caller's transaction,
    which on PostgreSQL keeps the next claim waiting until it ends)."""
    if session.connection().dialect.name == "postgresql":
        session.execute(text(_FENCE_SHARED), {"key": _FENCE_KEY, "id": import_id})
    holder = session.scalar(select(SubscriberImport.run).where(SubscriberImport.id == import_id))
    if holder != run:
        raise ImportTakenOver(f"import {import_id}: run {holder} holds it, not run {run}")


def _stop_without_file(session: Session, record: SubscriberImport, run: int) -> SubscriberImport:
    """A resumed (or queued) import whose stored file was deleted cannot go on: it fails, and shows what
    its settled chunks did. Nothing else changes."""
    count_outcomes(record, _chunk_figures(session, record.id))
    record.state = ImportState.FAILED
    record.failure = FILE_GONE
    record.finished_at = utcnow()
    record.lease_until = None
    log.warning("import %s (run %s): %s (%s)", record.id, run, FILE_GONE, record.stored_path)
    return record


def fail_import(session: Session, import_id: int, reason: str) -> str | None:
    """The import stopped with an error. What its settled chunks did stays (their readers are in the
    database and their report rows say so); without any, nothing of it was added. Returns the path of
    its uploaded file, for the caller to delete once this is committed."""
    record = session.get(SubscriberImport, import_id, populate_existing=True)
    if record is None:
        return None
    if settled_chunks(session, import_id):
        count_outcomes(record, _chunk_figures(session, import_id))
    else:
        session.execute(delete(ImportRow).where(ImportRow.import_id == import_id))
    record.state = ImportState.FAILED
    record.failure = reason[:500]
    record.finished_at = utcnow()
    record.lease_until = None
    return record.stored_path


def stalled_imports(session: Session) -> list[tuple[int, int]]:
    """Running imports whose lease ran out (their worker died or stalls), as (id, run): the sweep queues
    each again."""
    return [
        (import_id, run)
        for import_id, run in session.execute(
            select(SubscriberImport.id, SubscriberImport.run).where(
                SubscriberImport.state == ImportState.RUNNING, SubscriberImport.lease_until < utcnow()
            )
        )
    ]
