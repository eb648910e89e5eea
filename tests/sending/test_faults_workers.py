"""Killed workers and a reader who leaves mid-send, with real worker processes (``flask newsletter
worker``), the test's own Redis server, the test database and a real SMTP server.

Faults tried: ``kill -9`` of a worker and its work horse four times during a 5,000-reader send (each time a
new worker is started, as a process manager would); a one-click unsubscribe POSTed while the send runs; a
work horse frozen (SIGSTOP) past its lease until the issue is sent, then woken.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text

from db import db
from newsletter.editorial.models import Issue, IssueState
from newsletter.readers import links, subscribers
from newsletter.readers.models import SubscriberStatus
from newsletter.sending import ledger
from newsletter.sending.models import Delivery, DeliveryStatus, IssueTally
from tests.sending.conftest import LEASE_SECONDS
from tests.sending.factories import issue_with_readers, start_send
from tests.sending.faults import compare_ledger_with_capture, drive

pytestmark = pytest.mark.slow  # real worker processes, killed on the way

READERS = 5000
KILLS = 4


def test_killed_workers_lose_nothing_and_send_nothing_twice(fault_app, workers, relay):
    issue = issue_with_readers(db, readers=READERS)
    start_send(db, issue, batch_size=ledger.BATCH_SIZE)
    workers.revive(2)
    killed = []

    def kill_now_and_then(received: int) -> None:
        # Kill one of the two workers each time another sixth of the readers has arrived.
        if len(killed) < KILLS and received >= (len(killed) + 1) * READERS // (KILLS + 2):
            victim = workers.processes[len(killed) % len(workers.processes)]
            workers.kill(victim)
            killed.append(received)
            workers.start()

    counts = drive(issue.id, workers, relay, during=kill_now_and_then)
    assert len(killed) == KILLS, f"the send ended before every kill: {killed}"
    by_status = compare_ledger_with_capture(issue.id, relay)
    # At most one uncertain reader per killed worker: the message it had in flight.
    assert counts["uncertain"] <= KILLS + workers.deaths
    assert counts["sent"] + counts["uncertain"] == READERS
    assert counts["queued"] == counts["sending"] == counts["failed"] == 0
    everyone = {f"leser{i}@example.org" for i in range(READERS)}
    received = {r.rcpt_tos[0] for r in relay.received}
    assert everyone - by_status.get("uncertain", set()) <= received  # all others got exactly one


def test_a_reader_who_unsubscribes_mid_send_gets_nothing_more(fault_app, workers, relay, client):
    issue = issue_with_readers(db, readers=1500)
    start_send(db, issue, batch_size=ledger.BATCH_SIZE)
    last = subscribers.find_subscriber(db.session, "leser1499@example.org")
    url = links.unsubscribe_url("http://localhost", fault_app.config["SECRET_KEY"], last.id)
    posted = []

    def unsubscribe_while_sending(received: int) -> None:
        if not posted and received >= 200:
            response = fault_app.test_client().post(
                url.removeprefix("http://localhost"), data={"List-Unsubscribe": "One-Click"}
            )
            assert response.status_code == 200
            posted.append((received, time.monotonic()))

    workers.revive(2)
    counts = drive(issue.id, workers, relay, during=unsubscribe_while_sending)
    assert posted and posted[0][0] < 1499, "the unsubscribe came too late to test anything"
    assert "leser1499@example.org" not in {r.rcpt_tos[0] for r in relay.received}
    db.session.expire_all()
    assert (
        subscribers.find_subscriber(db.session, "leser1499@example.org").status
        is SubscriberStatus.UNSUBSCRIBED
    )
    by_status = compare_ledger_with_capture(issue.id, relay)
    assert by_status["skipped"] == {"leser1499@example.org"}
    assert counts["sent"] == 1499 and counts[DeliveryStatus.SKIPPED.value] == 1


def test_a_stalled_worker_changes_nothing_of_what_was_decided_while_it_slept(fault_app, workers, relay):
    """A work horse frozen (SIGSTOP) mid-send, past its lease and until the issue is sent by the other
    worker; then woken (SIGCONT). Its claim was decided by the sweeper meanwhile: the row it had in
    flight is uncertain, the rest were sent by the other worker. Woken, it may finish the message it was
    writing, but it records nothing and sends nothing more: the ledger at the moment the issue became
    sent is the ledger after it woke, and the issue's tally says what the ledger says."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("a frozen process holding SQLite's one write lock stops every writer: PostgreSQL only")
    relay.delay = 0.02  # a relay that takes its time: a horse is caught with its message in flight
    issue = issue_with_readers(db, readers=1200)
    start_send(db, issue, batch_size=ledger.BATCH_SIZE)
    workers.revive(2)
    frozen: list[int] = []

    def freeze_a_horse(received: int) -> None:
        if frozen or received < 100:
            return
        for process in workers.processes:
            for horse in workers.horses(process):
                try:
                    os.kill(horse, signal.SIGSTOP)
                except ProcessLookupError:  # its job ended just now
                    continue
                if _holds_a_transaction(horse):  # frozen holding row locks: that stalls the test, not what
                    os.kill(horse, signal.SIGCONT)  # is tested here (its rows stay locked, not leased)
                    return
                frozen.append(horse)
                return

    try:
        counts = drive(issue.id, workers, relay, count=2, during=freeze_a_horse)
        assert frozen, "no work horse was caught sending"
        decided = _ledger(issue.id)
        os.kill(frozen[0], signal.SIGCONT)
        time.sleep(LEASE_SECONDS + 3)  # it wakes, finds its journal gone, and ends its job
    finally:
        for pid in frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
    db.session.expire_all()
    assert _ledger(issue.id) == decided
    assert db.session.get(Issue, issue.id).state is IssueState.SENT
    assert counts["sent"] + counts["uncertain"] == 1200
    assert counts["uncertain"] == 1, "the frozen horse had no message in flight: the test proved nothing"
    tally = db.session.get(IssueTally, issue.id)
    assert (tally.recipients, tally.accepted) == (1200, counts["sent"])
    compare_ledger_with_capture(issue.id, relay)


def _holds_a_transaction(pid: int) -> bool:
    """Whether the process's connections to PostgreSQL are inside a transaction that has written (and so
    holds row locks; found by the local ports of its sockets, PostgreSQL's ``client_port``)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").glob("*"):
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[9] in inodes:
                    ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    if not ports:
        return False
    open_transactions = db.session.scalar(text(
        "SELECT count(*) FROM pg_stat_activity WHERE client_port = ANY(:ports) AND backend_xid IS NOT NULL"
    ), {"ports": sorted(ports)})  # fmt: skip
    db.session.rollback()
    return bool(open_transactions)


def _ledger(issue_id: int) -> dict[int, str]:
    rows = db.session.execute(select(Delivery.id, Delivery.status).where(Delivery.issue_id == issue_id))
    db.session.rollback()
    return {row_id: DeliveryStatus(status).value for row_id, status in rows}
