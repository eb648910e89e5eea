"""SMTP: the only module that speaks it. ``SMTP_URL`` names the relay:

* ``smtp://host:25`` plain (or STARTTLS when the server offers it and ``?starttls=1``),
* ``smtp+starttls://user:password@host:587`` STARTTLS, required,
* ``smtps://user:password@host:465`` TLS from the first byte.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import NoReturn
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_TIMEOUT = 30.0


class DeliveryError(RuntimeError):
    """A message was not accepted. ``temporary`` says whether trying again later can help."""

    def __init__(self, message: str, *, code: int | None = None, temporary: bool):
        super().__init__(message)
        self.code = code
        self.temporary = temporary


class DeliveryUncertain(DeliveryError):
    """The message went out whole (its closing dot written) but the server's answer never came: the
    relay may have accepted it. Sending it again may give the reader a second copy, so the caller decides
    (the send ledger records ``uncertain``)."""

    def __init__(self, message: str):
        super().__init__(message, temporary=False)


@dataclass(frozen=True)
class SMTPTarget:
    host: str
    port: int
    security: str  # "none", "starttls" or "tls"
    username: str | None = None
    password: str | None = None
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_url(cls, url: str) -> SMTPTarget:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        if parts.scheme == "smtps":
            security, port = "tls", 465
        elif parts.scheme == "smtp+starttls" or query.get("starttls") == ["1"]:
            security, port = "starttls", 587
        elif parts.scheme == "smtp":
            security, port = "none", 25
        else:
            raise ValueError(f"unsupported SMTP URL scheme {parts.scheme!r}")
        timeout = float(query["timeout"][0]) if "timeout" in query else DEFAULT_TIMEOUT
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or port,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            timeout=timeout,
        )


@cache
def _tls_context() -> ssl.SSLContext:
    """Made once per process: loading the system's CA certificates takes about 60 ms."""
    return ssl.create_default_context()


def connect(target: SMTPTarget) -> smtplib.SMTP:
    """An open, greeted and (if configured) authenticated connection."""
    try:
        if target.security == "tls":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                target.host, target.port, timeout=target.timeout, context=_tls_context()
            )
        else:
            conn = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
        # Without this, the small ".\r\n" after a message body waits for the server's delayed ACK (Nagle):
        # 40 ms a message on Linux.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.ehlo()
        if target.security == "starttls":
            conn.starttls(context=_tls_context())
            conn.ehlo()
        if target.username:
            conn.login(target.username, target.password or "")
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(f"the SMTP server refused the login: {exc.smtp_error!r}", code=exc.smtp_code,
                            temporary=False) from None  # fmt: skip
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(
            f"could not reach the SMTP server {target.host}:{target.port}: {exc}", temporary=True
        ) from None
    return conn


def send_message(target: SMTPTarget, mail_from: str, recipients: Sequence[str], message: bytes) -> str:
    """Send one message on a fresh connection; returns the server's reply to the message."""
    conn = connect(target)
    try:
        return send_on(conn, mail_from, recipients, message)
    finally:
        try:
            conn.quit()
        except (OSError, smtplib.SMTPException):
            conn.close()


def send_on(conn: smtplib.SMTP, mail_from: str, recipients: Sequence[str], message: bytes) -> str:
    """Send on an open connection. 4xx and dropped connections are temporary, 5xx are not."""
    try:
        code, reply = conn.mail(mail_from)
        if code >= 400:
            conn.rset()
            raise DeliveryError(f"sender refused: {code} {reply.decode(errors='replace')}", code=code,
                                temporary=code < 500)  # fmt: skip
        for rcpt in recipients:
            code, reply = conn.rcpt(rcpt)
            if code >= 400:
                conn.rset()
                raise DeliveryError(f"{rcpt} refused: {code} {reply.decode(errors='replace')}", code=code,
                                    temporary=code < 500)  # fmt: skip
        code, reply = conn.data(message)
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"{exc.smtp_code} {exc.smtp_error.decode(errors='replace')}", code=exc.smtp_code,
                            temporary=exc.smtp_code < 500) from None  # fmt: skip
    except (OSError, smtplib.SMTPServerDisconnected) as exc:
        raise DeliveryError(f"the connection to the SMTP server broke: {exc}", temporary=True) from None
    if code >= 400:
        raise DeliveryError(f"{code} {reply.decode(errors='replace')}", code=code, temporary=code < 500)
    return f"{code} {reply.decode(errors='replace')}"


_LINE_END = re.compile(rb"\r\n|\r|\n")
_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def _data_block(message: bytes, smtp_safe: bool) -> bytes:
    """The message as it goes after DATA, with the closing ``.`` line. ``smtp_safe`` messages (made by
    ``mime.Skeleton.assemble``, signed or not: CRLF only, no line starting with a dot) are taken as they
    are; anything else gets smtplib's treatment (line ends made CRLF, leading dots doubled), which reads
    the whole message."""
    if not smtp_safe:
        message = _LEADING_DOT.sub(b"..", _LINE_END.sub(b"\r\n", message))
    return message + (b".\r\n" if message.endswith(b"\r\n") else b"\r\n.\r\n")


def _plain_address(address: str) -> bool:
    """An address that can go between angle brackets as it is (what ``quoteaddr`` would make of it)."""
    return address.isascii() and address.isprintable() and not any(c in address for c in "<> ")


