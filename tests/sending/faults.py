"""What the fault tests share: driving a send with real worker processes to its end, as the clock and a
process manager would, and comparing the ledger with what the SMTP server captured."""

from __future__ import annotations

import time
from collections import Counter

import redis
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from db import db
from newsletter.editorial.models import Issue, IssueState
from newsletter.readers.models import Subscriber
from newsletter.sending import progress
from newsletter.sending import tasks as sending_tasks
from newsletter.sending.models import Delivery, DeliveryStatus


def drive(issue_id: int, workers, relay, *, count: int = 2, timeout: float = 300, during=None) -> dict:
    """Keep ``count`` workers running (restart the ones that died, as a process manager does), run the
    clock's send sweep every second, and call ``during(received)`` on the way, until the issue is sent."""
    deadline = time.monotonic() + timeout
    last_sweep = 0.0
    counts: dict = {}
    problems: list[str] = []
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if during is not None:
            during(len(relay.received))
        workers.revive(count)
        try:
            if time.monotonic() - last_sweep > 1:
                last_sweep = time.monotonic()
                sending_tasks.sweep_sends()
            db.session.rollback()
            counts = progress.progress(db.session, issue_id)
            if db.session.get(Issue, issue_id).state is IssueState.SENT:
                return counts
        except (redis.RedisError, DBAPIError) as exc:
            problems.append(f"{type(exc).__name__}: {exc}"[:300])
            db.session.rollback()  # the clock tries again at its next tick
    raise AssertionError(
        f"the send did not finish in {timeout} s: {counts}\nsweeps: {problems[-3:]}\n{workers.logs()}"
    )


def compare_ledger_with_capture(issue_id: int, relay) -> dict[str, set[str]]:
    """Every reader has at most one message; the ledger's sent rows are exactly the captured recipients,
    except rows marked uncertain, whose message may or may not have arrived."""
    captured = Counter(r.rcpt_tos[0] for r in relay.received)
    duplicates = {address: n for address, n in captured.items() if n > 1}
    assert duplicates == {}, f"readers with more than one message: {list(duplicates.items())[:5]}"
    by_status: dict[str, set[str]] = {}
    for email, status in db.session.execute(
        select(Subscriber.email, Delivery.status)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.issue_id == issue_id)
    ):
        by_status.setdefault(DeliveryStatus(status).value, set()).add(email)
    sent, uncertain = by_status.get("sent", set()), by_status.get("uncertain", set())
    assert sent <= set(captured), f"sent in the ledger but never captured: {sorted(sent - set(captured))[:5]}"
    extra = set(captured) - sent
    assert extra <= uncertain, f"captured but not sent in the ledger: {sorted(extra - uncertain)[:5]}"
    return by_status
