"""POST /subscribe under gunicorn at a fixed arrival rate (open loop), on PostgreSQL and Redis.

Starts a PostgreSQL database and a Redis server (bench/common.py), upgrades the schema, starts gunicorn
with Beitrag on a loopback port and sends sign-ups for distinct addresses on a fixed schedule, whatever the
latency (each request on its own connection; latency is measured from the scheduled send time, so a
stalled server cannot hide its queue). Then the same load against the baseline, a bare Flask + gunicorn
app that inserts one row (bench/subscribe_baseline.py). Afterwards every accepted address is looked up in
the database.

Past the web tier's capacity (``--rate 600`` on two cores, when the machine is busy) Beitrag sheds
sign-ups: 503 with ``Retry-After`` (newsletter/platform/overload.py). Latency is then reported over every
answer, accepted or shed (a request without an answer counts as the 10 s timeout), and the run checks that
every address answered 200 is stored and none answered 503 is. Goals: at up to 300/s, p99 <= 25 ms and
nothing shed; above, p99 <= 250 ms; always no errors (only 200, or 503 with Retry-After) and 0 lost.

The per-client-address rate limit would stop a flood from one IP, which is exactly what this load looks
like, so the run sets SUBSCRIBE_RATE_LIMIT to "1000000 per minute"; the per-e-mail limit and the daily
mail cap stay as configured (every address is new). SUBSCRIBE_MIN_SECONDS (the floor that makes new and
known addresses answer alike) stays at its default.

    python -m bench.subscribe [--quick] [--rate 300 | --rate 600] [--seconds 30]
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

from bench import common

GOAL_P99_MS = 25.0  # up to SHED_FREE_RATE
GOAL_OVERLOAD_P99_MS = 250.0  # above it: every answer, accepted or shed
SHED_FREE_RATE = 300.0
GOAL_CPU_RATIO = 1.3
WORKERS = 2
THREADS = 16


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def workers_cpu_seconds(master: int) -> float:
    """User + system CPU seconds of the gunicorn master's worker processes so far (Linux /proc)."""
    total = 0
    for stat in os.listdir("/proc"):
        if not stat.isdigit():
            continue
        try:
            with open(f"/proc/{stat}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:  # ppid
            total += int(fields[11]) + int(fields[12])  # utime, stime in clock ticks
    return total / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def gunicorn(
    target: str, env: dict[str, str], workers: int = WORKERS, threads: int = THREADS,
    worker_class: str = "gthread",
):  # fmt: skip
    port = _free_port()
    args = [
        sys.executable, "-m", "gunicorn", "-c", "python:newsletter.platform.gunicorn_config",
        "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
        "--worker-class", worker_class, "--threads", str(threads), "--log-level", "warning", target,
    ]  # fmt: skip
    process = subprocess.Popen(args, env={**os.environ, **env})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn {target} did not start")
            time.sleep(0.1)
        yield port, process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _requests(bodies: list[bytes]) -> list[bytes]:
    """Whole HTTP requests, built before the clock starts."""
    head = (
        b"POST /subscribe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Connection: close\r\nContent-Length: "
    )
    return [head + str(len(body)).encode() + b"\r\n\r\n" + body for body in bodies]


def _load(port: int, bodies: list[bytes], rate: float) -> list[tuple[int, float]]:
    """(status, latency) each; a 503 without ``Retry-After`` counts as status -503, an error."""
    requests = _requests(bodies)
    results = common.open_loop(port, len(requests), requests.__getitem__, rate, head=True)
    return [
        (-503 if status == 503 and b"\r\nretry-after:" not in answer.partition(b"\r\n\r\n")[0].lower()
         else status, latency)
        for status, latency, answer in results
    ]  # fmt: skip


def run_load(port: int, bodies: list[bytes], rate: float, master: int | None = None, offset: int = 0) -> dict:
    """One turn of load; indexes of accepted and shed requests count from ``offset``."""
    # The load generator's own garbage collection would delay sends (and count as server latency).
    gc.collect()
    gc.disable()
    cpu_before = workers_cpu_seconds(master) if master else 0.0
    generator_before = time.process_time()
    try:
        began = time.perf_counter()
        results = _load(port, bodies, rate)
        elapsed = time.perf_counter() - began
    finally:
        gc.enable()
    generator_cpu = time.process_time() - generator_before
    cpu = workers_cpu_seconds(master) - cpu_before if master else None
    return _summary({
        "results": results,
        "accepted_indexes": [offset + i for i, (status, _) in enumerate(results) if status == 200],
        "shed_indexes": [offset + i for i, (status, _) in enumerate(results) if status == 503],
        "elapsed": elapsed,
        "cpu": cpu,
        "generator_cpu": generator_cpu,
    })  # fmt: skip


def merge_rounds(turns: list[dict]) -> dict:
    """The figures of several turns as if they were one run."""
    cpus = [turn["cpu"] for turn in turns]
    return _summary({
        "results": [result for turn in turns for result in turn["results"]],
        "accepted_indexes": [i for turn in turns for i in turn["accepted_indexes"]],
        "shed_indexes": [i for turn in turns for i in turn["shed_indexes"]],
        "elapsed": sum(turn["elapsed"] for turn in turns),
        "cpu": None if None in cpus else sum(cpus),
        "generator_cpu": sum(turn["generator_cpu"] for turn in turns),
    })  # fmt: skip


def _summary(raw: dict) -> dict:
    results, cpu = raw["results"], raw["cpu"]
    ok = [latency for status, latency in results if status == 200]
    statuses: dict[int, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    shed = statuses.get(503, 0)
    # Every request, accepted or shed; one without an answer counts as the timeout it ran into.
    summary = common.summary_ms([latency for _, latency in results])
    accepted = common.summary_ms(ok) if ok else {"p99_ms": None, "p50_ms": None}
    answered = len(results) - statuses.get(0, 0)
    return {
        **raw,
        **summary,
        "accepted_p50_ms": accepted["p50_ms"],
        "accepted_p99_ms": accepted["p99_ms"],
        "errors": len(results) - len(ok) - shed,
        "shed": shed,
        "statuses": statuses,
        "achieved_rps": round(len(results) / raw["elapsed"], 1),
        # Per answered request: on a swamped machine requests the client gave up on were not all served.
        "cpu_ms_per_request": round(1000 * cpu / answered, 2) if cpu is not None and answered else None,
        "generator_cpu_ms_per_request": round(1000 * raw["generator_cpu"] / len(results), 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def prepare_database(database_url: str, redis_url: str) -> None:
    """Beitrag's schema with one default newsletter, and the baseline's table, in the bench's database."""
    from sqlalchemy import create_engine, text

    with common.bench_app(database_url, redis_url):
        from db import db
        from newsletter.readers.models import Newsletter

        db.session.add(Newsletter(slug="ki-news", name="KI-News täglich", is_default=True))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, email text NOT NULL)"))
    engine.dispose()


def main() -> None:
    args = common.arguments(
        __doc__.splitlines()[0],
        [
            (["--rate"], {"type": float, "default": 300.0, "help": "requests per second"}),
            (["--seconds"], {"type": float, "default": None, "help": "duration (default 30, --quick 8)"}),
            (["--workers"], {"type": int, "default": WORKERS, "help": "gunicorn worker processes"}),
            (["--threads"], {"type": int, "default": THREADS, "help": "threads per worker (gthread)"}),
            (["--worker-class"], {"default": "gthread", "help": "gunicorn worker class (gthread, sync)"}),
            (["--rounds"], {"type": int, "default": None,
                            "help": "turns of Beitrag and baseline (default 5, --quick 2)"}),
        ],
    )
    seconds = args.seconds or (8.0 if args.quick else 30.0)
    args.rounds = args.rounds or (2 if args.quick else 5)
    count = int(args.rate * seconds)
    print(
        f"subscribe: {count} sign-ups at {args.rate:.0f}/s for {seconds:.0f} s; gunicorn"
        f" {args.workers} {args.worker_class} workers x {args.threads} threads; {common.machine()}"
    )

    with common.postgres_database() as database_url, common.redis_server() as redis_url:
        from sqlalchemy import create_engine, text

        prepare_database(database_url, redis_url)
        engine = create_engine(database_url)

        with contextlib.ExitStack() as stack:
            instance = stack.enter_context(tempfile.TemporaryDirectory(prefix="beitrag-bench-subscribe-"))
            env = {
                "BEITRAG_ENV": "production",
                "BEITRAG_INSTANCE": instance,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
                "BASE_URL": "http://127.0.0.1",
                "SMTP_URL": "smtp://127.0.0.1:1",
                "SUBSCRIBE_RATE_LIMIT": "1000000 per minute",  # one client IP sends every request
            }
            port, master = stack.enter_context(
                gunicorn("app:create_app()", env, args.workers, args.threads, args.worker_class)
            )
            base_port, base_master = stack.enter_context(
                gunicorn("bench.subscribe_baseline:create_app()", {"BENCH_DATABASE_URL": database_url},
                         args.workers, args.threads, args.worker_class)
            )  # fmt: skip
            page = urllib.request.urlopen(f"http://127.0.0.1:{port}/subscribe", timeout=5).read().decode()
            token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page).group(1)
            bodies = [
                urllib.parse.urlencode(
                    {
                        "email": f"bench{i}@example.org",
                        "newsletters": "ki-news",
                        "language": "de",
                        "form_token": token,
                        "source": "bench",
                    }
                ).encode()
                for i in range(count)
            ]
            base_bodies = [
                urllib.parse.urlencode({"email": f"base{i}@example.org"}).encode() for i in range(count)
            ]
            # A short warm-up on other addresses, so that every worker has its connections.
            warm = int(args.rate)
            run_load(port, [b.replace(b"bench", b"warm", 1) for b in bodies[:warm]], args.rate)
            run_load(base_port, [b.replace(b"base", b"warm", 1) for b in base_bodies[:warm]], args.rate)
            # Beitrag and the baseline take turns, a slice of the load each, so that a neighbour who comes
            # and goes during the run weighs on both alike; the CPU ratio is the median of the turns'.
            rounds = []
            step = -(-count // args.rounds)
            for start in range(0, count, step):
                part = slice(start, start + step)
                rounds.append((
                    run_load(port, bodies[part], args.rate, master, offset=start),
                    run_load(base_port, base_bodies[part], args.rate, base_master, offset=start),
                ))  # fmt: skip
            beitrag = merge_rounds([mine for mine, _ in rounds])
            baseline = merge_rounds([theirs for _, theirs in rounds])
            turn_ratios = sorted(
                round(mine["cpu_ms_per_request"] / theirs["cpu_ms_per_request"], 2)
                for mine, theirs in rounds
                if mine["cpu_ms_per_request"] and theirs["cpu_ms_per_request"]
            )

        with engine.connect() as conn:
            query = text("SELECT email FROM subscribers WHERE email LIKE 'bench%@example.org'")
            stored_addresses = set(conn.execute(query).scalars())
        engine.dispose()

    accepted = len(beitrag["accepted_indexes"])
    accepted_stored = sum(f"bench{i}@example.org" in stored_addresses for i in beitrag["accepted_indexes"])
    shed_stored = sum(f"bench{i}@example.org" in stored_addresses for i in beitrag["shed_indexes"])
    lost = accepted - accepted_stored
    for name, result in (("beitrag ", beitrag), ("baseline", baseline)):
        print(
            f"{name}: every answer p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms; accepted p99"
            f" {result['accepted_p99_ms']} ms; shed {result['shed']}, errors {result['errors']},"
            f" statuses {result['statuses']}, {result['cpu_ms_per_request']} ms worker CPU per answer,"
            f" {result['generator_cpu_ms_per_request']} ms load-generator CPU per request,"
            f" load average after {result['load_average']}"
        )
    print(
        f"accepted {accepted}, of them stored {accepted_stored} (lost {lost}); shed {beitrag['shed']},"
        f" of them stored {shed_stored}; stored in all {len(stored_addresses)}"
    )
    overload = args.rate > SHED_FREE_RATE
    goal_p99 = GOAL_OVERLOAD_P99_MS if overload else GOAL_P99_MS
    cpu_ratio = turn_ratios[len(turn_ratios) // 2] if turn_ratios else None
    met = (
        beitrag["p99_ms"] <= goal_p99
        and beitrag["errors"] == 0
        and lost == 0
        and shed_stored == 0
        and (overload or (beitrag["shed"] == 0 and cpu_ratio is not None and cpu_ratio <= GOAL_CPU_RATIO))
    )
    common.emit(
        {
            "bench": "subscribe",
            "size": {
                "rate": args.rate,
                "seconds": seconds,
                "requests": count,
                "workers": args.workers,
                "threads": args.threads,
                "worker_class": args.worker_class,
            },
            "p99_ms": beitrag["p99_ms"],
            "p50_ms": beitrag["p50_ms"],
            "accepted_p99_ms": beitrag["accepted_p99_ms"],
            "errors": beitrag["errors"],
            "shed": beitrag["shed"],
            "accepted": accepted,
            "accepted_stored": accepted_stored,
            "lost": lost,
            "shed_stored": shed_stored,
            "cpu_ms_per_request": beitrag["cpu_ms_per_request"],
            "generator_cpu_ms_per_request": beitrag["generator_cpu_ms_per_request"],
            "load_average": beitrag["load_average"],
            "baseline_p99_ms": baseline["p99_ms"],
            "baseline_cpu_ms_per_request": baseline["cpu_ms_per_request"],
            "baseline_p50_ms": baseline["p50_ms"],
            "ratio": round(beitrag["p99_ms"] / baseline["p99_ms"], 2) if baseline["p99_ms"] else None,
            "cpu_ratio": cpu_ratio,
            "cpu_ratio_turns": turn_ratios,
            "goal": {
                "p99_ms": goal_p99,
                "errors": 0,
                "lost": 0,
                "shed": None if overload else 0,
                "cpu_ratio": None if overload else GOAL_CPU_RATIO,
                "met": met,
            },
        }
    )


if __name__ == "__main__":
    main()
