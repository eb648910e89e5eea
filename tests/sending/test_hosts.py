"""Workers on several hosts, tested as hosts: three network namespaces of their own (tests/support/netns.py),
each joined to the root namespace by a veth pair, each running two real ``flask newsletter worker``
processes. PostgreSQL and Redis listen on loopback only, so each host reaches them through forwarders of
its own on the root side of its link (tests/support/forwarder.py); the relay is an aiosmtpd server on the
same address, so the receiver knows which host sent each message.

One issue to 2,400 readers at a shared limit of 80 messages a second. When the third host has delivered
100 messages, its link goes down while the relay holds its next message (DATA written, the answer not yet
given). The link stays down past the lease until the other hosts have finished, then comes back.

What a newsroom would notice, checked: the other hosts finish the issue while the third is away; the lease
(the clock's sweep) decides the third host's claims, and its return changes none of those decisions and
sends nothing more; the shared rate limit holds across hosts at the relay; the ledger equals the relay's
record (every sent row received exactly once, uncertain rows at most one per cut-off worker, nobody lost).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections import Counter

import pytest
import redis
from aiosmtpd.controller import Controller
from rq import Worker
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from db import db
from newsletter.editorial.models import Issue, IssueState
from newsletter.sending import progress
from newsletter.sending import tasks as sending_tasks
from newsletter.sending.models import Delivery, DeliveryStatus
from tests.conftest import TEST_DATABASE_URL
from tests.sending.factories import issue_with_readers, start_send
from tests.sending.faults import compare_ledger_with_capture
from tests.support import netns
from tests.support.forwarder import Forwarder
from tests.support.processes import FLASK, ROOT
from tests.support.smtp import SMTPCapture, _Handler, free_port

pytestmark = [
    pytest.mark.slow,  # three hosts of real worker processes, one of them cut off for half a minute
    pytest.mark.skipif(
        not TEST_DATABASE_URL, reason="hosts share a PostgreSQL server (PostgreSQL pass only)"
    ),
]

HOSTS, WORKERS_PER_HOST = 3, 2
READERS = 2400
RATE = 80  # messages a second, all hosts together
# Long enough for a healthy claim of 50 rows at a sixth of the shared rate (3.75 s), so only the cut-off
# host's claims run out.
LEASE_SECONDS = 12
SMTP_TIMEOUT = 5  # seconds a worker waits for the relay's answer (SMTP_URL ?timeout=)
CUT_AFTER = 100  # messages the third host has delivered when its link goes down
IDLE_TRANSACTION_SECONDS = 5  # well inside the lease: the sweep decides rows no one holds a lock on


class Receiver:
    """The relay: an SMTP server on the root side of every host's link, all writing one record (the one
    tests/support/smtp.py keeps), plus the arrival time and the host of every message."""

    def __init__(self, hosts: list[netns.Host]):
        self.capture = SMTPCapture()  # its record and its handler; its own loopback server is not started
        self.arrivals: list[tuple[float, int, str]] = []  # (monotonic time, host index, recipient)
        self.on_arrival = None  # called with the host before the relay answers a message
        self.controllers: dict[int, Controller] = {}
        for host in hosts:
            handler = _Handler(self.capture)
            handler.handle_DATA = self._recording(host, handler.handle_DATA)
            self.controllers[host.index] = Controller(handler, hostname=host.root_address, port=free_port())

    def _recording(self, host, original):
        async def handle_DATA(server, session, envelope):
            with self.capture.lock:
                self.arrivals.append((time.monotonic(), host.index, envelope.rcpt_tos[0]))
            if self.on_arrival is not None:
                self.on_arrival(host)
            return await original(server, session, envelope)

        return handle_DATA

    def url(self, host: netns.Host) -> str:
        return f"smtp://{host.root_address}:{self.controllers[host.index].port}?timeout={SMTP_TIMEOUT}"

    def count(self, host: netns.Host) -> int:
        with self.capture.lock:
            return sum(1 for _, index, _ in self.arrivals if index == host.index)

    @property
    def received(self):
        return self.capture.received


@pytest.fixture
def hosts():
    why = netns.unavailable()
    if why:
        pytest.skip(why)
    prefix = netns.free_prefix()
    made: list[netns.Host] = []
    try:
        for index in range(1, HOSTS + 1):
            made.append(netns.Host(index, prefix))
            made[-1].create()
        yield made
    finally:
        for host in made:
            host.remove()


@pytest.fixture
def receiver(hosts):
    relay = Receiver(hosts)
    started = []
    try:
        for controller in relay.controllers.values():
            controller.start()
            started.append(controller)
        yield relay
    finally:
        for controller in started:
            controller.stop()


@pytest.fixture
def forwarders(hosts, own_redis):
    """Per host: (PostgreSQL, Redis) forwarders on the root side of its link."""
    database = make_url(TEST_DATABASE_URL)
    made: dict[int, tuple[Forwarder, ...]] = {}
    try:
        for host in hosts:
            upstream = (database.host or "127.0.0.1", database.port or 5432)
            made[host.index] = (Forwarder((host.root_address, 0), upstream).start(),)
            made[host.index] += (Forwarder((host.root_address, 0), str(own_redis.socket)).start(),)
        yield made
    finally:
        for pair in made.values():
            for forwarder in pair:
                forwarder.stop()


def _start_workers(hosts, forwarders, receiver, base_config, tmp_path) -> None:
    for host in hosts:
        postgres, redis_forwarder = forwarders[host.index]
        database = make_url(TEST_DATABASE_URL).set(host=host.root_address, port=postgres.address[1])
        instance = tmp_path / f"host{host.index}"
        instance.mkdir()
        env = {
            **os.environ, "BEITRAG_ENV": "testing",
            "DATABASE_URL": database.render_as_string(hide_password=False),
            "REDIS_URL": f"redis://{host.root_address}:{redis_forwarder.address[1]}/0",
            "SMTP_URL": receiver.url(host), "SECRET_KEY": base_config["SECRET_KEY"],
            "BASE_URL": base_config["BASE_URL"], "MAIL_LEASE_SECONDS": str(LEASE_SECONDS),
            "MAIL_RATE_PER_SECOND": str(RATE), "BEITRAG_INSTANCE": str(instance),
            # Cut off between an UPDATE and its COMMIT, a worker's locks go back within seconds.
            "DATABASE_IDLE_TRANSACTION_SECONDS": str(IDLE_TRANSACTION_SECONDS),
        }  # fmt: skip
        for number in range(WORKERS_PER_HOST):
            args = [FLASK, "--app", "app", "newsletter", "worker", "--queue", "mail"]
            host.start(args, env=env, cwd=ROOT, log=tmp_path / f"host{host.index}-worker{number}.log")


def _logs(tmp_path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in tmp_path.glob("*.log"))


class Clock:
    """The clock's send sweep, run by the test once a second (as ``SEND_SWEEP_SECONDS`` would)."""

    def __init__(self, issue_id: int):
        self.issue_id = issue_id
        self.last = 0.0
        self.problems: list[str] = []

    def tick(self) -> None:
        time.sleep(0.2)
        if time.monotonic() - self.last < 1:
            return
        self.last = time.monotonic()
        try:
            sending_tasks.sweep_sends()
        except (redis.RedisError, DBAPIError) as exc:
            self.problems.append(f"{type(exc).__name__}: {exc}"[:300])
        db.session.rollback()

    def run_until(self, done, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if done():
                return True
            self.tick()
        return False

    def sent(self) -> bool:
        db.session.rollback()
        return db.session.scalar(select(Issue.state).where(Issue.id == self.issue_id)) is IssueState.SENT

    def rows(self, ids=None) -> dict[int, tuple[str, str | None]]:
        """Ledger rows as ``{id: (status, claim)}``: all of the issue's, or those of ``ids``."""
        db.session.rollback()
        query = select(Delivery.id, Delivery.status, Delivery.claim).where(Delivery.issue_id == self.issue_id)
        if ids is not None:
            query = query.where(Delivery.id.in_(ids))
        found = {r.id: (DeliveryStatus(r.status).value, r.claim) for r in db.session.execute(query)}
        db.session.rollback()
        return found


def _work_horses(host: netns.Host) -> set[int]:
    """RQ forks a work horse per job into a process group of its own (its scheduler stays in the worker's)."""
    horses = set()
    for pid in host.children():
        with contextlib.suppress(ProcessLookupError):
            if os.getpgid(pid) == pid:
                horses.add(pid)
    return horses


def _in_hand(rows: dict[int, tuple[str, str | None]]) -> set[tuple[int, str | None]]:
    return {(row_id, claim) for row_id, (status, claim) in rows.items() if status == "sending"}


def test_a_host_cut_off_mid_send_leaves_its_claims_to_the_lease_and_sends_nothing_of_them(
    own_redis_app, own_redis, hosts, forwarders, receiver, base_config, tmp_path
):
    issue = issue_with_readers(db, readers=READERS)
    connection = redis.Redis.from_url(own_redis.url)
    _start_workers(hosts, forwarders, receiver, base_config, tmp_path)
    clock = Clock(issue.id)
    assert clock.run_until(lambda: len(Worker.all(connection=connection)) >= HOSTS * WORKERS_PER_HOST, 60), (
        f"the hosts' workers did not start\n{_logs(tmp_path)}"
    )
    cut_off = hosts[-1]
    cut: dict[str, float] = {}

    def cut_mid_message(host) -> None:
        # In the relay's DATA handler: the message is in, its answer not yet given.
        if host is cut_off and not cut and receiver.count(host) >= CUT_AFTER:
            cut_off.cut()
            cut["at"] = time.monotonic()

    receiver.on_arrival = cut_mid_message
    started = time.monotonic()
    start_send(db, issue, batch_size=200)

    assert clock.run_until(lambda: "at" in cut, 120), f"host 3 never sent {CUT_AFTER}\n{_logs(tmp_path)}"
    # The cut-off host's claims: rows in a worker's hands just after the cut and still in the same hands
    # 5 s later, when every healthy claim of that moment (50 rows, at most 3.75 s) has ended.
    time.sleep(0.5)
    early = _in_hand(clock.rows())
    clock.run_until(lambda: time.monotonic() - cut["at"] > 5.5, 10)
    lost = early & _in_hand(clock.rows())
    lost_ids = [row_id for row_id, _ in lost]
    assert lost, "the cut-off host held no claim"
    assert time.monotonic() - cut["at"] < LEASE_SECONDS - 3.75, "too late to tell its claims from others"

    # Off past the lease: the sweep decides its rows; the other hosts finish the issue.
    decided: dict[int, str] = {}

    def lost_rows_decided() -> bool:
        now = clock.rows(lost_ids)
        if any(status == "sending" for status, _ in now.values()):
            return False
        decided.update({row_id: status for row_id, (status, _) in now.items()})
        return True

    assert clock.run_until(lost_rows_decided, LEASE_SECONDS + 30), "the lease never decided the lost claims"
    decided_after = time.monotonic() - cut["at"]
    finished_while_cut = clock.run_until(clock.sent, 120)
    counts_while_cut = progress.progress(db.session, issue.id)
    db.session.rollback()
    finished_at = time.monotonic()

    cut_off.restore()
    back_at = time.monotonic()
    outage = back_at - cut["at"]
    # Back: its workers find their claims gone. Wait until its work horses have ended (or a minute).
    quiet = []
    clock.run_until(lambda: quiet.append(not _work_horses(cut_off)) or quiet[-3:] == [True] * 3, 60)
    clock.run_until(lambda: False, 3)  # three more sweeps, as the clock would go on
    after = clock.rows(lost_ids)
    counts = progress.progress(db.session, issue.id)
    final_state = db.session.get(Issue, issue.id).state
    by_host = Counter(index for _, index, _ in receiver.arrivals)
    print(
        f"\nhosts: {HOSTS} x {WORKERS_PER_HOST} workers, {READERS} readers at {RATE}/s; host 3 cut after "
        f"{CUT_AFTER} messages ({cut['at'] - started:.1f} s in), {len(lost)} rows of its claims decided "
        f"{decided_after:.1f} s after the cut ({dict(Counter(decided.values()))}); the others finished "
        f"{finished_at - cut['at']:.1f} s after the cut; link down {outage:.1f} s. Messages by host: "
        f"{dict(sorted(by_host.items()))}. Ledger: "
        f"{ {k: v for k, v in counts.items() if v and k not in ('rate', 'eta_seconds')} }"
    )

    # The other hosts finished without the cut-off one.
    assert finished_while_cut, f"the issue was not sent while host 3 was cut off: {counts_while_cut}"
    # It sent nothing after the cut: the message the relay held when the link went down was its last.
    late = [(round(t - cut["at"], 1), rcpt) for t, index, rcpt in receiver.arrivals
            if index == cut_off.index and t > cut["at"]]  # fmt: skip
    assert late == [], f"host 3 sent after the cut, for claims it had lost: {late[:5]}"

    # The shared limit held across the hosts: no RATE + 1 messages within 0.85 s (slots are spaced evenly,
    # with no burst; 150 ms of slack for a machine under load), and the send took as long as it demands.
    times = sorted(t for t, _, _ in receiver.arrivals)
    tightest = min(times[i + RATE] - times[i] for i in range(len(times) - RATE))
    print(f"tightest {RATE + 1} arrivals: {tightest:.3f} s; {len(times)} in {times[-1] - times[0]:.1f} s")
    assert tightest >= 0.85, f"{RATE + 1} messages arrived within {tightest:.3f} s"
    assert times[-1] - times[0] >= (len(times) - 1) / RATE * 0.95

    # Its claims were decided by the lease, and its return changed none of those decisions.
    # (Rows it never got to go back to the queue and are sent by the other hosts under claims of theirs.)
    changed = {
        i: (decided[i], after[i][0]) for i in lost_ids if decided[i] != "queued" and after[i][0] != decided[i]
    }
    assert changed == {}, f"host 3's return overwrote the sweep's decisions (decided, now): {changed}"

    # The ledger equals the relay's record.
    uncertain = compare_ledger_with_capture(issue.id, receiver).get("uncertain", set())
    # Uncertain only where a connection was cut with a message in it: at most one per cut-off worker.
    assert len(uncertain) <= WORKERS_PER_HOST, f"uncertain: {sorted(uncertain)}"
    # Nobody lost, and the issue is sent.
    assert counts["sent"] + counts["uncertain"] == READERS, counts
    assert final_state is IssueState.SENT

