"""``make run``: web server, RQ worker, clock and mail capture as child processes of one command.

Ctrl-C (or SIGTERM) stops all of them, then the embedded Redis server if this checkout runs one.
If any child dies, the others are stopped too, so a half-running stack never lingers. Once the web server
answers and a worker listens (and a moment later, after their start-up lines) the banner names every
process with its address and, when ``demo load`` left them, the staff passwords, so they come last.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import redis
from flask import Flask
from rq import Worker

from newsletter.platform import queues, redis_server

# Written by ``demo load`` (mode 0600) under the instance folder; the banner shows it.
DEMO_PASSWORDS_FILE = "demo-passwords.txt"
SETTLE_SECONDS = 1.5  # after web and worker are up: the other children's start-up lines come first


COMPANIONS = "beitrag.dev_companions"


@dataclass(frozen=True)
class Companion:
    """A further process of the development stack that a package asks for (the test checkout of
    payments): its name in the banner, its ``flask`` command, the settings every process gets with it,
    and its banner line."""

    name: str
    args: list[str]
    env: dict[str, str] = field(default_factory=dict)
    line: str = ""


def register_companion(app: Flask, prepare: Callable[[Flask, str], Companion | None]) -> None:
    """``prepare(app, base_url)`` is asked by ``dev run`` before it starts anything; None: not this time."""
    app.extensions.setdefault(COMPANIONS, []).append(prepare)


def companions(app: Flask, base_url: str) -> list[Companion]:
    found = (prepare(app, base_url) for prepare in app.extensions.get(COMPANIONS, []))
    return [companion for companion in found if companion is not None]


def demo_passwords_path(instance_path: str | Path) -> Path:
    return Path(instance_path) / DEMO_PASSWORDS_FILE


def banner(app: Flask, port: int, processes: Iterable[str], more: Mapping[str, str] | None = None) -> str:
    """What runs where, and how to sign in: every process with its address, the demo's staff passwords
    when their file is there."""
    base = f"http://127.0.0.1:{port}"
    url = app.config.get("REDIS_URL")
    where = redis_server.describe_url(url) if url else f"unix://{Path(app.instance_path) / 'redis.sock'}"
    names = set(processes)
    lines = ["", f"  Beitrag runs: {', '.join(sorted(names))}. Ctrl-C stops all of them."]
    rows = {
        "web": f"{base}/  (staff pages: {base}/staff/)",
        "worker": f"sends the mail and runs the queued jobs, from Redis at {where}",
        "clock": f"queues the periodic jobs (send sweep, bounce mailbox, outbox) in Redis at {where}",
        "mail capture": f"SMTP on 127.0.0.1:{app.config.get('MAIL_CAPTURE_PORT')}; the captured mail: "
        f"{base}/staff/dev/mail",
    }
    rows.update(more or {})
    lines += [f"    {name:<13} {text}" for name, text in rows.items() if name in names]
    path = demo_passwords_path(app.instance_path)
    try:
        accounts = [line for line in path.read_text().splitlines() if line.strip()]
    except OSError:
        accounts = []
    if accounts:
        lines.append(f"  Staff sign-in at {base}/staff/login (from {path}, readable only by you;")
        lines.append("  delete it once you have changed these passwords):")
        lines += [f"    {line}" for line in accounts]
    return "\n".join(lines) + "\n"


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _worker_listening(app: Flask) -> bool:
    """Whether a worker registered in Redis: it does so after its warm-up, just before "Listening on"."""
    try:
        return Worker.count(connection=queues.get_redis(app)) > 0
    except (redis.RedisError, OSError):
        return False


def _spawn(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", *args])  # noqa: S603


def run(app: Flask, port: int) -> int:
    embedded_redis = not os.environ.get("REDIS_URL")
    # Links in captured mail should open this very server: the children read BASE_URL from here.
    os.environ.setdefault("BASE_URL", f"http://127.0.0.1:{port}")
    children: dict[str, subprocess.Popen] = {}
    extra = companions(app, os.environ["BASE_URL"])
    for companion in extra:  # their settings first: every process below reads them
        os.environ.update(companion.env)
    for companion in extra:
        children[companion.name] = _spawn(companion.args)
    if app.config.get("MAIL_CAPTURE_VIEWER"):
        children["mail capture"] = _spawn(["dev", "mailcapture"])
    children["worker"] = _spawn(["newsletter", "worker"])
    children["clock"] = _spawn(["newsletter", "clock"])
    children["web"] = _spawn(["run", "--host", "127.0.0.1", "--port", str(port), "--reload", "--no-debugger"])
    print(f"\n  Starting {', '.join(children)} on http://127.0.0.1:{port} ...\n", flush=True)

    stopping = False

    def _stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    exit_code = 0
    shown_at: float | None = None  # when the banner is due: once web and worker are up
    started = time.monotonic()
    try:
        while not stopping:
            waited = time.monotonic() - started > 120
            if shown_at is None and ((_answers(port) and _worker_listening(app)) or waited):
                shown_at = time.monotonic() + SETTLE_SECONDS
            if shown_at is not None and shown_at <= time.monotonic():
                print(banner(app, port, children, {c.name: c.line for c in extra}), flush=True)
                shown_at = float("inf")
            for name, child in children.items():
                if child.poll() is not None:
                    print(
                        f"{name} stopped (exit code {child.returncode}); stopping the rest.", file=sys.stderr
                    )
                    exit_code = child.returncode or 1
                    stopping = True
                    break
            time.sleep(0.3)
    finally:
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        deadline = time.monotonic() + 10
        for child in children.values():
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if embedded_redis:
            redis_server.stop_embedded_redis(Path(app.instance_path))
        print("Stopped.", flush=True)
    return exit_code
