"""End to end: Send pressed -> every message accepted by Postfix's smtp-sink, with 2 real worker processes,
unsigned and DKIM-signed in the same run.

Makes 20,000 active readers and an issue of about 100 KB (digest layout, enough articles), starts Postfix's
``smtp-sink`` on a free loopback port, a fresh PostgreSQL database and a Redis server (or
``BENCH_DATABASE_URL`` / ``BENCH_REDIS_URL``), then, in the same run and in alternating order per round:

* baseline: every reader's message assembled beforehand (the same skeleton and slot values the worker
  uses), then pushed by a bare ``smtplib`` loop (``SMTP.sendmail``) from 2 processes, one connection
  each, a new connection every 500 messages (what the worker's relay does);
* Beitrag unsigned: 2 workers started as the Procfile starts them (``flask --app app newsletter worker``)
  and idle; the clock runs from ``control.start_send`` (what Send does, the prepare: ledger rows and
  batch jobs) until the ledger says every row is done. Then the sink's own count and the ledger must
  both say every reader was sent;
* Beitrag signed: the same with 2 workers started with a DKIM key (2048-bit RSA, made for the run), so
  that the workers sign every message (``dkim_fast``). ``signed_ratio`` is signed over unsigned.

Each Beitrag side gets its own issue and its own two workers (started before its clock runs, stopped
after). Memory: the peak (``VmHWM``) of each worker and of every work horse it forks, and the resident
size (``VmRSS``) of every process taking part, sampled every second (workers, work horses, this process,
which prepares the send as the web process would, the Redis server, the PostgreSQL backends of the
database, the sink): first, middle, last and peak per process, to show that none grows with the run.

    python -m bench.send [--quick] [--workers N] [--rounds N] [--readers N] [--english SHARE]
                         [--no-dkim] [--signed-only] [--keep-logs DIR]

**The million-reader run** (not in CI; the goal: prepare + signed send under 30 minutes on 2 cores):

    python -m bench.send --readers 1000000 --signed-only --rounds 1

``--signed-only`` leaves out the bare loop (which would hold every message in memory, 100 GB at a
million) and the unsigned send; readers are made by one ``INSERT ... SELECT generate_series`` (and one
for their subscriptions): 0.5 s per 10,000 on a busy machine here, ANALYZE included. Run it on a quiet
machine with ``smtp-sink`` installed (Debian: ``postfix``) and
about 2 GB free in PostgreSQL; the figures to put in the README are the JSON line's
``signed_messages_per_s``, ``prepare_seconds``, ``signed_seconds`` and ``memory``.
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

GOAL_RATIO = 0.7  # Beitrag unsigned over the bare smtplib loop
GOAL_SIGNED_RATIO = 0.8  # Beitrag signed over Beitrag unsigned
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


def _status_kb(pid: int, field: str = "VmHWM") -> int:
    """A memory figure of ``/proc/<pid>/status`` in kB (0 once the process is gone)."""
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class MemoryWatch(threading.Thread):
    """Every 100 ms the peak (``VmHWM``) of the workers and of their work horses; every second the resident
    size (``VmRSS``) of every named process and the sum over the PostgreSQL backends of the database."""

    def __init__(self, named: dict[str, int], backends=None):
        super().__init__(daemon=True)
        self.named = dict(named)  # label -> pid
        self.backends = backends  # () -> pids of the database's PostgreSQL backends, or None
        self.workers: list[int] = []
        self.peak_kb: dict[int, int] = {}  # worker -> the larger of its own and its horses' peaks
        self.horse_peak_kb: dict[int, int] = {}  # work horse -> its peak, in the order they were seen
        self.series: dict[str, list[int]] = {}  # label -> VmRSS samples in kB
        self._lock = threading.Lock()
        self._halt = threading.Event()

    @property
    def horses(self) -> dict[int, int]:
        return self.horse_peak_kb

    def add_workers(self, pids: list[int], kind: str) -> None:
        with self._lock:
            for number, pid in enumerate(pids, 1):
                self.workers.append(pid)
                self.peak_kb[pid] = 0
                self.named[f"worker {kind} {number}"] = pid

    def sample_peaks(self) -> None:
        with self._lock:
            workers = list(self.workers)
        for pid in workers:
            self.peak_kb[pid] = max(self.peak_kb[pid], _status_kb(pid))
        for child, parent in _children(set(workers)).items():
            peak = _status_kb(child)
            self.horse_peak_kb[child] = max(self.horse_peak_kb.get(child, 0), peak)
            self.peak_kb[parent] = max(self.peak_kb[parent], peak)

    def sample_resident(self) -> None:
        with self._lock:
            named = dict(self.named)
        for label, pid in named.items():
            rss = _status_kb(pid, "VmRSS")
            if rss:
                self.series.setdefault(label, []).append(rss)
        if self.backends is not None:
            with contextlib.suppress(Exception):  # the database busy or gone: one sample fewer
                pids = self.backends()
                self.series.setdefault("postgres backends (sum)", []).append(
                    sum(_status_kb(pid, "VmRSS") for pid in pids)
                )
                # Without the shared buffers each backend maps as it touches them (that part of VmRSS
                # grows towards shared_buffers and is one memory for all backends, not each its own).
                self.series.setdefault("postgres backends (sum, private)", []).append(
                    sum(_status_kb(pid, "RssAnon") for pid in pids)
                )

    def run(self) -> None:
        tick = 0
        while not self._halt.wait(0.1):
            self.sample_peaks()
            tick += 1
            if tick % 10 == 0:
                self.sample_resident()

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.sample_peaks()

    def report(self) -> dict[str, dict[str, float]]:
        """First, middle, last and peak in MB, per process; work horses by their peaks in order."""

        def figures(samples: list[int]) -> dict[str, float]:
            mb = [round(kb / 1024, 1) for kb in samples]
            return {"first": mb[0], "middle": mb[len(mb) // 2], "last": mb[-1], "peak": max(mb),
                    "samples": len(mb)}  # fmt: skip

        found = {label: figures(samples) for label, samples in self.series.items() if samples}
        if self.horse_peak_kb:
            found["work horses (peak each)"] = figures(list(self.horse_peak_kb.values()))
        return found


@contextlib.contextmanager
def _workers(count: int, env: dict[str, str], folder: str, redis, kind: str = "") -> Iterator[list[int]]:
    from rq import Worker

    procs = []
    try:
        for i in range(count):
            log = open(Path(folder) / f"worker-{kind}{i}.log", "ab")  # noqa: SIM115 (closed with the process)
            procs.append((subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "app", "newsletter", "worker"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT), log))  # fmt: skip
        deadline = time.monotonic() + 60
        ours = {p.pid for p, _ in procs}
        while not ours <= {worker.pid for worker in Worker.all(connection=redis)}:
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


def _backends(database_url: str):
    """A function that lists the PID of every PostgreSQL backend of the database (one small query)."""
    from sqlalchemy import create_engine

    engine = create_engine(database_url, pool_size=1, max_overflow=0)

    def pids() -> list[int]:
        with engine.connect() as conn:
            return list(conn.scalars(text(
                "SELECT pid FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )))  # fmt: skip

    return pids


def _message_kb(db, issue_id: int) -> float:
    """The size of one reader's message (the first reader's, unsigned)."""
    from newsletter.editorial.models import Issue
    from newsletter.mail import mime
    from newsletter.readers.models import Subscriber
    from newsletter.sending import slots

    issue = db.session.get(Issue, issue_id)
    skeleton = slots.skeleton_for(issue, "default", BASE_URL, locale="de")
    first = select(Subscriber.id, Subscriber.email).order_by(Subscriber.id).limit(1)
    reader = db.session.execute(first).one()
    values = slots.RecipientSlots(
        base_url=BASE_URL, secret_key=SECRET, unsubscribe_mailbox="abmelden@ki-kompass.example",
        issue_id=issue.id, domain=mime.sender_domain(issue.sender_address),
    )(reader.email, reader.id, issue.newsletters[0].id, reader.id)  # fmt: skip
    return len(skeleton.assemble(values)) / 1024


def main() -> None:
    args = common.arguments(
        __doc__.splitlines()[0],
        [(("--workers",), {"type": int, "default": 2, "help": "worker processes (and baseline pushers)"}),
         (("--readers",), {"type": int, "default": None, "help": "override the number of readers"}),
         (("--rounds",), {"type": int, "default": None,
                          "help": "every side once a round, alternating the order (default 2, --quick 1)"}),
         (("--articles",), {"type": int, "default": 24, "help": "articles in the issue (~100 KB at 24)"}),
         (("--english",), {"type": float, "default": 0.0,
                           "help": "share of readers who read English (0.5: every second one)"}),
         (("--keep-logs",), {"metavar": "DIR", "help": "copy the workers' logs into DIR"}),
         (("--no-dkim",), {"action": "store_true", "help": "leave out the signed send"}),
         (("--dkim",), {"action": "store_true",
                        "help": "(the default: the signed send runs beside the unsigned)"}),
         (("--signed-only",), {"action": "store_true",
                               "help": "only the signed send: no bare loop, no unsigned send (the 1M run)"})],
    )  # fmt: skip
    if args.no_dkim and args.signed_only:
        raise SystemExit("--no-dkim and --signed-only leave nothing to run")
    readers = args.readers or (2_000 if args.quick else 20_000)
    args.rounds = args.rounds or (1 if args.quick else 2)
    sides = ["baseline", "unsigned"] + ([] if args.no_dkim else ["signed"])
    if args.signed_only:
        sides = ["signed"]
    print(f"send: {readers:,} readers ({args.english:.0%} English), {args.workers} workers, "
          f"{args.rounds} rounds of {', '.join(sides)}, smtp-sink; {common.machine()}")  # fmt: skip
    results: dict[str, list[dict]] = {side: [] for side in sides}
    with (
        tempfile.TemporaryDirectory(prefix="beitrag-bench-send-") as folder,
        common.postgres_database() as database_url,
        common.redis_server() as redis_url,
        common.bench_app(database_url, redis_url, BASE_URL=BASE_URL) as app,
    ):
        from db import db
        from newsletter.platform.queues import get_redis

        sink = Sink(folder)
        redis = get_redis(app)
        memory = MemoryWatch(
            {"this process (prepare)": os.getpid(), "redis-server": int(redis.info("server")["process_id"]),
             "smtp-sink": sink.process.pid},
            _backends(database_url) if database_url.startswith("postgresql") else None,
        )  # fmt: skip
        memory.start()
        try:
            started = time.perf_counter()
            newsletter_id, article_ids = _populate(db, readers, args.articles, args.english)
            populate_seconds = time.perf_counter() - started
            print(f"readers made in {populate_seconds:.2f} s "
                  f"({populate_seconds / readers * 10_000:.3f} s per 10,000)")  # fmt: skip
            issues = {side: [_new_issue(db, newsletter_id, article_ids) for _ in range(args.rounds)]
                      for side in sides if side != "baseline"}  # fmt: skip
            size_kb = _message_kb(db, next(iter(issues.values()))[0])
            print(f"issue: {args.articles} articles, {size_kb:.1f} KB a message")
            key_path = _dkim_key(folder)[1] if "signed" in sides else None
            messages = _prebuilt_messages(db, issues["unsigned"][0]) if "baseline" in sides else []
            load_before = os.getloadavg()
            for n in range(args.rounds):
                # Alternate the order, so that no side always runs on a machine warmed (or loaded) by another.
                for side in sides if n % 2 == 0 else sides[::-1]:
                    load = os.getloadavg()[0]
                    if side == "baseline":
                        result = _baseline(sink, messages, args.workers)
                        label = f"baseline, bare smtplib loop, {args.workers} processes"
                    else:
                        env = _worker_env(sink, database_url, redis_url, folder,
                                          key_path if side == "signed" else None)  # fmt: skip
                        with _workers(args.workers, env, folder, redis, side) as pids:
                            memory.add_workers(pids, side)
                            result = _beitrag(db, issues[side][n], readers, sink, pids, folder)
                        label = (f"Beitrag {side}, {args.workers} workers, {result['batches']} jobs, "
                                 f"prepared in {result['enqueue_seconds']:.2f} s")  # fmt: skip
                    results[side].append(result)
                    print(f"round {n + 1}, {label}: {readers:,} in {result['seconds']:.2f} s "
                          f"({readers / result['seconds']:,.0f} messages/s, "
                          f"CPU {result['cpu'] / readers * 1000:.2f} ms a message), sink counted "
                          f"{result['accepted']:,}; load average {load:.2f}")  # fmt: skip
            load_after = os.getloadavg()
        finally:
            memory.stop()
            sink.stop()
            if args.keep_logs:
                import shutil

                os.makedirs(args.keep_logs, exist_ok=True)
                for log in Path(folder).glob("worker-*.log"):
                    shutil.copy(log, args.keep_logs)

    def rate(side: str) -> float | None:
        done = results.get(side) or []
        return readers * len(done) / sum(r["seconds"] for r in done) if done else None

    def best(side: str) -> float | None:
        done = results.get(side) or []
        return max(readers / r["seconds"] for r in done) if done else None

    def ratio(top: str, bottom: str, figure=rate) -> float | None:
        a, b = figure(top), figure(bottom)
        return None if a is None or b is None else a / b

    def cpu_ms(side: str) -> float | None:
        done = results.get(side) or []
        return sum(r["cpu"] for r in done) / (readers * len(done)) * 1000 if done else None

    def rounded(value: float | None, digits: int = 0):
        return None if value is None else round(value, digits) if digits else round(value)

    sends = results.get("unsigned", []) + results.get("signed", [])
    peaks_mb = [round(kb / 1024, 1) for kb in memory.peak_kb.values()]
    complete = all(r["accepted"] == readers for rs in results.values() for r in rs) and all(
        r["ledger"] == {"sent": readers} and r["issue_state"] == "sent" for r in sends
    )
    base_ratio, signed_ratio = ratio("unsigned", "baseline"), ratio("signed", "unsigned")
    prepare = [r["enqueue_seconds"] for r in sends]
    if base_ratio is not None:
        print(f"baseline: {rate('baseline'):,.0f} messages/s; Beitrag unsigned: "
              f"{rate('unsigned'):,.0f} messages/s; ratio {base_ratio:.2f} (goal >= {GOAL_RATIO}; "
              f"best round against best round {ratio('unsigned', 'baseline', best):.2f})")  # fmt: skip
    if signed_ratio is None and "signed" in results:
        print(f"Beitrag signed: {rate('signed'):,.0f} messages/s (no unsigned send to compare)")
    if signed_ratio is not None:
        print(f"Beitrag signed: {rate('signed'):,.0f} messages/s; signed over unsigned "
              f"{signed_ratio:.2f} (goal >= {GOAL_SIGNED_RATIO}; best round against best round "
              f"{ratio('signed', 'unsigned', best) or 0:.2f})")  # fmt: skip
    for side in ("unsigned", "signed"):
        for r in results.get(side, []):
            print(f"per 10,000 readers ({side}): prepare {r['enqueue_seconds'] / readers * 10_000:.3f} s, "
                  f"Send to last message {r['seconds'] / readers * 10_000:.2f} s")  # fmt: skip
    print("CPU a message: " + ", ".join(f"{side} {cpu_ms(side):.2f} ms" for side in sides))
    print(f"worker peak RSS {peaks_mb} MB over {len(memory.horses)} work horses (goal <= {GOAL_RSS_MB} MB "
          f"each)")  # fmt: skip
    memory_report = memory.report()
    for label, figures in memory_report.items():
        print(f"  {label}: RSS first {figures['first']} MB, middle {figures['middle']}, last "
              f"{figures['last']}, peak {figures['peak']} ({figures['samples']} samples)")  # fmt: skip
    print(f"every message counted by the sink and sent in the ledger: {'yes' if complete else 'NO'}")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    met = complete and max(peaks_mb) <= GOAL_RSS_MB
    if base_ratio is not None:
        met = met and base_ratio >= GOAL_RATIO
    if signed_ratio is not None:
        met = met and signed_ratio >= GOAL_SIGNED_RATIO
    main_side = "unsigned" if "unsigned" in results else "signed"
    common.emit(
        {
            "bench": "send",
            "size": {"recipients": readers, "rounds": args.rounds, "message_kb": round(size_kb, 1),
                     "workers": args.workers, "connection_reuse": CONNECTION_REUSE, "dkim": "signed" in sides,
                     "sides": sides},
            "messages_per_s": rounded(rate(main_side)),
            "seconds": [round(r["seconds"], 2) for r in results[main_side]],
            "baseline_messages_per_s": rounded(rate("baseline")),
            "baseline_seconds": [round(r["seconds"], 2) for r in results.get("baseline", [])],
            "ratio": rounded(base_ratio, 2),
            "best_round_ratio": rounded(ratio("unsigned", "baseline", best), 2),
            "signed_messages_per_s": rounded(rate("signed")),
            "signed_seconds": [round(r["seconds"], 2) for r in results.get("signed", [])],
            "signed_ratio": rounded(signed_ratio, 2),
            "best_round_signed_ratio": rounded(ratio("signed", "unsigned", best), 2),
            "cpu_ms_per_message": rounded(cpu_ms(main_side), 3),
            "signed_cpu_ms_per_message": rounded(cpu_ms("signed"), 3),
            "baseline_cpu_ms_per_message": rounded(cpu_ms("baseline"), 3),
            "prepare_seconds": [round(x, 2) for x in prepare],
            "populate_seconds": round(populate_seconds, 2),
            "complete": complete, "ledger": [r["ledger"] for r in sends],
            "worker_peak_rss_mb": peaks_mb, "work_horses": len(memory.horses), "memory": memory_report,
            "load_average": [round(x, 2) for x in load_before + load_after],
            "goal": {"ratio": GOAL_RATIO, "signed_ratio": GOAL_SIGNED_RATIO, "rss_mb": GOAL_RSS_MB,
                     "met": met},
        }
    )  # fmt: skip


if __name__ == "__main__":
    main()
