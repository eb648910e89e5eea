"""``make run``: web server, RQ worker, clock and mail capture as child processes of one command.

Ctrl-C (or SIGTERM) stops all of them, then the embedded Redis server if this checkout runs one.
If any child dies, the others are stopped too, so a half-running stack never lingers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flask import Flask

from newsletter.platform import redis_server


def _spawn(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "app", *args])  # noqa: S603


def run(app: Flask, port: int) -> int:
    embedded_redis = not os.environ.get("REDIS_URL")
    # Links in captured mail should open this very server: the children read BASE_URL from here.
    os.environ.setdefault("BASE_URL", f"http://127.0.0.1:{port}")
    children: dict[str, subprocess.Popen] = {}
    if app.config.get("MAIL_CAPTURE_VIEWER"):
        children["mail capture"] = _spawn(["dev", "mailcapture"])
    children["worker"] = _spawn(["newsletter", "worker"])
    children["clock"] = _spawn(["newsletter", "clock"])
    children["web"] = _spawn(["run", "--host", "127.0.0.1", "--port", str(port), "--reload", "--no-debugger"])
    print(f"\n  Beitrag runs on http://127.0.0.1:{port}  (staff: http://127.0.0.1:{port}/staff/)")
    print("  Ctrl-C stops the web server, the worker and the mail capture.\n", flush=True)

    stopping = False

    def _stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    exit_code = 0
    try:
        while not stopping:
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
