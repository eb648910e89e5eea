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

from markupsafe import Markup, escape

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


def _names(folder: Path) -> list[str]:
    """The captured messages' file names, newest first (the name starts with the time it arrived)."""
    if not folder.is_dir():
        return []
    return sorted((p.name for p in folder.iterdir() if _NAME.match(p.name)), reverse=True)


def list_messages(directory: str | Path, limit: int = 200) -> list[CapturedMessage]:
    folder = Path(directory)
    return [m for m in (read_message(folder, n) for n in _names(folder)[:limit]) if m is not None]


MAX_QUERY = 200  # characters of a search


@dataclass(frozen=True)
class MessagePage:
    messages: list[CapturedMessage]
    total: int  # messages that match, on all pages
    page: int
    pages: int


def _matches(folder: Path, name: str, words: list[str]) -> bool:
    """Whether every word is in the message's recipients or subject (its headers only are read)."""
    try:
        with open(folder / name, "rb") as fp:
            headers = BytesParser(policy=policy.default).parse(fp, headersonly=True)
    except FileNotFoundError:
        return False
    haystack = " ".join(
        str(headers.get(key, "")) for key in ("X-Captured-Rcpt-To", "To", "Subject")
    ).casefold()
    return all(word in haystack for word in words)


def find_messages(
    directory: str | Path, query: str = "", *, page: int = 1, per_page: int = 50
) -> MessagePage:
    """One page of the captured messages, newest first, that match ``query`` (words, all of which must be
    in the recipients or the subject), and how many match in all."""
    folder = Path(directory)
    names = _names(folder)
    words = (query or "")[:MAX_QUERY].casefold().split()
    if words:
        names = [n for n in names if _matches(folder, n, words)]
    pages = max(1, -(-len(names) // per_page))
    page = min(max(1, page), pages)
    shown = names[(page - 1) * per_page : page * per_page]
    messages = [m for m in (read_message(folder, n) for n in shown) if m is not None]
    return MessagePage(messages=messages, total=len(names), page=page, pages=pages)


# An http(s) address in text that is already HTML-escaped: it ends at white space, at a character that
# escaping turned into an entity (quotes, < and >), or at closing punctuation.
_URL = re.compile(r"https?://(?:(?!&#34;|&#39;|&lt;|&gt;)[^\s<>\"'])+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}"


def _link(match: re.Match) -> str:
    url = match.group(0)
    tail = ""
    while url and url[-1] in _TRAILING and not url.endswith("&amp;"):
        url, tail = url[:-1], url[-1] + tail
    if url.endswith("&amp"):  # the ";" of an entity taken off as punctuation: put it back
        url, tail = url + ";", tail[1:]
    return f'<a href="{url}" target="_blank" rel="noopener noreferrer">{url}</a>{tail}'


def text_with_links(text: str) -> Markup:
    """The text part for the viewer: escaped first, then every http(s) address made a link (no other
    scheme, so a ``javascript:`` in a message stays text)."""
    return Markup(_URL.sub(_link, str(escape(text or ""))))  # noqa: S704 (escaped above)


_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


def html_for_frame(html: str) -> str:
    """The HTML part with ``<base target="_blank">`` first in its head: the viewer's sandboxed frame opens
    the message's links in a new tab instead of inside the frame (which its policy would refuse)."""
    base = '<base target="_blank">'
    found = _HEAD.search(html or "")
    if found:
        return html[: found.end()] + base + html[found.end() :]
    return base + (html or "")


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
