"""What becomes of an import afterwards: its paced opt-in mails, the per-line report, the list, deletion."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from newsletter.platform import audit
from newsletter.platform.csv_cells import csv_line
from newsletter.readers import reader_mails
from newsletter.readers.models import (
    ImportConsent,
    ImportRow,
    ImportState,
    Subscriber,
    SubscriberImport,
    SubscriberStatus,
)

REPORT_CHUNK = 5_000


def send_opt_ins(session: Session, import_id: int, *, batch: int, cap: int) -> int:
    """Queue the opt-in mail for the next ``batch`` pending readers of an import, at most ``cap`` in all.
    Returns how many are still waiting (0 when done). Safe to run twice: each row is marked as mailed."""
    record = session.get(SubscriberImport, import_id, populate_existing=True)
    if record is None or record.consent is not ImportConsent.NONE or record.state is not ImportState.DONE:
        return 0
    room = max(0, min(batch, cap - record.opt_in_sent))
    pending = (
        select(ImportRow, Subscriber)
        .join(Subscriber, func.lower(Subscriber.email) == ImportRow.email_lower)
        .where(
            ImportRow.import_id == import_id,
            ImportRow.outcome == "read",
            ImportRow.mailed.is_(False),
            Subscriber.status == SubscriberStatus.PENDING,
        )
        .order_by(ImportRow.line)
    )
    for row, reader in session.execute(pending.limit(room)).all():
        row.mailed = True
        session.flush()
        reader_mails.request_confirmation(session, reader)
        record.opt_in_sent += 1
    if record.opt_in_sent >= cap:
        return 0
    return session.scalar(select(func.count()).select_from(pending.subquery())) or 0


def iter_report(session: Session, import_id: int, header: Sequence[str]) -> Iterator[str]:
    """The per-row report as CSV lines (line, address, outcome, reason), in line order, chunk by chunk."""
    yield "\ufeff" + csv_line(header)
    last = 0
    while True:
        rows = session.execute(
            select(ImportRow.line, ImportRow.email, ImportRow.outcome, ImportRow.reason)
            .where(ImportRow.import_id == import_id, ImportRow.reason.is_not(None), ImportRow.line > last)
            .order_by(ImportRow.line)
            .limit(REPORT_CHUNK)
        ).all()
        if not rows:
            return
        for line, email, outcome, reason in rows:
            yield csv_line([line, email or "", outcome, reason])
        last = rows[-1][0]


def delete_import(session: Session, record: SubscriberImport) -> None:
    """Remove the import, its report rows and its stored file."""
    audit.record(session, "import.delete", target=record, detail={"file": record.filename})
    Path(record.stored_path).unlink(missing_ok=True)
    session.delete(record)


def recent_imports(session: Session, limit: int = 20) -> list[SubscriberImport]:
    return list(session.scalars(select(SubscriberImport).order_by(SubscriberImport.id.desc()).limit(limit)))
