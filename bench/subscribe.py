"""POST /subscribe under gunicorn at a fixed arrival rate (open loop), on PostgreSQL and Redis.

Starts a PostgreSQL database and a Redis server (bench/common.py), upgrades the schema, starts gunicorn
with Beitrag on a loopback port and sends sign-ups for distinct addresses on a fixed schedule, whatever the
latency (each request on its own connection; latency is measured from the scheduled send time, so a
stalled server cannot hide its queue). Then the same load against the baseline, a bare Flask + gunicorn
app that inserts one row (bench/subscribe_baseline.py). Afterwards every accepted address is counted in
the database.

The per-client-address rate limit would stop a flood from one IP, which is exactly what this load looks
like, so the run sets SUBSCRIBE_RATE_LIMIT to "1000000 per minute"; the per-e-mail limit and the daily
mail cap stay as configured (every address is new). SUBSCRIBE_MIN_SECONDS (the floor that makes new and
known addresses answer alike) stays at its default.

    python -m bench.subscribe [--quick] [--rate 300] [--seconds 30]
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

GOAL_P99_MS = 25.0
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
    requests = _requests(bodies)
    return [(status, latency) for status, latency, _ in common.open_loop(port, len(requests),
                                                                        requests.__getitem__, rate)]


def run_load(port: int, bodies: list[bytes], rate: float, master: int | None = None) -> dict:
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
    ok = [latency for status, latency in results if status == 200]
    errors = len(results) - len(ok)
    statuses: dict[int, int] = {}
    for status, _ in results:
        statuses[status] = statuses.get(status, 0) + 1
    summary = common.summary_ms(ok) if ok else {"p99_ms": float("inf"), "n": 0}
    answered = len(results) - statuses.get(0, 0)
    return {
        **summary,
        "errors": errors,
        "statuses": statuses,
        "achieved_rps": round(len(results) / elapsed, 1),
        # Per answered request: on a swamped machine requests the client gave up on were not all served.
        "cpu_ms_per_request": round(1000 * cpu / answered, 2) if cpu is not None and answered else None,
        "generator_cpu_ms_per_request": round(1000 * generator_cpu / len(results), 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main() -> None:
    args = common.arguments(
        __doc__.splitlines()[0],
        [
            (["--rate"], {"type": float, "default": 300.0, "help": "requests per second"}),
            (["--seconds"], {"type": float, "default": None, "help": "duration (default 30, --quick 8)"}),
            (["--workers"], {"type": int, "default": WORKERS, "help": "gunicorn worker processes"}),
            (["--threads"], {"type": int, "default": THREADS, "help": "threads per worker (gthread)"}),
            (["--worker-class"], {"default": "gthread", "help": "gunicorn worker class (gthread, sync)"}),
        ],
    )
    seconds = args.seconds or (8.0 if args.quick else 30.0)
    count = int(args.rate * seconds)
    print(
        f"subscribe: {count} sign-ups at {args.rate:.0f}/s for {seconds:.0f} s; gunicorn"
        f" {args.workers} {args.worker_class} workers x {args.threads} threads; {common.machine()}"
    )

    with common.postgres_database() as database_url, common.redis_server() as redis_url:
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

        with tempfile.TemporaryDirectory(prefix="beitrag-bench-subscribe-") as instance:
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
            server = gunicorn("app:create_app()", env, args.workers, args.threads, args.worker_class)
            with server as (port, master):
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
                # A short warm-up on other addresses, so that every worker has its connections.
                warm = [b.replace(b"bench", b"warm", 1) for b in bodies[: int(args.rate)]]
                run_load(port, warm, args.rate)
                beitrag = run_load(port, bodies, args.rate, master)

        baseline_env = {"BENCH_DATABASE_URL": database_url}
        target = "bench.subscribe_baseline:create_app()"
        with gunicorn(target, baseline_env, args.workers, args.threads, args.worker_class) as (port, master):
            bodies = [
                urllib.parse.urlencode({"email": f"base{i}@example.org"}).encode() for i in range(count)
            ]
            run_load(port, bodies[: int(args.rate)], args.rate)
            baseline = run_load(port, bodies, args.rate, master)

        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT count(*) FROM subscribers WHERE email LIKE 'bench%@example.org'")
            ).scalar_one()
        engine.dispose()

    accepted = beitrag["statuses"].get(200, 0)
    for name, result in (("beitrag ", beitrag), ("baseline", baseline)):
        print(
            f"{name}: p50 {result.get('p50_ms')} ms, p99 {result['p99_ms']} ms, errors {result['errors']}, "
            f"statuses {result['statuses']}, {result['cpu_ms_per_request']} ms worker CPU per request, "
            f"{result['generator_cpu_ms_per_request']} ms load-generator CPU per request, "
            f"load average after {result['load_average']}"
        )
    print(f"accepted {accepted}, stored {stored}")
    met = beitrag["p99_ms"] <= GOAL_P99_MS and beitrag["errors"] == 0 and stored == accepted == count
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
            "p50_ms": beitrag.get("p50_ms"),
            "errors": beitrag["errors"],
            "accepted": accepted,
            "stored": stored,
            "cpu_ms_per_request": beitrag["cpu_ms_per_request"],
            "generator_cpu_ms_per_request": beitrag["generator_cpu_ms_per_request"],
            "load_average": beitrag["load_average"],
            "baseline_p99_ms": baseline["p99_ms"],
            "baseline_cpu_ms_per_request": baseline["cpu_ms_per_request"],
            "baseline_p50_ms": baseline.get("p50_ms"),
            "ratio": round(beitrag["p99_ms"] / baseline["p99_ms"], 2) if baseline["p99_ms"] else None,
            "goal": {"p99_ms": GOAL_P99_MS, "errors": 0, "every_accepted_stored": True, "met": met},
        }
    )


if __name__ == "__main__":
    main()
