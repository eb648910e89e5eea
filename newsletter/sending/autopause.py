"""The automatic pause: a send whose complaint rate (Gmail asks for less than 0.3 %) or hard-bounce rate
reaches its threshold stops itself, and the editor is told why.

Where it runs: when a complaint or a hard bounce is recorded against a ledger row of an issue that is
being sent (``bounces.apply_report``), in that report's transaction; and when a worker records a chunk in
which the relay refused addresses for good at once (``550 5.1.1`` while sending, ``batches``): those count
as hard bounces among the messages tried, as they would had the relay accepted and bounced them later.
A rate can only rise at those moments, so no sweep is needed; a report about an issue that is no longer
sending (most of them: reports come minutes to days later) costs one primary-key read.

Cheap: the reports are the issue's ``bounced`` rows (the ``(issue_id, status)`` index), and the accepted
messages are counted only up to the number that would bring the rate under the threshold (``LIMIT``), so
a check reads at most ``reports / threshold`` index entries, never the whole ledger of a large send. And
the accepted messages of a running send only grow: each process keeps the largest count it has read per
send, and a report whose rate stays under the threshold against that count needs no count at all. Counts
are read with a cap at least twice the last, so a million-reader send with thousands of complaints is
counted a few times per process instead of once per complaint.

Race-free across hosts: the pause is one conditional ``UPDATE issues SET state = 'paused' WHERE state =
'sending'``; of two reports checked at once on two hosts, or a report and an editor's pause, one changes
the row and the other finds it paused. The workers are told through the control word after the commit
(``control.signal_send``), and read the state from the database at their next chunk in any case.

After an editor resumes an automatically paused send, the rule leaves that send alone: the editor has
seen the figures and decided (a pause by hand stays possible).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.editorial.models import Issue, IssueState
from newsletter.platform import audit
from newsletter.platform.i18n import percent
from newsletter.sending.models import AutoPause, Delivery, DeliveryStatus
from newsletter.sending.tallies import ACCEPTED  # the same messages the issue statistics count

COMPLAINT, HARD = "complaint", "hard"


@dataclass(frozen=True)
class Limits:
    """The thresholds as fractions (0 = off) and the fewest accepted messages a rate is judged on."""

    complaint_rate: float = 0.003
    hard_bounce_rate: float = 0.05
    min_messages: int = 1000

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Limits:
        """From ``AUTO_PAUSE_COMPLAINT_PERCENT``, ``AUTO_PAUSE_HARD_BOUNCE_PERCENT`` (percentages) and
        ``AUTO_PAUSE_MIN_MESSAGES``."""
        return cls(
            complaint_rate=float(config.get("AUTO_PAUSE_COMPLAINT_PERCENT", 0.3)) / 100,
            hard_bounce_rate=float(config.get("AUTO_PAUSE_HARD_BOUNCE_PERCENT", 5.0)) / 100,
            min_messages=int(config.get("AUTO_PAUSE_MIN_MESSAGES", 1000)),
        )

    def threshold(self, kind: str) -> float:
        return self.complaint_rate if kind == COMPLAINT else self.hard_bounce_rate


def _refused_for_good():
    """Rows the relay refused at once because the address does not exist (5.1.x, e.g. ``550 5.1.1``):
    hard bounces known while sending (``batches`` suppresses their readers)."""
    return and_(Delivery.status == DeliveryStatus.FAILED, Delivery.reply.like("5__ 5.1.%"))


def _reports(session: Session, issue_id: int, kind: str) -> int:
    """The issue's rows a complaint (or a hard bounce) made ``bounced`` (``bounces`` writes the kind at the
    start of the row's reply); for hard bounces also the addresses the relay refused for good."""
    reported = and_(Delivery.status == DeliveryStatus.BOUNCED, Delivery.reply.like(f"{kind}:%"))
    if kind == HARD:
        reported = or_(reported, _refused_for_good())
    return session.scalar(
        select(func.count()).select_from(Delivery).where(Delivery.issue_id == issue_id, reported)
    ) or 0


def _judged_up_to(session: Session, issue_id: int, kind: str, cap: int) -> int:
    """The messages a rate is judged on, counted no further than ``cap``: those the relay accepted, and
    for hard bounces also those it refused for good."""
    judged = Delivery.status.in_(ACCEPTED)
    if kind == HARD:
        judged = or_(judged, _refused_for_good())
    rows = select(Delivery.id).where(Delivery.issue_id == issue_id, judged).limit(cap).subquery()
    return session.scalar(select(func.count()).select_from(rows)) or 0


