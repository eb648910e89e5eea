"""Message bytes. Transactional mail (one message for one reader) is built here with the standard
library; newsletter sends get pre-encoded skeletons with per-recipient slots (the send path)."""

from __future__ import annotations

from collections.abc import Mapping
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from db import utcnow

from .rendering import RenderedEmail

# SMTP policy: CRLF line ends, lines folded below 78 characters, header values with CR or LF refused.
SMTP_POLICY = policy.SMTP.clone(max_line_length=78)


class HeaderInjection(ValueError):
    """A header value carried a line break or a NUL: refused, nothing is sent."""


def _check(value: str, name: str) -> str:
    if any(ch in value for ch in "\r\n\0"):
        raise HeaderInjection(f"the {name} header contains a line break")
    return value


def sender_domain(mail_from: str) -> str:
    return mail_from.rpartition("@")[2] or "localhost"


def build_transactional(
    rendered: RenderedEmail,
    *,
    sender_name: str,
    sender_address: str,
    to: str,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """A multipart/alternative message (text first, then HTML), as bytes ready for SMTP."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = Address(display_name=_check(sender_name, "From"), addr_spec=_check(sender_address, "From"))
    msg["To"] = _check(to, "To")
    msg["Subject"] = _check(rendered.subject, "Subject")
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = make_msgid(domain=sender_domain(sender_address))
    for name, value in (headers or {}).items():
        msg[_check(name, "name of a")] = _check(value, name)
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    return msg.as_bytes()