class Relay:
    """One SMTP connection reused for many messages, as a worker sends a batch.

    It connects on the first message, sends up to ``max_messages`` on the connection, then opens a new
    one; a broken connection or a 421 (the server closing) drops it, and the next message reconnects.
    When the server offers PIPELINING, MAIL, RCPT and DATA go out together (RFC 2920) and the message
    with its closing dot in one write: two round trips a message instead of four. :meth:`send` is
    :meth:`hand_over` and :meth:`reply` in one; a worker calls the halves apart to make the next message
    while the server judges this one. Use it as a context manager so the connection is closed politely."""

    def __init__(self, target: SMTPTarget, *, max_messages: int = 500):
        self.target = target
        self.max_messages = max_messages
        self.connections = 0
        self._conn: smtplib.SMTP | None = None
        self._pipelining = False
        self._sent = 0
        self._data_written = False  # the current message's closing dot has been written
        self._awaiting = False  # handed over, its reply not read yet

    def __enter__(self) -> Relay:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (OSError, smtplib.SMTPException):
                conn.close()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def send(self, mail_from: str, recipient: str, message: bytes, *, smtp_safe: bool = False) -> str:
        """The server's reply to an accepted message; :class:`DeliveryError` otherwise. ``smtp_safe``
        only for bytes from ``mime.Skeleton.assemble`` (and their DKIM-signed form): they go out as they
        are; any other message has its line ends and leading dots made safe first."""
        self.hand_over(mail_from, recipient, message, smtp_safe=smtp_safe)
        return self.reply()

    def hand_over(self, mail_from: str, recipient: str, message: bytes, *, smtp_safe: bool = False) -> None:
        """The first half of :meth:`send`: the envelope and the message written, the server's verdict not
        yet read. A refusal of the sender or the recipient, or a broken connection before the message went
        out, raises :class:`DeliveryError` here; otherwise :meth:`reply` must come next.

        The worker fills and signs the next reader's message between the two halves: the server reads
        and judges 100 KB meanwhile, so the signature costs the send no waiting time."""
        if self._awaiting:
            raise RuntimeError("the previous message's reply has not been read")
        if self._conn is None or self._sent >= self.max_messages:
            self.close()
            self._conn = connect(self.target)
            self._pipelining = self._conn.has_extn("pipelining")
            self.connections += 1
            self._sent = 0
        conn = self._conn
        self._data_written = False
        try:
            refusal = self._start(conn, mail_from, recipient, message, smtp_safe)
        except smtplib.SMTPResponseException as exc:
            refusal = exc.smtp_code, exc.smtp_error
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._broken(exc)
        if refusal is not None:
            self._refused(conn, *refusal)
        self._awaiting = True

    def reply(self) -> str:
        """The second half of :meth:`send`: the server's reply to the message :meth:`hand_over` wrote."""
        if not self._awaiting:
            raise RuntimeError("no message is waiting for its reply")
        self._awaiting = False
        conn = self._conn
        assert conn is not None
        try:
            code, reply = conn.getreply()
        except smtplib.SMTPResponseException as exc:
            code, reply = exc.smtp_code, exc.smtp_error
        except (OSError, smtplib.SMTPServerDisconnected) as exc:
            self._broken(exc)
        if code == 250:
            self._sent += 1
            return f"{code} {reply.decode(errors='replace')}"
        self._refused(conn, code, reply)

    def _broken(self, exc: BaseException) -> NoReturn:
        self._drop()
        self._awaiting = False
        if self._data_written:
            raise DeliveryUncertain(f"the connection broke after the message was sent, before the "
                                    f"server's answer: {exc}") from None  # fmt: skip
        raise DeliveryError(f"the connection to the SMTP server broke: {exc}", temporary=True) from None

    def _refused(self, conn: smtplib.SMTP, code: int, reply: bytes | str) -> NoReturn:
        text = f"{code} {reply.decode(errors='replace') if isinstance(reply, bytes) else reply}"
        if code == 421:
            self._drop()
        else:
            try:
                conn.rset()
            except (OSError, smtplib.SMTPException):
                self._drop()
        raise DeliveryError(text, code=code, temporary=code < 500)

    def _start(
        self, conn: smtplib.SMTP, mail_from: str, recipient: str, message: bytes, smtp_safe: bool
    ) -> tuple[int, bytes] | None:
        """MAIL, RCPT, DATA and the message; the first refusal's (code, reply), or None once the message
        with its closing dot is written."""
        if not (self._pipelining and _plain_address(mail_from) and _plain_address(recipient)):
            code, reply = conn.mail(mail_from)
            if code == 250:
                code, reply = conn.rcpt(recipient)
            if code in (250, 251):
                code, reply = conn.docmd("DATA")
                if code == 354:
                    conn.send(_data_block(message, smtp_safe))
                    self._data_written = True
                    return None
            return code, reply
        conn.send(f"MAIL FROM:<{mail_from}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode("ascii"))
        refusal = None
        for accepted in ((250,), (250, 251)):
            code, reply = conn.getreply()
            if code == 421:
                return code, reply  # the server is closing; the other replies never come
            if refusal is None and code not in accepted:
                refusal = (code, reply)
        code, reply = conn.getreply()  # to DATA
        if refusal is None and code == 354:
            conn.send(_data_block(message, smtp_safe))
            self._data_written = True
            return None
        if code == 354:
            # A server may say 354 although every recipient was refused (RFC 2920 asks it not to):
            # an empty message ends the transaction, refused for want of recipients.
            conn.send(b".\r\n")
            conn.getreply()
        return refusal or (code, reply)
