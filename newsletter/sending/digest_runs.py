"""Building a digest's slot (``editorial.digests``): run by the clock itself every
``DIGEST_SWEEP_SECONDS`` (also ``flask --app app newsletter build-digests``), on any number of hosts.

A slot is claimed by inserting its ``digest_runs`` row (unique on digest and slot, ``ON CONFLICT DO
NOTHING``), or, for a slot an editor held, by one conditional UPDATE of that row; whoever's statement
writes no row leaves the slot alone. The claim, the issue and, in send mode, the send's ledger rows are
committed in one transaction: a second clock's INSERT waits for the first's commit and then finds the row,
and a clock that dies halfway leaves nothing, so the next sweep builds the slot. An empty slot is recorded
as such and makes no issue.

The editors' mail about a draft is queued after the commit, by whoever marks the run as told
(``editors_told_at``, one conditional UPDATE, so two clocks never tell twice). When Redis cannot take the
mail the mark is taken back and every later sweep tries again, for as long as a slot may still be built
late (``DIGEST_GRACE_SECONDS``): a Redis outage delays that mail and never loses the draft, which the
desk lists anyway.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db import dialect_insert, utcnow
from newsletter.editorial import digests, issues
from newsletter.editorial.models import Digest, DigestRun, IssueArticle
from newsletter.mail.tasks import queue_transactional_mails
from newsletter.platform import audit
from newsletter.platform.access import StaffRole
from newsletter.sending import control
from newsletter.sending.ledger import SendError, check_sendable
from newsletter.staff.models import StaffUser

log = logging.getLogger(__name__)
HELD = "held"  # a run's detail when an editor held its slot (the desk and the mail say so in words)


@dataclass(frozen=True)
class Built:
    run_id: int
    state: str  # digests.DRAFT, SENDING, EMPTY or SKIPPED
    issue_id: int | None
    articles: int


def build_due(session: Session, config: Any, *, now: datetime | None = None) -> list[Built]:
    """Build every active digest's slot that is due now (see :func:`build_slot`)."""
    session.rollback()  # start from what the database holds now
    now = now or utcnow()
    grace = timedelta(seconds=int(config.get("DIGEST_GRACE_SECONDS", 6 * 3600)))
    tell_waiting_editors(session, config, since=now - grace)
    done = []
    for digest_id in digests.active_digests(session):
        digest = session.get(Digest, digest_id)
        slot = digests.due_slot(digest, now, grace)
        if slot is None:
            continue
        try:
            built = build_slot(session, digest_id, slot, config, now=now)
        except Exception:
            session.rollback()
            log.exception("digest %s: slot %s was not built; the next sweep tries again", digest_id, slot)
            continue
        if built is not None:
            done.append(built)
    return done


