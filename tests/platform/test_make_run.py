"""``make run``'s stack (``flask dev run``): web server, worker, clock and mail capture start together on the
embedded defaults, serve the pages, and all stop on Ctrl-C, the embedded Redis server with them. The banner
naming every process and the demo's staff passwords comes after the processes' start-up lines."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.smtp import free_port

pytestmark = pytest.mark.slow  # the whole development stack as real processes

ROOT = Path(__file__).resolve().parents[2]


def _get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (loopback only)
        return response.status, response.read().decode()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_dev_stack_serves_and_stops_cleanly_on_ctrl_c(tmp_path):
    port, mail_port = free_port(), free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TEST_", "DATABASE_URL", "REDIS_URL", "SMTP_URL"))
    }
    env.update(BEITRAG_ENV="development", BEITRAG_INSTANCE=str(tmp_path), MAIL_CAPTURE_PORT=str(mail_port))
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    loaded = subprocess.run([*flask, "demo", "load", "--subscribers", "50"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    stack = subprocess.Popen([*flask, "dev", "run", "--port", str(port)], cwd=ROOT, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)  # fmt: skip
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(stack.stdout.readline, b"")), daemon=True)
    reader.start()
    try:
        # The banner comes once the web server answers and the worker listens: Ctrl-C only after it, as a
        # person would press it (the worker may come up after the web server).
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any(b"Beitrag runs: " in line for line in lines):
            time.sleep(0.3)
        status, home = _get(f"http://127.0.0.1:{port}/")
        assert status == 200, "the web server did not come up"
        assert "KI-Kompass" in home
        assert "Anmelden" in _get(f"http://127.0.0.1:{port}/staff/login")[1]
        # Without Stripe keys the donate page leads to the test checkout (tests/payments/test_demo_checkout).
        assert "Weiter zur Zahlung" in _get(f"http://127.0.0.1:{port}/spenden")[1]
        redis_pid = int((tmp_path / "redis.pid").read_text())
        assert _alive(redis_pid)
    finally:
        os.killpg(stack.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        stack.wait(timeout=30)
        reader.join(timeout=10)
    output = b"".join(lines).decode()
    assert "Stopped." in output, output
    banner = output.rindex("Beitrag runs: ")
    assert output.index("Listening on") < banner and output.index("Capturing mail on") < banner, output
    shown = output[banner:]
    for name in ("web", "worker", "clock", "mail capture", "test checkout"):
        assert f"\n    {name} " in shown, (name, shown)
    assert f"http://127.0.0.1:{port}/staff/" in shown and f"127.0.0.1:{mail_port}" in shown
    assert f"http://127.0.0.1:{port}/spenden: a test checkout, no money moves" in shown
    assert str(tmp_path / "demo-passwords.txt") in shown and "admin@example.org  password: " in shown
    time.sleep(0.5)
    assert not _alive(redis_pid)
    try:
        _get(f"http://127.0.0.1:{port}/")
        raise AssertionError("the web server still answers after Ctrl-C")
    except OSError:
        pass
