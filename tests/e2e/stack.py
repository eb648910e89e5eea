"""The running product for the browser tests: the app under gunicorn, an RQ worker and the clock as real
processes (the Procfile's roles), against the test database and Redis, with a real SMTP capture, the
Stripe stand-in and a loopback feed server beside them. Everything is started once and stopped by the
process ids started here (never by name).

Other tests of real processes choose what differs: the app factory string (test-only settings), gunicorn's
workers and threads, and which of the roles run (``tests/payments/test_replay.py``: two workers of 16
threads and a worker, no clock)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.feedserver import FeedServer
from tests.support.processes import ROOT
from tests.support.smtp import SMTPCapture, free_port
from tests.support.stripe_api import SECRET_KEY, WEBHOOK_SECRET, StripeStandIn

BIN = Path(sys.executable).parent
# Settings only a test may make (they are not read from the environment): the feed server on loopback.
FACTORY = "app:create_app({'FEED_ALLOWED_LOOPBACK': ('127.0.0.1',)})"


@dataclass
class Process:
    name: str
    args: list[str]
    log: Path
    popen: subprocess.Popen | None = None

    def start(self, env: dict[str, str]) -> None:
        with open(self.log, "wb") as log:
            self.popen = subprocess.Popen(
                self.args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self) -> None:
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait()

    def tail(self, chars: int = 3000) -> str:
        return f"--- {self.name} ---\n" + self.log.read_text(errors="replace")[-chars:]


@dataclass
class Stack:
    """What a browser test talks to. ``base_url`` is the web server; ``smtp`` holds every mail sent."""

    database_url: str
    redis_url: str
    folder: Path
    smtp: SMTPCapture = field(default_factory=SMTPCapture)
    stripe: StripeStandIn = field(default_factory=StripeStandIn)
    feeds: FeedServer = field(default_factory=FeedServer)
    port: int = field(default_factory=free_port)
    processes: list[Process] = field(default_factory=list)
    factory: str = FACTORY
    web_workers: int = 1
    web_threads: int = 6
    roles: tuple[str, ...] = ("web", "worker", "clock")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "BEITRAG_ENV": "production",  # as deployed: no development shortcuts, secret key required
            "BEITRAG_INSTANCE": str(self.folder / "instance"),
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SMTP_URL": self.smtp.url,
            "BASE_URL": self.base_url,
            "SECRET_KEY": "e2e-secret-key-that-is-long-enough-0123456789",
            "STRIPE_SECRET_KEY": SECRET_KEY,
            "STRIPE_PUBLISHABLE_KEY": "pk_test_beitrag_standin",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_API_BASE": self.stripe.url,
            "DONATION_FEE_PERCENT": "1.5",  # the fee a donor may cover: 1.5 % plus 25 cents
            "DONATION_FEE_FIXED_CENTS": "25",
            "SEND_SWEEP_SECONDS": "2",
            "DIGEST_SWEEP_SECONDS": "1",
            # A recognised charity: the preference center offers Zuwendungsbestätigungen.
            "CHARITY_NAME": "KI-Kompass gGmbH",
            "CHARITY_ADDRESS": "Musterstraße 12, 10115 Berlin",
            "CHARITY_TAX_OFFICE": "Berlin für Körperschaften I",
            "CHARITY_TAX_NUMBER": "27/601/12345",
            "CHARITY_EXEMPTION_DATE": "2025-03-14",
            "CHARITY_PURPOSE": "Förderung der Bildung",
            "BANK_IBAN": "DE89 3704 0044 0532 0130 00",  # gifts by transfer (test_bank_transfer_journey)
            "BANK_RECIPIENT": "KI-Kompass gUG",
            "PYTHONUNBUFFERED": "1",
        }

    def start(self) -> Stack:
        self.smtp.start()
        self.stripe.start()
        self.stripe.webhook_url = f"{self.base_url}/webhooks/stripe"
        self.feeds.start()
        env = self.env()
        flask = [str(BIN / "flask"), "--app", self.factory]
        commands = {
            "web": [str(BIN / "gunicorn"), "-c", "python:newsletter.platform.gunicorn_config",
                    "--bind", f"127.0.0.1:{self.port}", "--worker-class", "gthread",
                    "--workers", str(self.web_workers), "--threads", str(self.web_threads),
                    "--access-logfile", "-", self.factory],
            "worker": [*flask, "newsletter", "worker"],
            "clock": [*flask, "newsletter", "clock"],
        }  # fmt: skip
        self.processes = [Process(role, commands[role], self.folder / f"{role}.log") for role in self.roles]
        try:
            for process in self.processes:
                process.start(env)
            self._wait_until_up()
        except BaseException:
            self.stop()  # no process outlives a stack that did not start (it would work another run's jobs)
            raise
        return self

    def _wait_until_up(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [p for p in self.processes if not p.alive()]
            if dead:
                raise RuntimeError("a process of the stack ended at start:\n" + self.logs())
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("the web server did not answer /healthz:\n" + self.logs())

    def logs(self) -> str:
        return "\n".join(p.tail() for p in self.processes)

    def log(self, role: str) -> str:
        """The whole log of one role (``web``, ``worker``, ``clock``)."""
        return (self.folder / f"{role}.log").read_text(errors="replace")

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        self.feeds.stop()
        self.stripe.stop()
        self.smtp.stop()

    # -- what tests read -------------------------------------------------------------------------

    def mail_to(self, address: str, subject: str, timeout: float = 30.0):
        """Wait for the message to ``address`` whose subject holds ``subject``: the journeys share one
        stack, so an editor's mailbox may also hold another journey's mail (a digest's draft notice)."""
        deadline = time.monotonic() + timeout
        while True:
            for r in list(self.smtp.received):
                if address.lower() in [t.lower() for t in r.rcpt_tos] and subject in r.message["Subject"]:
                    return r.message
            assert time.monotonic() < deadline, f"no mail to {address} about {subject!r}\n{self.logs()}"
            time.sleep(0.1)

    def mails_to(self, address: str, count: int = 1, timeout: float = 30.0):
        """Wait for ``count`` messages to ``address`` in the capture (the worker and the clock deliver)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [
                r.message
                for r in list(self.smtp.received)
                if address.lower() in [t.lower() for t in r.rcpt_tos]
            ]
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, (
                    f"{count} mail(s) to {address} expected, {len(found)} arrived\n{self.logs()}"
                )
                return found
            time.sleep(0.1)
