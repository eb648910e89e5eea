"""SMTP: the only module that speaks it. ``SMTP_URL`` names the relay:

* ``smtp://host:25`` plain (or STARTTLS when the server offers it and ``?starttls=1``),
* ``smtp+starttls://user:password@host:587`` STARTTLS, required,
* ``smtps://user:password@host:465`` TLS from the first byte.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_TIMEOUT = 30.0


class DeliveryError(RuntimeError):
    """A message was not accepted. ``temporary`` says whether trying again later can help."""

    def __init__(self, message: str, *, code: int | None = None, temporary: bool):
        super().__init__(message)
        self.code = code
        self.temporary = temporary


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


def connect(target: SMTPTarget) -> smtplib.SMTP:
    """An open, greeted and (if configured) authenticated connection."""
    context = ssl.create_default_context()
    try:
        if target.security == "tls":
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                target.host, target.port, timeout=target.timeout, context=context
            )
        else:
            conn = smtplib.SMTP(target.host, target.port, timeout=target.timeout)
        conn.ehlo()
        if target.security == "starttls":
            conn.starttls(context=context)
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
