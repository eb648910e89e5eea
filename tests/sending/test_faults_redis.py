"""Redis losing everything during a send, with real worker processes on the test's own Redis server.

Faults tried: FLUSHALL while two workers send to 3,000 readers; the Redis server stopped (by its process
id) and started again empty while they send. Workers that crash on the lost connection are started again,
as a process manager would; the clock's sweep (run by the test every second) queues the batches Redis
lost. Also: two worker processes under a shared limit of 25 messages a second.
"""

from __future__ import annotations

import time

import pytest
import redis

from db import db
from newsletter.sending import ledger
from tests.sending.factories import issue_with_readers, start_send
from tests.sending.faults import compare_ledger_with_capture, drive

pytestmark = pytest.mark.slow  # real worker processes and a Redis server of the test's own

READERS = 3000


def _finished_cleanly(issue_id, relay, counts, workers) -> None:
    compare_ledger_with_capture(issue_id, relay)
    assert counts["sent"] + counts["uncertain"] == READERS
    assert counts["queued"] == counts["sending"] == counts["failed"] == 0
    # Rows can only be uncertain where a worker died with a message in flight.
    assert counts["uncertain"] <= workers.deaths


def test_flushall_mid_send_loses_no_reader_and_sends_nobody_twice(fault_app, workers, relay, own_redis):
    issue = issue_with_readers(db, readers=READERS)
    start_send(db, issue, batch_size=ledger.BATCH_SIZE)
    flushed = []

    def flush(received: int) -> None:
        if not flushed and received >= READERS // 3:
            redis.Redis.from_url(own_redis.url).flushall()
            flushed.append(received)

    workers.revive(2)
    counts = drive(issue.id, workers, relay, during=flush)
    assert flushed and flushed[0] < READERS
    _finished_cleanly(issue.id, relay, counts, workers)


def test_a_redis_restart_mid_send_loses_no_reader_and_sends_nobody_twice(
    fault_app, workers, relay, own_redis
):
    issue = issue_with_readers(db, readers=READERS)
    start_send(db, issue, batch_size=ledger.BATCH_SIZE)
    restarted = []

    def restart(received: int) -> None:
        if not restarted and received >= READERS // 3:
            own_redis.stop()
            time.sleep(1)
            own_redis.start()  # empty: no persistence
            restarted.append(received)

    workers.revive(2)
    counts = drive(issue.id, workers, relay, during=restart)
    assert restarted and restarted[0] < READERS
    _finished_cleanly(issue.id, relay, counts, workers)


def test_two_workers_keep_to_one_shared_rate_limit(app, make_app, own_redis, relay, workers):
    """25 messages a second for both workers together. The gate books evenly spaced slots; a message
    arrives a little after its slot (how much depends on the machine's load), so the arrivals are checked
    with 150 ms of slack: no 26 messages arrive within 0.85 s, and the whole run takes as long as the
    limit demands. Without the limit the 120 messages arrive within about a second."""
    workers.env["MAIL_RATE_PER_SECOND"] = "25"
    readers, rate = 120, 25
    issue = issue_with_readers(db, readers=readers)
    start_send(db, issue, batch_size=20)
    arrivals = []
    original = relay._controller.handler.handle_DATA

    async def handle_DATA(server, session, envelope):
        arrivals.append((time.monotonic(), session.peer))
        return await original(server, session, envelope)

    relay._controller.handler.handle_DATA = handle_DATA
    workers.revive(2)
    counts = drive(issue.id, workers, relay)
    assert counts["sent"] == readers
    times = sorted(t for t, _ in arrivals)
    tightest = min(times[i + rate] - times[i] for i in range(len(times) - rate))
    assert tightest >= 0.85, f"{rate + 1} messages arrived within {tightest:.3f} s"
    assert times[-1] - times[0] >= (readers - 1) / rate * 0.95
    assert len({peer for _, peer in arrivals}) >= 2  # both workers sent (two connections at least)
