"""The development mail capture: an SMTP server (aiosmtpd) that keeps every message as a file under
``instance/mail/``, and the reading side the staff viewer uses. Never used in production."""

from __future__ import annotations

import os
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

_NAME = re.compile(r"^[0-9]{10,}-[0-9a-f]{32}\.eml$")


@dataclass(frozen=True)
class CapturedMessage:
    name: str
    received_at: datetime
    sender: str
    recipients: str
    subject: str
    text: str | None
    html: str | None
    headers: list[tuple[str, str]]
    size: int


class CaptureHandler:
    """aiosmtpd handler: writes the message atomically (temp file, then rename) and answers 250."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.time_ns()}-{uuid.uuid4().hex}.eml"
        envelope_header = (
            f"X-Captured-Mail-From: {envelope.mail_from}\r\n"
            f"X-Captured-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode("utf-8", "replace")
        tmp = self.directory / (name + ".tmp")
        tmp.write_bytes(envelope_header + envelope.original_content)
        os.replace(tmp, self.directory / name)
        return "250 Message captured"


def serve(directory: str | Path, host: str = "127.0.0.1", port: int = 1025):
    """Start the capture server in a background thread; returns the aiosmtpd controller (``.stop()``)."""
    from aiosmtpd.controller import Controller

    controller = Controller(CaptureHandler(directory), hostname=host, port=port)
    controller.start()
    return controller


def list_messages(directory: str | Path, limit: int = 200) -> list[CapturedMessage]:
    folder = Path(directory)
    if not folder.is_dir():
        return []
    names = sorted((p.name for p in folder.iterdir() if _NAME.match(p.name)), reverse=True)[:limit]
    return [m for m in (read_message(folder, n) for n in names) if m is not None]


def read_message(directory: str | Path, name: str) -> CapturedMessage | None:
    if not _NAME.match(name):
        return None
    path = Path(directory) / name
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    return CapturedMessage(
        name=name,
        received_at=datetime.fromtimestamp(int(name.split("-", 1)[0]) / 1e9, tz=UTC),
        sender=str(msg.get("From", "")),
        recipients=str(msg.get("X-Captured-Rcpt-To", msg.get("To", ""))),
        subject=str(msg.get("Subject", "")),
        text=text_part.get_content() if text_part is not None else None,
        html=html_part.get_content() if html_part is not None else None,
        headers=[(k, str(v)) for k, v in msg.items() if not k.startswith("X-Captured-")],
        size=len(raw),
    )
