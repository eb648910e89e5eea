"""The sweeper, run by the clock itself every ``SEND_SWEEP_SECONDS`` (not through a queue that busy
workers would reach only after their send batches; also ``flask --app app newsletter sweep-sends``): it
starts scheduled issues whose time has passed (the database is the truth; Redis may have lost the
scheduler's job), decides the rows of workers that died or stalled past their lease (from their journals
in Redis), queues again the batches of waiting rows that no job will reach in time (Redis restarted or was
flushed, or the only job for them is due later than they are), and reopens an issue that was marked sent
while rows of it could still be sent. Leases are judged by the database's clock, the one that set them.
Safe to run twice and on several hosts at once."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

import redis
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.editorial.models import Issue, IssueState
from newsletter.platform import queues
from newsletter.sending import control, gate
from newsletter.sending.batches import BACKOFF, UNCERTAIN_REPLY, cancel_waiting_if_cancelled, database_now
from newsletter.sending.ledger import BATCH_SIZE, finish_if_done
from newsletter.sending.models import Delivery, DeliveryStatus

log = logging.getLogger(__name__)
SLACK = timedelta(seconds=5)  # RQ's scheduler moves due jobs to their queue every few seconds


def sweep(
    session: Session, connection: redis.Redis, config: Any, *, now: datetime | None = None
) -> dict[str, int]:
    """One sweep of the send path (see above); commits as it goes and returns what it did."""
    session.rollback()  # start from what the database holds now
    now = now or database_now(session)
    report = {"started": 0, "requeued_batches": 0, "reopened": 0}
    for issue_id in control.due_scheduled_issues(session, now):
        if control.start_scheduled(session, issue_id, config, now=now) is not None:
            report["started"] += 1
    report.update(decide_lost_rows(session, connection, now=now))
    report["reopened"] = reopen_stranded(session)
    live = live_send_job_ids(connection)
    for issue_id, first, last, not_before in orphaned_batches(session, live, now=now):
        if not_before is None:
            control.queue_batches(issue_id, [(first, last)])
        else:
            control.queue_batch_at(issue_id, first, last, not_before)
        report["requeued_batches"] += 1
    session.commit()
    return report


def reopen_stranded(session: Session) -> int:
    """The safety net: an issue marked sent while rows of it are still queued or being sent would leave
    those readers waiting for good (workers claim rows of sending issues only). Such an issue goes back
    to sending, and the lines say so in the worker's log, in ``sweep-sends`` and on the issue page
    (``Issue.reopened_at``). Returns how many."""
    open_rows = select(Delivery.issue_id).where(
        Delivery.status.in_([DeliveryStatus.QUEUED, DeliveryStatus.SENDING])
    )
    stranded = session.scalars(
        select(Issue.id).where(Issue.state == IssueState.SENT, Issue.id.in_(open_rows.scalar_subquery()))
    ).all()
    for issue_id in stranded:
        session.execute(
            update(Issue).where(Issue.id == issue_id, Issue.state == IssueState.SENT)
            .values(state=IssueState.SENDING, reopened_at=utcnow())
        )  # fmt: skip
        log.warning("issue %s was marked sent with readers still waiting; sending it on", issue_id)
    session.commit()
    return len(stranded)


def live_send_job_ids(connection: redis.Redis) -> set[str]:
    """Jobs that hold send batches now: waiting in the mail queue, scheduled and not overdue, or running
    with a heartbeat (a job in the started registry whose worker was killed has none).

    A scheduled job overdue by more than ``SLACK`` is not live: RQ's scheduler, which one worker at a time
    runs under a lock, is away (its worker was killed or cut off from Redis), and another worker takes the
    lock over only after one to three minutes. Its rows are queued again by the sweep; when the late job
    runs after all, its claims find them sent."""
    queue = queues.get_queue(queues.SEND_BATCH.queue)
    scheduled = ScheduledJobRegistry(queue=queue)
    overdue = scheduled.get_jobs_to_schedule(int(time.time() - SLACK.total_seconds()), chunk_size=100_000)
    live = set(queue.get_job_ids()) | (set(scheduled.get_job_ids()) - set(overdue))
    for job_id in StartedJobRegistry(queue=queue).get_job_ids(cleanup=False):
        if gate.job_alive(connection, job_id):
            live.add(job_id)
    return live


def decide_lost_rows(
    session: Session, connection: redis.Redis, *, now: datetime | None = None
) -> dict[str, int]:
    """Decide rows still ``sending`` after their lease ran out (their worker died), from its journal, and
    commit claim by claim:

    * a row whose outcome the journal holds gets that outcome (sent, failed, queued again, skipped);
    * the row that was in flight, with no outcome, may have been accepted by the relay: ``uncertain``,
      never sent again (at most one per killed connection);
    * every other row never reached the relay: ``queued`` again;
    * if the journal was lost with Redis, no row can be told apart: all are ``uncertain``.
    """
    now = now or database_now(session)
    decided = {"queued": 0, "sent": 0, "failed": 0, "skipped": 0, "uncertain": 0}
    active = select(Issue.id).where(
        Issue.state.in_([IssueState.SENDING, IssueState.PAUSED, IssueState.CANCELLED])
    )
    stale = session.execute(
        select(Delivery.id, Delivery.claim, Delivery.issue_id)
        .where(
            Delivery.issue_id.in_(active.scalar_subquery()),
            Delivery.status == DeliveryStatus.SENDING,
            Delivery.lease_until < now,
        )
        .order_by(Delivery.id)
    ).all()
    claims: dict[str | None, list[Any]] = {}
    for row in stale:
        claims.setdefault(row.claim, []).append(row)
    issue_ids = {row.issue_id for row in stale}
    for claim, rows in claims.items():
        # Taken first: a worker that only looked dead (stalled, slow, its clock off) finds its journal gone
        # at its next message and stops, so nothing it does changes what is decided here.
        journal = gate.take_journal(connection, claim) if claim else None
        for row in rows:
            values = _decision(row.id, journal, now)
            status = values["status"]
            changed = session.execute(
                update(Delivery)
                .where(
                    Delivery.id == row.id, Delivery.status == DeliveryStatus.SENDING, Delivery.claim == claim
                )
                .values(lease_until=None, claim=None, **values)
                .execution_options(synchronize_session=False)
            ).rowcount
            if changed:
                decided[status.value] += 1
        session.commit()
        if claim:
            connection.delete(gate.taken_key(claim))
    for issue_id in issue_ids:
        cancel_waiting_if_cancelled(session, issue_id)
        session.commit()
        finish_if_done(session, issue_id)
    return decided


def _decision(row_id: int, journal: dict[str, str] | None, now: datetime) -> dict[str, Any]:
    if journal is None or "lost" in journal:
        return {"status": DeliveryStatus.UNCERTAIN, "reply": "worker lost; the relay may have accepted it"}
    code = journal.get(str(row_id))
    if code == "s":
        return {"status": DeliveryStatus.SENT, "sent_at": now, "reply": "accepted (recorded by the sweeper)"}
    if code == "f":
        return {"status": DeliveryStatus.FAILED, "reply": "refused (recorded by the sweeper)"}
    if code == "k":
        return {"status": DeliveryStatus.SKIPPED}
    if code == "u":
        return {"status": DeliveryStatus.UNCERTAIN, "reply": UNCERTAIN_REPLY}
    if code == "r":
        return {"status": DeliveryStatus.QUEUED, "next_attempt_at": now + timedelta(seconds=BACKOFF[0])}
    if journal.get("flight") == str(row_id):
        return {"status": DeliveryStatus.UNCERTAIN, "reply": "worker died while the relay had it"}
    return {"status": DeliveryStatus.QUEUED, "attempts": Delivery.attempts - 1}


def orphaned_batches(
    session: Session, live_job_ids: set[str], *, now: datetime | None = None
) -> list[tuple[int, int, int, datetime | None]]:
    """Batches to queue again for rows that wait while no live job will reach them in time (Redis
    restarted or was flushed, a worker died holding the job, or the only job for them is a retry due
    later than they are): ``(issue, first, last, not before)``. ``live_job_ids`` are the ids of the jobs
    that are waiting, scheduled or running with a heartbeat; a scheduled one covers a row only when it is
    due no later than the row (with a little slack for the scheduler's polling)."""
    now = now or utcnow()
    covered: dict[int, list[tuple[int, int, datetime]]] = {}
    for job_id in live_job_ids:
        batch = queues.read_send_batch_id(job_id)
        if batch is not None:
            covered.setdefault(batch[0], []).append((*batch[1:], queues.read_later_time(job_id) or now))
    result = []
    for issue_id in session.scalars(select(Issue.id).where(Issue.state == IssueState.SENDING)):
        ranges = covered.get(issue_id, [])
        waiting = session.execute(
            select(Delivery.id, Delivery.next_attempt_at)
            .where(Delivery.issue_id == issue_id, Delivery.status == DeliveryStatus.QUEUED)
            .order_by(Delivery.id)
        ).all()
        loose = [row for row in waiting
                 if not any(a <= row.id <= b and at <= max(row.next_attempt_at or now, now) + SLACK
                            for a, b, at in ranges)]  # fmt: skip
        for i in range(0, len(loose), BATCH_SIZE):
            chunk = loose[i : i + BATCH_SIZE]
            later = [
                r.next_attempt_at for r in chunk if r.next_attempt_at is not None and r.next_attempt_at > now
            ]
            not_before = min(later) if len(later) == len(chunk) else None
            result.append((issue_id, chunk[0].id, chunk[-1].id, not_before))
    return result
