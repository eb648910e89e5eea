"""The mailboxes Beitrag reads (bounces, mailed unsubscribe requests): the only module that speaks IMAP or
POP3. ``BOUNCE_MAILBOX_URL`` (and ``UNSUBSCRIBE_MAILBOX_URL``) names one::

    imaps://user:password@mail.example.org/INBOX     IMAP over TLS (port 993); the folder is the path
    imap://user:password@127.0.0.1:1143/INBOX        plain IMAP (a local server only)
    pop3s://user:password@mail.example.org           POP3 over TLS (port 995)
    pop3://user:password@127.0.0.1:1110              plain POP3

:func:`process` hands every message to a callback and deletes it only after the callback returned (the
caller commits its effect there first), so a crash between the two leaves the message for the next poll,
whose effect is then a no-op (``sending.bounces`` and ``sending.unsubscribe_mails`` remember each message).
"""

from __future__ import annotations

import contextlib
import imaplib
import poplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DEFAULT_TIMEOUT = 30.0


class MailboxError(RuntimeError):
    """The mailbox could not be read; the message names the server (never the password)."""


@dataclass(frozen=True)
class MailboxTarget:
    protocol: str  # "imap" or "pop3"
    tls: bool
    host: str
    port: int
    username: str
    password: str
    folder: str = "INBOX"
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_url(cls, url: str) -> MailboxTarget:
        parts = urlsplit(url)
        ports = {"imap": 143, "imaps": 993, "pop3": 110, "pop3s": 995}
        if parts.scheme not in ports:
            raise MailboxError(f"unsupported mailbox URL scheme {parts.scheme!r}")
        if not parts.hostname or not parts.username:
            raise MailboxError("the mailbox URL needs a user and a host, e.g. imaps://user:pass@host/INBOX")
        return cls(
            protocol=parts.scheme.removesuffix("s"),
            tls=parts.scheme.endswith("s"),
            host=parts.hostname,
            port=parts.port or ports[parts.scheme],
            username=unquote(parts.username),
            password=unquote(parts.password or ""),
            folder=unquote(parts.path.strip("/")) or "INBOX",
        )

    def describe(self) -> str:
        return f"{self.protocol}{'s' if self.tls else ''}://{self.username}@{self.host}:{self.port}"


def process(target: MailboxTarget, handle: Callable[[bytes], None], *, limit: int = 500) -> int:
    """Read up to ``limit`` messages, call ``handle(raw)`` for each and then delete it. Returns how many
    were handled. A handler that raises leaves its message (and the rest) in the mailbox."""
    try:
        if target.protocol == "imap":
            return _process_imap(target, handle, limit)
        return _process_pop3(target, handle, limit)
    except (OSError, imaplib.IMAP4.error, poplib.error_proto) as exc:
        raise MailboxError(f"the mailbox {target.describe()} could not be read: {exc}") from None


def _process_imap(target: MailboxTarget, handle: Callable[[bytes], None], limit: int) -> int:
    if target.tls:
        conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(
            target.host, target.port, ssl_context=ssl.create_default_context(), timeout=target.timeout
        )
    else:
        conn = imaplib.IMAP4(target.host, target.port, timeout=target.timeout)
    handled = 0
    try:
        conn.login(target.username, target.password)
        status, _ = conn.select(_quote(target.folder))
        if status != "OK":
            raise MailboxError(f"the folder {target.folder!r} cannot be opened on {target.describe()}")
        _, data = conn.uid("SEARCH", None, "UNDELETED")
        for uid in (data[0] or b"").split()[:limit]:
            status, fetched = conn.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in fetched if isinstance(item, tuple)), None)
            if status != "OK" or raw is None:
                continue
            handle(raw)
            conn.uid("STORE", uid, "+FLAGS.SILENT", r"(\Deleted)")
            handled += 1
        if handled:
            conn.expunge()
        conn.close()
    finally:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):
            conn.logout()
    return handled


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _process_pop3(target: MailboxTarget, handle: Callable[[bytes], None], limit: int) -> int:
    if target.tls:
        conn: poplib.POP3 = poplib.POP3_SSL(
            target.host, target.port, context=ssl.create_default_context(), timeout=target.timeout
        )
    else:
        conn = poplib.POP3(target.host, target.port, timeout=target.timeout)
    handled = 0
    try:
        conn.user(target.username)
        conn.pass_(target.password)
        count, _ = conn.stat()
        for number in range(1, min(count, limit) + 1):
            _, lines, _ = conn.retr(number)
            handle(b"\r\n".join(lines) + b"\r\n")
            conn.dele(number)
            handled += 1
        conn.quit()  # POP3 deletes only on QUIT: a broken session deletes nothing
    except BaseException:
        conn.close()
        raise
    return handled
