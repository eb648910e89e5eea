"""An issue's progress: a count of its ledger rows by status, the same in the page, the CLI and the API."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from db import utcnow
from newsletter.editorial.models import Issue, IssueState
from newsletter.sending import autopause, ledger
from newsletter.sending.models import Delivery, DeliveryStatus

RATE_WINDOW = 60  # seconds of sent rows the progress rate looks at


def progress(session: Session, issue_id: int, *, now: datetime | None = None) -> dict[str, Any]:
    """Rows by status, the rate over the last minute (messages a second) and the time left at that rate:
    the same numbers in the page, the CLI and the API."""
    now = now or utcnow()
    counts: dict[str, Any] = dict.fromkeys((s.value for s in DeliveryStatus), 0)
    rows = session.execute(
        select(Delivery.status, func.count()).where(Delivery.issue_id == issue_id).group_by(Delivery.status)
    ).all()
    for status, count in rows:
        counts[DeliveryStatus(status).value] = count
    counts["total"] = sum(counts.values())
    recent = session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.issue_id == issue_id,
            Delivery.status == DeliveryStatus.SENT,
            Delivery.sent_at >= now - timedelta(seconds=RATE_WINDOW),
        )
    )
    rate = (recent or 0) / RATE_WINDOW
    open_rows = counts["queued"] + counts["sending"]
    counts["rate"] = round(rate, 2)
    counts["eta_seconds"] = round(open_rows / rate) if rate and open_rows else (0 if not open_rows else None)
    counts["paused_because"] = autopause.reason(session, issue_id)
    return counts


def send_panel(issue: Issue) -> dict[str, Any] | None:
    """The issue page's send panel: the ledger by status once the issue has left the draft state (the
    editorial page shows it through the template global ``send_progress``)."""
    if issue.state is IssueState.DRAFT:
        return None
    session = object_session(issue)
    panel = progress(session, issue.id)
    panel["variants"] = ledger.count_by_variant(session, issue.id)
    panel["segment"] = ledger.recorded_segment(session, issue.id)
    return panel
