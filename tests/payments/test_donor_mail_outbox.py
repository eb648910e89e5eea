"""The donor-mail outbox is swept by the clock like the reader-mail one: with real clock and worker
processes on the test's own Redis server, a receipt written while Redis is down leaves within seconds of
Redis coming back, with no further Stripe event and no manual command, and only once.

Faults tried: the Redis server stopped (by its process id) before Stripe's event arrives and started again
empty after it; the clock and the worker lose their connection meanwhile and wait for Redis instead of
exiting: the same two processes carry on (nobody starts them again).
"""

from __future__ import annotations

import time

import pytest
import redis
from rq import Worker, cron_scheduler_registry
from sqlalchemy import select

from payments.models import DonorMail
from tests.payments.factories import donate
from tests.support import stripe_api as s
from tests.support.processes import Clock, Workers

pytestmark = pytest.mark.slow
BACK_WITHIN = 45.0  # seconds: the clock sweeps every 2 s; the worker tries Redis again after 1, 2, 4 ... s


@pytest.fixture
def processes(own_redis_app, database_url, base_config, own_redis, relay, tmp_path):
    """A worker of the transactional queue and a clock, as real processes on the test's own Redis."""
    env = {
        "BEITRAG_ENV": "testing", "DATABASE_URL": database_url, "REDIS_URL": own_redis.url,
        "SMTP_URL": relay.url, "SECRET_KEY": base_config["SECRET_KEY"], "BASE_URL": base_config["BASE_URL"],
        "BEITRAG_INSTANCE": str(tmp_path / "instance"),
    }  # fmt: skip
    (tmp_path / "instance").mkdir()
    workers, clock = Workers(env, tmp_path, queues=("transactional",)), Clock(env, tmp_path)
    workers.revive(1)
    clock.start()
    # Both up (registered in Redis) before the test takes Redis away: a process that cannot reach Redis
    # while it starts stops at once, which is another case than the one tested here.
    connection = redis.Redis.from_url(own_redis.url)
    deadline = time.monotonic() + 60
    while not (Worker.all(connection=connection) and cron_scheduler_registry.get_keys(connection)):
        assert time.monotonic() < deadline, f"worker or clock did not start\n{workers.logs()}"
        time.sleep(0.1)
    connection.close()
    yield workers, clock
    clock.stop()
    workers.stop()


def _keep_running(processes) -> None:
    """Both processes ride out Redis going away: neither ended (a process manager would have nothing to
    start again)."""
    workers, clock = processes
    assert [p.poll() for p in workers.processes] == [None], workers.logs()
    assert clock.process is not None and clock.process.poll() is None, clock.log.read_text()


def test_a_receipt_written_while_redis_is_down_leaves_once_redis_is_back(processes, own_redis, client, db,
                                                                          stripe_api, relay):  # fmt: skip
    donation = donate(client, db)
    own_redis.stop()
    answer = s.post_event(client, s.event("checkout.session.completed", s.completed_session(donation)))
    assert answer.status_code == 200  # the event is applied; its mail waits in the outbox
    [mail] = db.session.scalars(select(DonorMail)).all()
    assert mail.kind == "receipt" and mail.enqueued_at is None
    for _ in range(15):  # 3 s of clock ticks without Redis: nothing can leave, nothing is lost
        _keep_running(processes)
        time.sleep(0.2)
    assert relay.received == []

    own_redis.start()  # empty, as after a crash: no job of before survives
    back = time.monotonic()
    while not relay.received and time.monotonic() - back < 60:
        _keep_running(processes)
        time.sleep(0.2)
    took = time.monotonic() - back
    assert relay.received, f"no receipt 60 s after Redis came back\n{processes[0].logs()}"
    assert took < BACK_WITHIN, f"the receipt left {took:.1f} s after Redis came back"
    [received] = relay.received
    assert received.rcpt_tos == ["leser@example.org"]
    assert "Danke" in received.message["Subject"]

    time.sleep(3)  # more sweeps: the claimed row is not queued again
    assert len(relay.received) == 1
    _keep_running(processes)
    assert processes[0].started == 1 and processes[1].starts == 1
    db.session.expire_all()
    assert db.session.scalar(select(DonorMail.enqueued_at)) is not None