def _claim(session: Session, digest_id: int, slot: datetime) -> tuple[DigestRun, bool] | None:
    """This transaction's claim on the slot: its new row, or the held row taken over (True); None when
    another clock built it or an editor skipped it."""
    run_id = session.scalar(
        dialect_insert(session, DigestRun)
        .values(digest_id=digest_id, slot_at=slot, state=digests.BUILDING)
        .on_conflict_do_nothing()
        .returning(DigestRun.id)
    )
    held = False
    if run_id is None:
        run_id = session.scalar(
            update(DigestRun)
            .where(
                DigestRun.digest_id == digest_id, DigestRun.slot_at == slot, DigestRun.state == digests.HOLD
            )
            .values(state=digests.BUILDING)
            .returning(DigestRun.id)
            .execution_options(synchronize_session=False)
        )
        held = run_id is not None
    if run_id is None:
        skipped = session.execute(
            update(DigestRun)
            .where(
                DigestRun.digest_id == digest_id, DigestRun.slot_at == slot, DigestRun.state == digests.SKIP
            )
            .values(state=digests.SKIPPED, built_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        session.commit()
        if skipped.rowcount:
            log.info("digest %s: slot %s skipped by an editor", digest_id, slot)
        return None
    return session.get(DigestRun, run_id), held


def build_slot(
    session: Session,
    digest_id: int,
    slot: datetime,
    config: Any,
    *,
    now: datetime | None = None,
    draft_because: str | None = None,
) -> Built | None:
    """Claim the digest's ``slot`` and build its issue (see the module). Returns what was done, or None
    when the slot was not this caller's to build. Commits."""
    now = now or utcnow()
    digest = session.get(Digest, digest_id)
    claimed = _claim(session, digest_id, slot)
    if claimed is None:
        return None
    run, held = claimed
    run.built_at = now
    since = digests.last_issue_time(session, digest)
    found = digests.articles_for(session, digest, slot, since=since, until=now)
    if not found:
        run.state = digests.EMPTY
        session.commit()
        return Built(run.id, run.state, None, 0)
    issue = issues.create_issue(
        session,
        issues.IssueInput(
            subject=_subject(digest, slot),
            layout=digest.layout,
            newsletter_ids=[digest.newsletter_id],
            sender_name=digest.sender_name,
            sender_address=digest.sender_address,
        ),
        created_by_id=digest.created_by_id,
    )
    issue.items = [IssueArticle(article=a, position=n) for n, a in enumerate(found)]
    run.issue_id, run.articles = issue.id, len(found)
    audit.record(
        session,
        "digest.build",
        actor=audit.SYSTEM,
        target=digest,
        detail={"slot": slot.isoformat(), "issue": issue.id, "articles": len(found)},
    )
    reason = draft_because or (HELD if held else None)
    if digest.mode == "send" and reason is None:
        try:
            check_sendable(issue, config)
        except SendError as exc:
            reason = str(exc)
    if reason is None and digest.mode == "send":
        run.state = digests.SENDING
        session.flush()
        run_id, issue_id = run.id, issue.id
        try:  # commits the claim, the issue and its ledger together
            control.start_send(session, issue, config, actor=audit.SYSTEM)
        except SendError as exc:  # rolled back, claim included: build it again as a draft saying why
            return build_slot(session, digest_id, slot, config, now=now, draft_because=str(exc))
        return Built(run_id, digests.SENDING, issue_id, len(found))
    run.state, run.detail = digests.DRAFT, (reason or "")[:1000]
    session.commit()
    tell_editors(session, run.id, config)
    return Built(run.id, run.state, issue.id, len(found))


def _subject(digest: Digest, slot: datetime) -> str:
    local = slot.astimezone(ZoneInfo(digest.timezone))
    return f"{digest.subject} – {local:%d.%m.%Y}"[:200]


def editors(session: Session) -> list[StaffUser]:
    """Active staff who compose issues: editors and admins."""
    users = session.scalars(select(StaffUser).where(StaffUser.active).order_by(StaffUser.id))
    return [u for u in users if u.has_role(StaffRole.EDITOR)]


def tell_waiting_editors(session: Session, config: Any, *, since: datetime) -> int:
    """Tell the editors of every draft built since ``since`` whose mail did not reach the queue yet.
    Returns how many drafts were told now."""
    waiting = session.scalars(
        select(DigestRun.id).where(
            DigestRun.state == digests.DRAFT, DigestRun.editors_told_at.is_(None), DigestRun.built_at >= since
        )
    ).all()
    return sum(tell_editors(session, run_id, config) for run_id in waiting)


def tell_editors(session: Session, run_id: int, config: Any) -> bool:
    """Mark the draft's run as told and queue one message to each editor (named by run and editor); False
    when another clock told them already, or when Redis could not take the messages (the mark is taken
    back, for the next sweep). Commits."""
    marked = session.execute(
        update(DigestRun)
        .where(DigestRun.id == run_id, DigestRun.state == digests.DRAFT, DigestRun.editors_told_at.is_(None))
        .values(editors_told_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if not marked.rowcount:
        return False
    run = session.get(DigestRun, run_id)
    digest = session.get(Digest, run.digest_id)
    try:
        _mail_editors(session, digest, run, config)
    except redis.RedisError as exc:
        log.warning("digest %s: the editors were not told of draft issue %s yet (%s); the next sweep tries"
                    " again", digest.id, run.issue_id, exc)  # fmt: skip
        session.execute(
            update(DigestRun)
            .where(DigestRun.id == run_id)
            .values(editors_told_at=None)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return False
    return True


def _mail_editors(session: Session, digest: Digest, run: DigestRun, config: Any) -> None:
    """Queue the mail that tells the editors a draft waits; raises RedisError when Redis cannot take it."""
    local = run.slot_at.astimezone(ZoneInfo(digest.timezone))
    context = {
        "digest_subject": digest.subject,
        "newsletter": digest.newsletter.name,
        "articles": run.articles,
        "slot": local.strftime("%d.%m.%Y %H:%M"),
        "held": run.detail == HELD,
        "reason": "" if run.detail == HELD else run.detail,
        "issue_url": f"{config['BASE_URL']}/staff/issues/{run.issue_id}",
    }
    messages = [
        (("digest_draft", user.email, context, "de"), f"digest-draft-{run.id}-{user.id}")
        for user in editors(session)
    ]
    queue_transactional_mails(messages)
