"""A real SMTP server for tests: aiosmtpd on a free loopback port, messages kept and parsed."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self.raw)


class _Handler:
    def __init__(self, capture: SMTPCapture):
        self.capture = capture

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.capture.lock:
            self.capture.connections += 1
        session.host_name = hostname
        if self.capture.pipelining:  # aiosmtpd reads pipelined commands but does not say so
            responses.insert(1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.capture.lock:
            refusal = self.capture.rcpt_replies.get(address)
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.capture.delay:
            await asyncio.sleep(self.capture.delay)
        with self.capture.lock:
            if self.capture.replies:
                return self.capture.replies.pop(0)
            for address in envelope.rcpt_tos:
                if address in self.capture.data_replies:
                    return self.capture.data_replies[address]
            self.capture.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
        return "250 OK"


class SMTPCapture:
    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Received] = []
        # Answers to give to the next DATA commands instead of accepting, e.g. "451 4.3.0 Try later".
        self.replies: list[str] = []
        self.connections = 0  # EHLO greetings seen: one per connection
        self.pipelining = False  # offer PIPELINING (RFC 2920) in the EHLO answer
        # Answers to RCPT TO for given addresses instead of accepting, e.g. {"x@example.org": "550 ..."}.
        self.rcpt_replies: dict[str, str] = {}
        # Answers at the end of DATA for messages to given addresses instead of accepting.
        self.data_replies: dict[str, str] = {}
        self.delay = 0.0  # seconds each message waits for its answer (a relay that takes its time)
        self.lock = threading.Lock()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [r.message for r in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                break
            time.sleep(0.02)
        return self.messages
