"""The outbox: a mail that must follow a database change is first a row, written in the transaction of that
change; a sweep the clock runs every few seconds claims the rows not yet queued and puts their mails on the
``transactional`` queue in one Redis round trip. Reader mails (``readers.reader_mails``) and donor mails
(``payments``) share this mechanism; each outbox table has an ``id`` and an ``enqueued_at`` column.

Claiming is one ``UPDATE ... SET enqueued_at = now WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)
RETURNING ...`` (PostgreSQL; SQLite has a single writer), so sweeps on several hosts never queue one mail
twice. The claim and the queueing share a savepoint: when Redis is unreachable the claim is undone and the
rows wait for the next sweep. The caller commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.mail.tasks import Message, queue_transactional_mails

log = logging.getLogger(__name__)



def sweep(session: Session, table: Table, compose: Callable[[Session, Sequence[Any]], list[Message]], *,
          returning: Sequence[str], limit: int, not_before: datetime | None = None, due: bool = False,
          queue: Callable[[list[Any]], Any] = queue_transactional_mails) -> int:  # fmt: skip
    """Claim up to ``limit`` rows of ``table`` that are not queued yet (created at ``not_before`` or later,
    when given; with ``due``, only those whose ``due_at`` has passed), oldest first; ``compose(session,
    rows)`` turns the claimed rows (their ``returning`` columns) into messages, leaving out any that are
    no longer wanted, and ``queue`` puts them on the queue (transactional mails unless said otherwise).
    Returns how many were queued."""
    now = utcnow()
    waiting = select(table.c.id).where(table.c.enqueued_at.is_(None)).order_by(table.c.id).limit(limit)
    if not_before is not None:
        waiting = waiting.where(table.c.created_at >= not_before)
    if due:
        waiting = waiting.where(table.c.due_at <= now)
    if session.get_bind().dialect.name == "postgresql":
        waiting = waiting.with_for_update(skip_locked=True)
    claim = (
        update(table)
        .where(table.c.id.in_(waiting.scalar_subquery()), table.c.enqueued_at.is_(None))
        .values(enqueued_at=now)
        .returning(*(table.c[name] for name in returning))
    )
    try:
        with session.begin_nested():
            rows = session.execute(claim).all()
            if not rows:
                return 0
            messages = compose(session, rows)
            queue(messages)
    except (redis.RedisError, OSError) as exc:
        log.warning("Redis unreachable, %s wait for the next sweep: %s", table.name, exc)
        return 0
    return len(messages)


def sweep_all(session: Session, sweep_once: Callable[[int], int], *, batch: int = 1000) -> int:
    """Run ``sweep_once(batch)`` and commit, batch after batch, until a batch comes back short."""
    queued = 0
    while True:
        count = sweep_once(batch)
        session.commit()
        queued += count
        if count < batch:
            return queued
