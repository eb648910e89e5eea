"""An SMTP server (aiosmtpd) that misbehaves on cue, for the relay fault tests.

``script`` holds what to do at the next DATA commands, one entry each: ``"accept"``, an SMTP reply such as
``"451 4.3.0 Try later"``, ``"close"`` (read the whole message, then drop the connection without
answering and without keeping the message), ``"keep-close"`` (keep the message, then drop the connection
before answering: the receiver has it, the sender cannot know) or ``"stall"`` (read it, never answer in
time, keep nothing). ``rcpt_script`` does the same for RCPT TO. Only kept messages are in the capture, so
it is what a receiver really took: a duplicate there is a duplicate a reader would see."""

from __future__ import annotations

import asyncio
import threading

from aiosmtpd.controller import Controller

from tests.support.smtp import Received, free_port


class FaultySMTP:
    def __init__(self, stall_seconds: float = 3.0) -> None:
        self.port = free_port()
        self.script: list[str] = []
        self.rcpt_script: list[str] = []
        self.received: list[Received] = []
        self.attempts = 0  # DATA commands seen
        self.connections = 0
        self.stall_seconds = stall_seconds
        self.lock = threading.Lock()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def url(self, **query) -> str:
        suffix = "?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else ""
        return f"smtp://127.0.0.1:{self.port}{suffix}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def recipients(self) -> list[str]:
        with self.lock:
            return sorted(r.rcpt_tos[0] for r in self.received)


class _Handler:
    def __init__(self, server: FaultySMTP):
        self.server = server

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.server.lock:
            self.server.connections += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.server.lock:
            action = self.server.rcpt_script.pop(0) if self.server.rcpt_script else "accept"
        if action != "accept":
            return action
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self.server.lock:
            self.server.attempts += 1
            action = self.server.script.pop(0) if self.server.script else "accept"
        if action in ("close", "keep-close"):
            if action == "keep-close":
                with self.server.lock:
                    self.server.received.append(
                        Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
                    )
            server.transport.close()
            return "250 never seen"
        if action == "stall":
            await asyncio.sleep(self.server.stall_seconds)
            return "451 4.4.2 Too late"
        if action != "accept":
            return action
        with self.server.lock:
            self.server.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 2.0.0 OK queued"