# (database, issue, its creation time, kind) -> the most messages counted for it in this process; the
# creation time keeps an id that SQLite hands out again after a delete from inheriting a stranger's count.
_counted: dict[tuple[str, int, Any, str], int] = {}
_COUNTED_KEPT = 256


def check(session: Session, issue_id: int, kind: str, limits: Limits) -> AutoPause | None:
    """After a ``kind`` report on one of the issue's rows (flushed): pause the send when the rate has
    reached the threshold on at least ``min_messages`` accepted messages. Returns the pause made now, or
    None. The caller commits, then signals the workers."""
    threshold = limits.threshold(kind)
    if kind not in (COMPLAINT, HARD) or threshold <= 0:
        return None
    issue_row = session.execute(
        select(Issue.state, Issue.created_at).where(Issue.id == issue_id)
    ).one_or_none()
    if issue_row is None or issue_row.state is not IssueState.SENDING:
        return None
    if session.get(AutoPause, issue_id) is not None:
        return None  # paused once and resumed by an editor: theirs to judge now
    reports = _reports(session, issue_id, kind)
    # rate = reports / accepted >= threshold  <=>  accepted <= reports / threshold
    most = math.floor(reports / threshold + 1e-9)  # a binary fraction may fall just short
    if most < max(limits.min_messages, 1):
        return None
    key = (str(session.get_bind().url), issue_id, issue_row.created_at, kind)
    known = _counted.get(key, 0)
    if known > most:
        return None  # more accepted than that already: the rate is under the threshold
    accepted = _judged_up_to(session, issue_id, kind, max(most + 1, 2 * known))
    if len(_counted) >= _COUNTED_KEPT and key not in _counted:
        _counted.clear()
    _counted[key] = max(known, accepted)
    if accepted > most or accepted < limits.min_messages:
        return None
    paused = session.execute(
        update(Issue)
        .where(Issue.id == issue_id, Issue.state == IssueState.SENDING)
        .values(state=IssueState.PAUSED)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not paused:
        return None  # paused or stopped meanwhile, by an editor or another host's check
    pause = AutoPause(issue_id=issue_id, kind=kind, reports=reports, accepted=accepted, threshold=threshold,
                      paused_at=utcnow())  # fmt: skip
    session.add(pause)
    detail = {"kind": kind, "reports": reports, "accepted": accepted, "threshold": threshold}
    audit.record(session, "issue.auto_pause", actor=audit.SYSTEM, target=("issue", issue_id), detail=detail)
    session.flush()
    issue = session.get(Issue, issue_id)
    if issue is not None:
        session.refresh(issue, ["state"])
    return pause


def resumed(session: Session, issue_id: int) -> None:
    """An editor resumed the send: the automatic pause, if there was one, is theirs now."""
    session.execute(
        update(AutoPause)
        .where(AutoPause.issue_id == issue_id, AutoPause.resumed_at.is_(None))
        .values(resumed_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def reason(session: Session, issue_id: int) -> dict[str, Any] | None:
    """Why the send is paused, for the issue page and the progress API; None when no rule paused it or
    an editor resumed it since."""
    pause = session.get(AutoPause, issue_id)
    if pause is None or pause.resumed_at is not None:
        return None
    rate = pause.reports / pause.accepted if pause.accepted else 0.0
    if pause.kind == COMPLAINT:
        text = _l(
            "Paused automatically: %(reports)s of %(accepted)s accepted messages were reported as spam "
            "(%(rate)s, the limit is %(limit)s). Receivers such as Gmail file mail from senders above it "
            "as spam. Check the list and the issue before you resume.",
            reports=pause.reports, accepted=pause.accepted, rate=percent(rate),
            limit=percent(pause.threshold))  # fmt: skip
    else:
        text = _l(
            "Paused automatically: %(reports)s of %(accepted)s messages bounced for good "
            "(%(rate)s, the limit is %(limit)s). An old or bought list harms the newsroom's reputation "
            "with receivers. Check the list before you resume.",
            reports=pause.reports, accepted=pause.accepted, rate=percent(rate),
            limit=percent(pause.threshold))  # fmt: skip
    return {"kind": pause.kind, "reports": pause.reports, "accepted": pause.accepted,
            "rate": round(rate, 5), "threshold": pause.threshold, "text": str(text)}  # fmt: skip
