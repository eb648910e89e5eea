"""End to end: Send pressed -> every message accepted by Postfix's smtp-sink, with 2 real worker processes.

Makes 20,000 active readers and an issue of about 100 KB (digest layout, enough articles), starts Postfix's
``smtp-sink`` on a free loopback port, a fresh PostgreSQL database and a Redis server (or
``BENCH_DATABASE_URL`` / ``BENCH_REDIS_URL``), then, in the same run:

* baseline: every reader's message assembled beforehand (the same skeleton and slot values the worker
  uses), then pushed by a bare ``smtplib`` loop (``SMTP.sendmail``) from 2 processes, one connection
  each, a new connection every 500 messages (what the worker's relay does);
* Beitrag: 2 workers started as the Procfile starts them (``flask --app app newsletter worker``) and
  idle; the clock runs from ``control.start_send`` (what Send does) until the ledger
  says every row is done. Then the sink's own count and the ledger must both say 20,000 sent.

Also the workers' peak memory: ``VmHWM`` of each worker process and of every work horse it forks (read
from ``/proc`` while they live), the larger of the two per worker.

With ``--dkim`` the workers sign every message (a 2048-bit key made for the run) and the bare loop pushes
the same messages signed beforehand: run it with and without to see what signing costs a send.

    python -m bench.send [--quick] [--dkim] [--workers N] [--rounds N] [--readers N] [--english SHARE]
                         [--keep-logs DIR]
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import resource
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select, text

from bench import common

GOAL_RATIO = 0.7
GOAL_RSS_MB = 150
CONNECTION_REUSE = 500  # messages per SMTP connection, as smtp.Relay's default
SECRET = "bench-secret-key-bench-secret-key-0123456789"  # noqa: S105 (a benchmark key)
BASE_URL = "https://newsletter.ki-kompass.example"
SENDER = "redaktion@ki-kompass.example"
SMTP_SINK = "/usr/sbin/smtp-sink"
ROOT = Path(__file__).resolve().parent.parent


# -- the SMTP sink -------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """Postfix's smtp-sink on a loopback port; ``-c`` makes it write its running counters to a file."""

    def __init__(self, folder: str):
        if not os.access(SMTP_SINK, os.X_OK):
            raise SystemExit(
                f"{SMTP_SINK} is missing: apt-get install -y postfix (DEBIAN_FRONTEND=noninteractive)"
            )
        self.port = _free_port()
        self.counter_path = Path(folder) / "smtp-sink.counters"
        args = [SMTP_SINK, "-c", "-4"]
        if os.geteuid() == 0:
            args += ["-u", "nobody"]  # smtp-sink refuses to run as root without it
        args += [f"127.0.0.1:{self.port}", "256"]
        self._out = open(self.counter_path, "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(args, stdout=self._out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.05)
        self.stop()
        raise SystemExit("smtp-sink did not start listening")

    def messages(self) -> int:
        """Messages the sink has accepted since it started (its own counter)."""
        with open(self.counter_path, "rb") as counters:  # only the end: the file grows with every message
            counters.seek(max(0, os.fstat(counters.fileno()).st_size - 200))
            found = re.findall(rb"mesg=(\d+)", counters.read())
        return int(found[-1]) if found else 0

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._out.close()


# -- data ----------------------------------------------------------------------------------------------


def _populate(db, readers: int, articles: int, english: float = 0.0) -> tuple[int, list[int]]:
    """Readers on one newsletter (every ``1/english``-th of them reading English) and the articles of the
    issue; (newsletter id, article ids)."""
    from db import utcnow
    from newsletter.editorial.models import Article
    from newsletter.readers.models import Newsletter

    ki = Newsletter(slug="ki-news", name="KI-News täglich", is_default=True)
    db.session.add(ki)
    now = utcnow()
    items = []
    for n in range(articles):
        article = Article(
            slug=f"meldung-{n}",
            title=f"Meldung {n}: Was das neue Sprachmodell für Behörden und Schulen bedeutet",
            teaser="Städte und Gemeinden testen Sprachmodelle für Bürgeranfragen. Wir haben nachgefragt, "
            "was gut läuft, wo es hakt und wer haftet, wenn die Maschine irrt. " * 3,
            author="Mara Schulz",
            canonical_url=f"https://ki-kompass.example/artikel/meldung-{n}",
            image_url=f"https://ki-kompass.example/bilder/meldung-{n}.jpg",
            image_credit="Foto: Redaktion",
            published_at=now - timedelta(hours=n),
        )
        db.session.add(article)
        items.append(article)
    db.session.flush()
    conn = db.session.connection()
    conn.execute(
        text(
            "INSERT INTO subscribers (email, status, locale, created_at, updated_at, ask_frequency) "
            "SELECT 'leser' || g || '@example.org', 'active', "
            "CASE WHEN g % :step = 0 THEN 'en' ELSE 'de' END, now(), now(), 'normal' "
            "FROM generate_series(1, :n) AS g"
        ),
        {"n": readers, "step": round(1 / english) if english > 0 else readers + 1},
    )
    conn.execute(
        text("INSERT INTO subscriptions (subscriber_id, newsletter_id, created_at) SELECT id, :ki, now() "
             "FROM subscribers"),
        {"ki": ki.id},
    )  # fmt: skip
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    return ki.id, [a.id for a in items]


def _new_issue(db, newsletter_id: int, article_ids: list[int]) -> int:
    """A draft issue of the articles for the newsletter's readers (one per round)."""
    from newsletter.editorial.models import Issue, IssueArticle, IssueLayout
    from newsletter.readers.models import Newsletter

    issue = Issue(
        subject="Die KI-Woche: Ämter, Schulen und Sprachmodelle", preheader="Die Woche in fünf Minuten",
        intro="Liebe Leserinnen und Leser,\n\nheute mit **drei Schwerpunkten**.", layout=IssueLayout.DIGEST,
        subject_en="The AI week: offices, schools and language models",
        preheader_en="The week in five minutes",
        intro_en="Dear readers,\n\ntoday with **three main topics**.",
        sender_name="KI-Kompass", sender_address=SENDER,
        newsletters=[db.session.get(Newsletter, newsletter_id)],
    )  # fmt: skip
    db.session.add(issue)
    db.session.flush()
    for position, article_id in enumerate(article_ids):
        db.session.add(IssueArticle(issue_id=issue.id, article_id=article_id, position=position))
    db.session.commit()
    return issue.id


def _prebuilt_messages(db, issue_id: int, dkim_key=None) -> list[tuple[str, bytes]]:
    """Every reader's message as the worker would make it (same skeleton, same slot values, signed with
    ``dkim_key`` when given)."""
    from newsletter.editorial.models import Issue
    from newsletter.mail import mime
    from newsletter.readers.models import Subscriber
    from newsletter.sending import slots

    issue = db.session.get(Issue, issue_id)
    skeletons = {lang: slots.skeleton_for(issue, "default", BASE_URL, locale=lang) for lang in ("de", "en")}
    newsletter_id = issue.newsletters[0].id
    slots = slots.RecipientSlots(
        base_url=BASE_URL, secret_key=SECRET, unsubscribe_mailbox="abmelden@ki-kompass.example",
        issue_id=issue.id, domain=mime.sender_domain(issue.sender_address),
    )  # fmt: skip
    messages = []
    query = select(Subscriber.id, Subscriber.email, Subscriber.locale).order_by(Subscriber.id)
    for reader in db.session.execute(query):
        values = slots(reader.email, reader.id, newsletter_id, reader.id)
        skeleton = skeletons[reader.locale]
        if dkim_key is None:
            messages.append((reader.email, skeleton.assemble(values)))
        else:
            messages.append((reader.email, skeleton.assemble_signed(values, dkim_key)))
    return messages


# -- baseline: a bare smtplib loop ---------------------------------------------------------------------

_BASELINE: list[tuple[str, bytes]] = []  # filled before the fork; the pushers inherit it


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _push(port: int, share: int, shares: int, start: multiprocessing.Event, done) -> None:
    mine = _BASELINE[share::shares]
    start.wait()
    cpu = _cpu_seconds()
    conn = None
    refused = 0
    for count, (to, message) in enumerate(mine):
        if count % CONNECTION_REUSE == 0:
            if conn is not None:
                conn.quit()
            conn = smtplib.SMTP("127.0.0.1", port)
            conn.ehlo()
        refused += len(conn.sendmail(SENDER, [to], message))
    if conn is not None:
        conn.quit()
    done.put((len(mine), refused, _cpu_seconds() - cpu))


def _baseline(sink: Sink, messages: list[tuple[str, bytes]], processes: int) -> dict:
    global _BASELINE
    _BASELINE = messages
    context = multiprocessing.get_context("fork")
    start, done = context.Event(), context.Queue()
    pushers = [context.Process(target=_push, args=(sink.port, i, processes, start, done))
               for i in range(processes)]  # fmt: skip
    for p in pushers:
        p.start()
    before = sink.messages()
    time.sleep(0.5)
    started = time.perf_counter()
    start.set()
    results = [done.get(timeout=600) for _ in pushers]
    seconds = time.perf_counter() - started
    for p in pushers:
        p.join()
    _BASELINE = []
    time.sleep(0.2)
    accepted = sink.messages() - before
    assert sum(n for n, _, _ in results) == len(messages) and not any(r for _, r, _ in results), results
    return {"seconds": seconds, "accepted": accepted, "cpu": sum(c for _, _, c in results)}


# -- Beitrag: real workers ------------------------------------------------------------------------------


def _children(pids: set[int]) -> dict[int, int]:
    """Processes whose parent is one of ``pids``: {child pid: parent pid}."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = Path(entry.path, "stat").read_bytes()
            ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
            if ppid in pids:
                found[int(entry.name)] = ppid
    return found


def _hwm_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


class PeakMemory(threading.Thread):
    """Samples VmHWM of the workers and their work horses every 100 ms until stopped."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids = pids
        self.peak_kb = dict.fromkeys(pids, 0)
        self.horses: set[int] = set()
        self._halt = threading.Event()

    def sample(self) -> None:
        for pid in self.pids:
            self.peak_kb[pid] = max(self.peak_kb[pid], _hwm_kb(pid))
        for child, parent in _children(set(self.pids)).items():
            self.horses.add(child)
            self.peak_kb[parent] = max(self.peak_kb[parent], _hwm_kb(child))

    def run(self) -> None:
        while not self._halt.wait(0.1):
            self.sample()

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.sample()


@contextlib.contextmanager
def _workers(count: int, env: dict[str, str], folder: str, redis) -> Iterator[list[int]]:
    from rq import Worker

    procs = []
    try:
        for i in range(count):
            log = open(Path(folder) / f"worker-{i}.log", "wb")  # noqa: SIM115 (closed with the process)
            procs.append((subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "app", "newsletter", "worker"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log))  # fmt: skip
        deadline = time.monotonic() + 60
        while Worker.count(connection=redis) < count:
            if time.monotonic() > deadline or any(p.poll() is not None for p, _ in procs):
                raise SystemExit(f"the workers did not start; see {folder}/worker-*.log")
            time.sleep(0.1)
        yield [p.pid for p, _ in procs]
    finally:
        for p, _ in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)  # RQ's warm shutdown
        for p, log in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            log.close()


