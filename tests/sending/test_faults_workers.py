"""Killed workers and a reader who leaves mid-send, with real worker processes (``flask newsletter
worker``), the test's own Redis server, the test database and a real SMTP server.

Faults tried: ``kill -9`` of a worker and its work horse four times during a 5,000-reader send (each time a
new worker is started, as a process manager would); a one-click unsubscribe POSTed while the send runs.
"""

from __future__ import annotations

import time

import pytest

from db import db
from newsletter.readers import links, subscribers
from newsletter.readers.models import SubscriberStatus
from newsletter.sending import ledger
from newsletter.sending.models import DeliveryStatus
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
