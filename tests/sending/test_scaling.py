"""Scaling: a relay that takes 50 ms a message (an aiosmtpd handler that sleeps before it answers), and
1, 2, 4 and 8 real worker processes (``flask newsletter worker``) sending one issue each, with 150
readers a worker. Without a rate limit the throughput grows with the processes, close to linearly; with
a limit far below what 8 workers can do, 8 workers hold at the limit. A newsroom adds workers (on more
hosts, test_hosts.py), not a bigger machine: a worker spends most of a message waiting for the relay.

Throughput is taken at the relay, over the middle 80 % of each send's arrivals (no start-up, no tail);
the assertions are ratios to the one-worker run of the same test, not absolute times.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import redis
from rq import Worker
from sqlalchemy import insert, select

from db import db
from newsletter.editorial.models import Issue, IssueState
from newsletter.readers.models import Subscriber, SubscriberStatus, Subscription
from tests.conftest import TEST_DATABASE_URL
from tests.editorial.factories import make_article, make_issue
from tests.readers.factories import make_newsletter
from tests.sending.factories import start_send

pytestmark = [
    pytest.mark.slow,  # up to 8 worker processes, five sends of about 10 s each
    pytest.mark.skipif(
        not TEST_DATABASE_URL, reason="8 workers claiming at once need PostgreSQL (PostgreSQL pass only)"
    ),
]

RELAY_SECONDS = 0.05  # what the relay takes to answer a message
READERS_PER_WORKER = 150  # about 8 s of sending for each run
LIMITED_READERS = 400  # 10 s at the limit
# Messages a second: between what 2 workers do (under 40) and 4 (about 60), far below 8 (100-150), so that
# the limit, not a machine shared with other work, is what binds them. (With less headroom the shared limit
# is reached less closely: a slot nobody waits for when it comes is not given to a later message.)
LIMIT = 40
BATCH = 50  # rows a job (one claim): 3 jobs a worker, so all of them have work until near the end


def _issue_for(run: str, readers: int) -> Issue:
    """An issue of its own newsletter, with ``readers`` active readers written in one statement."""
    news = make_newsletter(db, slug=f"scaling-{run}", name=f"Scaling {run}")
    rows = [{"email": f"{run}-{i}@example.org", "status": SubscriberStatus.ACTIVE} for i in range(readers)]
    ids = db.session.scalars(insert(Subscriber).returning(Subscriber.id), rows).all()
    db.session.execute(insert(Subscription), [{"subscriber_id": i, "newsletter_id": news.id} for i in ids])
    article = make_article(db, f"Skalierung {run}", teaser="Mehr Prozesse", body="Text")
    return make_issue(db, articles=[article], newsletters=[news])


def _wait_for_workers(connection, count: int, workers) -> None:
    deadline = time.monotonic() + 60
    while len(Worker.all(connection=connection)) < count:
        workers.revive(count)
        assert time.monotonic() < deadline, f"{count} workers did not start\n{workers.logs()}"
        time.sleep(0.2)


def _throughput(arrivals: list[float]) -> float:
    """Messages a second at the relay over the middle 80 % of a send's arrivals."""
    times = sorted(arrivals)
    first, last = len(times) // 10, len(times) * 9 // 10
    return (last - first) / (times[last] - times[first])


def test_throughput_grows_with_worker_processes_until_the_rate_limit(
    own_redis_app, own_redis, relay, workers
):
    arrivals: dict[str, list[float]] = {}
    current: list[str] = []
    original = relay._controller.handler.handle_DATA

    async def slow_relay(server, session, envelope):
        await asyncio.sleep(RELAY_SECONDS)  # the relay's own work: queueing, scanning, writing to disk
        arrivals.setdefault(current[0], []).append(time.monotonic())
        return await original(server, session, envelope)

    relay._controller.handler.handle_DATA = slow_relay
    # A lease far above a claim's 50 x 50 ms: nothing here is taken over (no sweep runs either).
    workers.env["MAIL_LEASE_SECONDS"] = "120"
    connection = redis.Redis.from_url(own_redis.url)

    def send(run: str, processes: int, readers: int) -> float:
        _wait_for_workers(connection, processes, workers)
        issue = _issue_for(run, readers)
        current[:] = [run]
        start_send(db, issue, batch_size=BATCH)
        deadline = time.monotonic() + 120
        while db.session.scalar(select(Issue.state).where(Issue.id == issue.id)) is not IssueState.SENT:
            db.session.rollback()
            assert time.monotonic() < deadline, f"{run}: not sent in 120 s\n{workers.logs()}"
            time.sleep(0.2)
        db.session.rollback()
        assert len(arrivals[run]) == readers, f"{run}: {len(arrivals[run])} of {readers} arrived"
        return _throughput(arrivals[run])

    rates = {n: send(f"w{n}", n, READERS_PER_WORKER * n) for n in (1, 2, 4, 8)}
    workers.stop()
    workers.env["MAIL_RATE_PER_SECOND"] = str(LIMIT)
    limited = send("limited", 8, LIMITED_READERS)

    figures = ", ".join(f"{n} workers {r:.1f}/s ({r / rates[1]:.2f}x)" for n, r in rates.items())
    held = f"8 workers at a limit of {LIMIT}/s: {limited:.1f}/s ({limited / LIMIT:.2f} of it)"
    print(f"\nrelay {RELAY_SECONDS * 1000:.0f} ms a message: {figures}; {held}")
    # Close to linear, with room for a busy two-core machine (a run with a test suite beside it gave 4
    # workers 2.97x): a shared bottleneck (one connection, one lock) would flatten out near 1-2x.
    assert rates[2] >= 1.6 * rates[1], figures
    assert rates[4] >= 2.7 * rates[1], figures
    assert rates[8] >= 4.8 * rates[1], figures
    assert rates[8] > LIMIT * 2, figures  # the limit is far below what 8 workers do: it is what binds them
    assert abs(limited - LIMIT) <= 0.1 * LIMIT, held