def _ledger(db, issue_id: int) -> dict[str, int]:
    from newsletter.sending.models import Delivery

    rows = db.session.execute(
        select(Delivery.status, func.count()).where(Delivery.issue_id == issue_id).group_by(Delivery.status)
    ).all()
    db.session.rollback()
    return {str(getattr(status, "value", status)): n for status, n in rows}


def _cpu_of(pids: list[int]) -> float:
    """CPU seconds of the workers and of the work horses they have reaped (utime, stime, cutime, cstime)."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_bytes()
            ticks += sum(int(x) for x in stat[stat.rindex(b")") + 2 :].split()[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def _dkim_key(folder: str):
    """A 2048-bit key in ``folder`` and the checked key the workers will load from it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from newsletter.mail import signing

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = Path(folder) / "dkim.pem"
    path.write_bytes(private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))  # fmt: skip
    return signing.load_key(str(path), "bench", "ki-kompass.example"), str(path)


def _worker_env(
    sink: Sink, database_url: str, redis_url: str, folder: str, dkim_path: str | None = None
) -> dict[str, str]:
    dkim = {} if dkim_path is None else \
        {"DKIM_PRIVATE_KEY": dkim_path, "DKIM_SELECTOR": "bench", "DKIM_DOMAIN": "ki-kompass.example"}
    return {
        **os.environ, **dkim, "BEITRAG_ENV": "production", "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SMTP_URL": f"smtp://127.0.0.1:{sink.port}", "SECRET_KEY": SECRET, "BASE_URL": BASE_URL,
        "MAIL_FROM": SENDER, "MAIL_UNSUBSCRIBE_ADDRESS": "abmelden@ki-kompass.example",
        "BEITRAG_INSTANCE": str(Path(folder) / "instance"),
    }  # fmt: skip


