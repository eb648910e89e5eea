"""Running an import: read into staging, settle (new readers created, known ones left, suppressed ones
refused), count. Safe to run twice; the caller owns the transaction."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.readers.imports.rows import read_into_staging
from newsletter.readers.imports.settle_sql import EXISTING, SUPPRESSED, timed
from newsletter.readers.imports.staging import count_outcomes
from newsletter.readers.models import (
    ConsentBasis,
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


def _settle(session: Session, record: SubscriberImport, params: dict[str, Any]) -> None:
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
    count_outcomes(record, {(outcome, reason): n for outcome, reason, n in counts}, created)


def run_import(
    session: Session, import_id: int, *, on_progress: Callable[[], None] = lambda: None
) -> SubscriberImport | None:
    """Carry out a queued import. Safe to run twice: a finished import is left alone, an interrupted one
    starts over (nothing of it reached the reader tables before the final step)."""
    record = session.get(SubscriberImport, import_id, populate_existing=True)
    if record is None or record.state in (ImportState.DONE, ImportState.FAILED, ImportState.UPLOADED):
        return record
    session.execute(delete(ImportRow).where(ImportRow.import_id == record.id))
    record.state = ImportState.RUNNING
    record.started_at = utcnow()
    record.bytes_done = record.rows_read = 0
    on_progress()
    staff = record.staff_user_id

    staff_user = session.get(StaffUser, staff) if staff else None
    staff_email = staff_user.email if staff_user else "staff"
    params = _settle_params(record, staff_email)
    started, cpu = time.perf_counter(), time.process_time()
    settled = read_into_staging(session, record, on_progress, params)
    read, read_cpu = time.perf_counter(), time.process_time()
    if not settled:
        _settle(session, record, params)
    log.info(
        "import %s: %s rows read%s in %.1f s (%.1f s CPU in this process), then settled in %.1f s",
        record.id, record.rows_read, " and settled" if settled else "", read - started, read_cpu - cpu,
        time.perf_counter() - read,
    )  # fmt: skip
    record.state = ImportState.DONE
    record.finished_at = utcnow()
    return record


def fail_import(session: Session, import_id: int, reason: str) -> None:
    record = session.get(SubscriberImport, import_id, populate_existing=True)
    if record is not None:
        session.execute(delete(ImportRow).where(ImportRow.import_id == import_id))
        record.state = ImportState.FAILED
        record.failure = reason[:500]
        record.finished_at = utcnow()
