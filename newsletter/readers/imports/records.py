"""What becomes of an import afterwards: its paced opt-in mails, the per-line report, the list, deletion,
and its uploaded file, which goes once the import is done or failed."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from db import utcnow
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


def iter_report(
    session: Session,
    import_id: int,
    header: Sequence[str],
    outcome_text: Callable[[str], str] = str,
    reason_text: Callable[[str], str] = str,
) -> Iterator[str]:
    """The per-row report as CSV lines (line, address, outcome, reason), in line order, chunk by chunk;
    the stored outcome and reason codes are written as ``outcome_text`` and ``reason_text`` word them."""
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
            yield csv_line([line, email or "", outcome_text(outcome), reason_text(reason)])
        last = rows[-1][0]


def delete_import(session: Session, record: SubscriberImport) -> None:
    """Remove the import, its report rows and its stored file."""
    audit.record(session, "import.delete", target=record, detail={"file": record.filename})
    Path(record.stored_path).unlink(missing_ok=True)
    session.delete(record)


def upload_folder(instance_path: str | Path) -> Path:
    """Where uploads wait for their import (the web process writes, a worker reads)."""
    return Path(instance_path) / "imports"


def discard_file(stored_path: str) -> None:
    """The uploaded file of an import that is done or failed: nothing reads it again, so it does not stay
    on disk. Call it after the import's end is committed."""
    Path(stored_path).unlink(missing_ok=True)


ORPHAN_AGE = timedelta(hours=1)  # a file no import names: its upload died between copy and commit
UNSTARTED_AGE = timedelta(days=1)  # an upload whose columns were never mapped


def discard_leftovers(session: Session, folder: Path, *, now: datetime | None = None) -> int:
    """Delete the files no import needs any more, and the caller commits: those of done and failed
    imports (a worker that died between the end's commit and :func:`discard_file` left them), files no
    import names that are older than :data:`ORPHAN_AGE`, and uploads not started within
    :data:`UNSTARTED_AGE` (with their import). Looks only at the files in ``folder``. Returns how many
    files went."""
    if not folder.is_dir():
        return 0
    now = now or utcnow()
    files = {str(path): path for path in folder.iterdir() if path.is_file()}
    if not files:
        return 0
    known = {
        path: (import_id, state, created_at)
        for path, import_id, state, created_at in session.execute(
            select(SubscriberImport.stored_path, SubscriberImport.id, SubscriberImport.state,
                   SubscriberImport.created_at).where(SubscriberImport.stored_path.in_(list(files)))
        )
    }  # fmt: skip
    gone = 0
    for name, path in files.items():
        if name not in known:
            modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            if now - modified < ORPHAN_AGE:
                continue  # perhaps an upload still being copied
        else:
            import_id, state, created_at = known[name]
            if state is ImportState.UPLOADED and now - created_at >= UNSTARTED_AGE:
                # Only while it is still unstarted: an editor starting it this moment keeps it.
                deleted = session.execute(
                    delete(SubscriberImport).where(
                        SubscriberImport.id == import_id, SubscriberImport.state == ImportState.UPLOADED
                    )
                ).rowcount
                if not deleted:
                    continue
            elif state not in (ImportState.DONE, ImportState.FAILED):
                continue
        path.unlink(missing_ok=True)
        gone += 1
    return gone


def recent_imports(session: Session, limit: int = 20) -> list[SubscriberImport]:
    return list(session.scalars(select(SubscriberImport).order_by(SubscriberImport.id.desc()).limit(limit)))