def _beitrag(db, issue_id: int, readers: int, sink: Sink, pids: list[int], folder: str) -> dict:
    """Press Send on the issue and wait until the ledger has every row done."""
    from flask import current_app

    from newsletter.editorial.models import Issue
    from newsletter.sending import control

    before, cpu = sink.messages(), _cpu_of(pids)
    started = time.perf_counter()
    batches = control.start_send(db.session, db.session.get(Issue, issue_id), current_app.config).batches
    queued = time.perf_counter() - started
    # Watch the sink's counter (a file read) while the messages flow, then the ledger (a query over the
    # issue's rows, which would take database time from the workers if it ran every few milliseconds).
    last_change, last_seen, counts = time.monotonic(), -1, {}
    while (seen := sink.messages() - before) < readers:
        if seen != last_seen:
            last_change, last_seen = time.monotonic(), seen
        elif time.monotonic() - last_change > 60:
            raise SystemExit(f"no progress for 60 s: {_ledger(db, issue_id)}; see {folder}/worker-*.log")
        time.sleep(0.005)
    while True:
        counts = _ledger(db, issue_id)
        if sum(n for status, n in counts.items() if status not in ("queued", "sending")) >= readers:
            break
        if time.monotonic() - last_change > 60:
            raise SystemExit(f"the ledger is behind the sink for 60 s: {counts}; see {folder}/worker-*.log")
        time.sleep(0.005)
    seconds = time.perf_counter() - started
    time.sleep(0.3)  # the last horse exits and is reaped (its CPU time counts)
    db.session.expire_all()
    return {
        "seconds": seconds, "enqueue_seconds": queued, "batches": batches, "ledger": counts,
        "accepted": sink.messages() - before, "cpu": _cpu_of(pids) - cpu,
        "issue_state": db.session.get(Issue, issue_id).state.value,
    }  # fmt: skip


