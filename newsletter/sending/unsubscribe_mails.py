"""Unsubscribe requests mailed to the mailto half of ``List-Unsubscribe``. Every issue names
``mailto:<MAIL_UNSUBSCRIBE_ADDRESS>?subject=unsubscribe-<token>``, where ``<token>`` is the reader's signed
unsubscribe token (``readers.links``: reader, newsletter, issue, MAC under ``SECRET_KEY``). Mail programs
(Gmail, Outlook, Apple Mail) send that subject, usually with an empty body, to that address; the mailbox
poller reads it (``bounces.process_mailbox``) and the reader leaves exactly what the token names: one
newsletter, or everything.

The token is the only key: a guessed, forged, broken or foreign (another installation's) token, or a test
send's, changes nothing, and its mail is deleted like any other. Each request is applied once: its id
(Message-ID, else a hash of the bytes) is stored with the effect (``BounceEvent``), so a mail read again
after a crash between commit and delete, or delivered twice, changes nothing the second time; a second
request of the reader's own finds nothing left to leave. Plain functions; the caller commits."""

from __future__ import annotations

import contextlib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email import policy
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from typing import Any

from sqlalchemy.orm import Session

from newsletter.platform import tokens
from newsletter.readers import links, subscribers
from newsletter.readers.models import Subscriber
from newsletter.sending import bounces

SUBJECT_PREFIX = "unsubscribe-"
# What a token looks like (``links.unsubscribe_token``); the MAC decides whether it is one. A test send's
# token (``t-de-...``) matches too and is refused by the MAC check, like a forged one.
_REQUEST = re.compile(r"unsubscribe-([A-Za-z0-9_-]{1,80}\.[A-Za-z0-9_-]{20,40})", re.IGNORECASE)
_PARSER = BytesHeaderParser(policy=policy.compat32)


def mailto_address(config: Mapping[str, Any]) -> str | None:
    """The address of ``List-Unsubscribe``'s mailto half, or None for a header with the https link only.

    ``MAIL_UNSUBSCRIBE_ADDRESS`` when the newsroom set one; else ``unsubscribe@`` the sender's domain when
    a mailbox of its own is read for it (``UNSUBSCRIBE_MAILBOX_URL``); else, while the bounce mailbox is
    polled, ``bounces+unsubscribe@BOUNCE_DOMAIN``, which the ``bounces+*`` route delivers there. With no
    mailbox read, nobody would see the requests: a mailto that loses opt-outs is worse than none, since
    receivers then use the one-click https link (RFC 8058), which always works."""
    if config.get("MAIL_UNSUBSCRIBE_ADDRESS"):
        return config["MAIL_UNSUBSCRIBE_ADDRESS"]
    if config.get("UNSUBSCRIBE_MAILBOX_URL"):
        return f"unsubscribe@{config['MAIL_FROM'].rpartition('@')[2]}"
    if config.get("BOUNCE_MAILBOX_URL") and config.get("BOUNCE_DOMAIN"):
        return f"bounces+unsubscribe@{config['BOUNCE_DOMAIN']}"
    return None


@dataclass(frozen=True)
class Request:
    key: str  # the mail's own id: the request is applied once
    token: str


def _subject(raw: bytes) -> tuple[str, str]:
    headers = _PARSER.parsebytes(raw[:65536])
    subject = str(headers.get("Subject") or "")
    with contextlib.suppress(UnicodeError, LookupError, ValueError):  # else matched as it stands
        subject = str(make_header(decode_header(subject)))
    return subject[:500], str(headers.get("Message-ID") or "").strip()[:200]


def read_request(raw: bytes) -> Request | None:
    """The unsubscribe request in a mail from the mailbox (its subject names a token), or None for any
    other mail (a bounce, a complaint, an auto-reply), which the bounce reader then looks at."""
    subject, message_id = _subject(raw)
    match = _REQUEST.search(subject)
    if match is None:
        return None
    key = "unsubscribe:" + (message_id or hashlib.sha256(raw).hexdigest())
    return Request(key=key, token=match.group(1))


def apply_request(session: Session, request: Request, *, secret_key: str) -> bool:
    """Let the reader the token names leave what it names, once. True when a reader left something; False
    for an invalid token, a reader since erased, a request seen before or nothing left to leave."""
    try:
        subscriber_id, newsletter_id, issue_id = links.read_unsubscribe_link(secret_key, request.token)
    except tokens.TokenError:
        bounces.remember(session, request.key, "ignored", None)
        return False
    if not bounces.remember(session, request.key, "unsubscribe", None):
        return False  # this very mail was applied before (read again after a crash, or delivered twice)
    reader = session.get(Subscriber, subscriber_id)
    if reader is None:
        return False
    return subscribers.leave_newsletter(session, reader, newsletter_id, via="mail", issue_id=issue_id)