# -- main ----------------------------------------------------------------------------------------------


def main() -> None:
    args = common.arguments(
        __doc__.splitlines()[0],
        [(("--workers",), {"type": int, "default": 2, "help": "worker processes (and baseline pushers)"}),
         (("--readers",), {"type": int, "default": None, "help": "override the number of readers"}),
         (("--rounds",), {"type": int, "default": None,
                          "help": "baseline and Beitrag, alternating (default 2, --quick 1)"}),
         (("--articles",), {"type": int, "default": 24, "help": "articles in the issue (~100 KB at 24)"}),
         (("--english",), {"type": float, "default": 0.0,
                           "help": "share of readers who read English (0.5: every second one)"}),
         (("--keep-logs",), {"metavar": "DIR", "help": "copy the workers' logs into DIR"}),
         (("--dkim",), {"action": "store_true", "help": "the workers sign every message (2048-bit key)"})],
    )  # fmt: skip
    readers = args.readers or (2_000 if args.quick else 20_000)
    args.rounds = args.rounds or (1 if args.quick else 2)
    print(f"send: {readers:,} readers ({args.english:.0%} English), {args.workers} workers, "
          f"{args.rounds} rounds, smtp-sink, {'DKIM on' if args.dkim else 'no DKIM'}; "
          f"{common.machine()}")  # fmt: skip
    baselines, sends = [], []
    with (
        tempfile.TemporaryDirectory(prefix="beitrag-bench-send-") as folder,
        common.postgres_database() as database_url,
        common.redis_server() as redis_url,
        common.bench_app(database_url, redis_url, BASE_URL=BASE_URL) as app,
    ):
        from db import db
        from newsletter.platform.queues import get_redis

        sink = Sink(folder)
        try:
            newsletter_id, article_ids = _populate(db, readers, args.articles, args.english)
            issues = [_new_issue(db, newsletter_id, article_ids) for _ in range(args.rounds)]
            key, key_path = _dkim_key(folder) if args.dkim else (None, None)
            messages = _prebuilt_messages(db, issues[0], key)
            size_kb = sum(len(m) for _, m in messages) / len(messages) / 1024
            print(f"issue: {args.articles} articles, {size_kb:.1f} KB a message")
            env = _worker_env(sink, database_url, redis_url, folder, key_path)
            load_before = os.getloadavg()
            with _workers(args.workers, env, folder, get_redis(app)) as pids:
                memory = PeakMemory(pids)
                memory.start()
                for n, issue_id in enumerate(issues):
                    # Alternate the order, so that neither side always runs on a machine warmed (or
                    # loaded) by the other.
                    for side in ("baseline", "beitrag") if n % 2 == 0 else ("beitrag", "baseline"):
                        load = os.getloadavg()[0]
                        if side == "baseline":
                            result = _baseline(sink, messages, args.workers)
                            baselines.append(result)
                            label = f"baseline, bare smtplib loop, {args.workers} processes"
                        else:
                            result = _beitrag(db, issue_id, readers, sink, pids, folder)
                            sends.append(result)
                            label = f"Beitrag, {args.workers} workers, {result['batches']} jobs"
                        print(f"round {n + 1}, {label}: {readers:,} in {result['seconds']:.2f} s "
                              f"({readers / result['seconds']:,.0f} messages/s, "
                              f"CPU {result['cpu'] / readers * 1000:.2f} ms a message), sink counted "
                              f"{result['accepted']:,}; load average {load:.2f}")  # fmt: skip
                memory.stop()
            load_after = os.getloadavg()
        finally:
            sink.stop()
            if args.keep_logs:
                import shutil

                os.makedirs(args.keep_logs, exist_ok=True)
                for log in Path(folder).glob("worker-*.log"):
                    shutil.copy(log, args.keep_logs)

    base_seconds = sum(r["seconds"] for r in baselines)
    send_seconds = sum(r["seconds"] for r in sends)
    total = readers * args.rounds
    baseline, rate = total / base_seconds, total / send_seconds
    ratio = rate / baseline
    best_ratio = max(readers / s["seconds"] for s in sends) / max(readers / b["seconds"] for b in baselines)
    peaks_mb = [round(kb / 1024, 1) for kb in memory.peak_kb.values()]
    complete = all(r["accepted"] == readers for r in baselines + sends) and all(
        r["ledger"] == {"sent": readers} and r["issue_state"] == "sent" for r in sends
    )
    cpu_ms = sum(r["cpu"] for r in sends) / total * 1000
    base_cpu_ms = sum(r["cpu"] for r in baselines) / total * 1000
    print(f"baseline: {baseline:,.0f} messages/s; Beitrag: {rate:,.0f} messages/s; ratio {ratio:.2f} "
          f"(goal >= {GOAL_RATIO}; best round against best round {best_ratio:.2f})")  # fmt: skip
    print(f"CPU a message: Beitrag's workers {cpu_ms:.2f} ms, the bare loop {base_cpu_ms:.2f} ms")
    print(f"worker peak RSS {peaks_mb} MB over {len(memory.horses)} work horses (goal <= {GOAL_RSS_MB} MB "
          f"each)")  # fmt: skip
    print(f"every message counted by the sink and sent in the ledger: {'yes' if complete else 'NO'}")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    common.emit(
        {
            "bench": "send",
            "size": {"recipients": readers, "rounds": args.rounds, "message_kb": round(size_kb, 1),
                     "workers": args.workers, "connection_reuse": CONNECTION_REUSE, "dkim": args.dkim},
            "messages_per_s": round(rate), "seconds": [round(r["seconds"], 2) for r in sends],
            "baseline_messages_per_s": round(baseline),
            "baseline_seconds": [round(r["seconds"], 2) for r in baselines],
            "ratio": round(ratio, 2), "best_round_ratio": round(best_ratio, 2),
            "cpu_ms_per_message": round(cpu_ms, 3), "baseline_cpu_ms_per_message": round(base_cpu_ms, 3),
            "complete": complete, "ledger": [r["ledger"] for r in sends],
            "worker_peak_rss_mb": peaks_mb, "work_horses": len(memory.horses),
            "load_average": [round(x, 2) for x in load_before + load_after],
            "goal": {"ratio": GOAL_RATIO, "rss_mb": GOAL_RSS_MB,
                     "met": complete and ratio >= GOAL_RATIO and max(peaks_mb) <= GOAL_RSS_MB},
        }
    )  # fmt: skip


if __name__ == "__main__":
    main()
