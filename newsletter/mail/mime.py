"""Message bytes. Transactional mail (one message for one reader) is built here with the standard
library; newsletter sends get pre-encoded skeletons with per-recipient slots (the send path)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape as html_escape
from typing import TYPE_CHECKING, Any

from db import utcnow
from newsletter.mail import dkim_fast
from newsletter.mail.rendering import RenderedEmail

if TYPE_CHECKING:
    from newsletter.mail.signing import DKIMKey

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
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> bytes:
    """A multipart/alternative message (text first, then HTML), as bytes ready for SMTP; with
    ``attachments`` (file name, content type, data) it is multipart/mixed with them after the text."""
    msg = EmailMessage(policy=SMTP_POLICY)
    msg["From"] = Address(display_name=_check(sender_name, "From"), addr_spec=_check(sender_address, "From"))
    if _NOT_ADDR_SPEC.search(_check(to, "To")):
        raise HeaderInjection("the recipient is not a plain address (spaces, brackets, commas or quotes)")
    msg["To"] = to
    msg["Subject"] = _check(rendered.subject, "Subject")
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = make_msgid(domain=sender_domain(sender_address))
    # RFC 3834: made by a program, not a person, so out-of-office and vacation responders stay silent
    # instead of answering a confirmation or a receipt. Signed and oversigned (``signing.SIGNED_HEADERS``).
    msg["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        msg[_check(name, "name of a")] = _check(value, name)
    msg.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for filename, content_type, data in attachments:
        maintype, _, subtype = content_type.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=_check(filename, "file name"))
    return msg.as_bytes()


# -- newsletter skeletons ------------------------------------------------------------------------------
#
# A newsletter variant is encoded once into a Skeleton: the header block and a multipart/alternative body
# (text first, then HTML), both quoted-printable. Per recipient only the slots are filled: four header
# values (To, Message-ID, Date, List-Unsubscribe) and the reader's links in the body. No email.message
# object and no MJML per recipient.
#
# Every slot stands on a line of its own (soft line breaks around it), so filling it never makes a line
# longer than the slot value, and the encoding of the rest never splits a slot. No line of a skeleton
# starts with "." (a leading dot is written as "=2E"), so the message needs no SMTP dot-stuffing.

HEADER_SLOTS = ("to", "message_id", "date", "list_unsubscribe")
# A second address or a display name smuggled into the To slot ("a@x.org>, <b@y.org") is refused.
_NOT_ADDR_SPEC = re.compile(r'[\s<>,;:"()\[\]\\]')
MAX_SLOT_LENGTH = 900  # well below SMTP's 998-character line limit
_SOFT_BREAK = b"=\r\n"


def _boundary() -> str:
    import secrets

    # "=_" can never occur in quoted-printable text, so the boundary cannot collide with the content.
    return f"=_beitrag_{secrets.token_hex(12)}"


def _qp(text: str) -> bytes:
    import binascii

    encoded = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True, header=False)
    encoded = encoded.replace(b"\n", b"\r\n").replace(b"\r\n.", b"\r\n=2E")
    return b"=2E" + encoded[1:] if encoded.startswith(b".") else encoded


def _body_parts(body: str, context: str, slot_tokens: Mapping[str, str]) -> list[bytes | tuple[str, str]]:
    import re

    body = body.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    by_token = {token: name for name, token in slot_tokens.items()}
    pieces = re.split("(" + "|".join(re.escape(t) for t in by_token) + ")", body) if by_token else [body]
    parts: list[bytes | tuple[str, str]] = []
    for index, piece in enumerate(pieces):
        if index % 2:
            if parts and isinstance(parts[-1], bytes) and not parts[-1].endswith(b"\r\n"):
                parts.append(_SOFT_BREAK)
            parts.append((by_token[piece], context))
            parts.append(_SOFT_BREAK)
        elif piece:
            parts.append(_qp(piece))
    return parts


# Bytes a slot value may hold to go into the message as it is, by where the slot stands. A value with
# anything else (a space or "=" in the body, markup characters in HTML, a control character, non-ASCII)
# takes the careful way, :func:`_encode_slot`, which encodes it or refuses it.
_PRINTABLE = bytes(range(0x20, 0x7F))
_AS_IS = {
    "header": _PRINTABLE,
    "text": _PRINTABLE.translate(None, b" ="),
    "html": _PRINTABLE.translate(None, b" =&<>\"'"),
}
_AS_IS_TO = bytes(b for b in _PRINTABLE if not _NOT_ADDR_SPEC.search(chr(b)))


class Skeleton:
    """One variant of one issue, encoded once; :meth:`assemble` makes a recipient's message bytes."""

    def __init__(self, parts: list[bytes | tuple[str, str]]):
        merged: list[bytes | tuple[str, str]] = []
        for part in parts:  # adjacent static parts are joined once here, not per recipient
            if isinstance(part, bytes) and merged and isinstance(merged[-1], bytes):
                merged[-1] += part
            else:
                merged.append(part)
        self.parts = tuple(merged)
        self.slots = tuple(dict.fromkeys(p for p in self.parts if isinstance(p, tuple)))
        self.static_size = sum(len(p) for p in self.parts if isinstance(p, bytes))
        # Per recipient: a copy of the static pieces, and for each slot name the places its value goes,
        # with the bytes it may hold there as it is (those allowed in every one of its places).
        self._template = [p if isinstance(p, bytes) else b"" for p in self.parts]
        plan: dict[str, tuple[bytes, list[tuple[int, tuple[str, str]]]]] = {}
        for index, part in enumerate(self.parts):
            if isinstance(part, tuple):
                name, context = part
                allowed = _AS_IS_TO if (name, context) == ("to", "header") else _AS_IS[context]
                previous, places = plan.get(name, (allowed, []))
                places.append((index, part))
                plan[name] = (bytes(b for b in previous if b in allowed), places)
        self._plan = tuple((name, allowed, tuple(places)) for name, (allowed, places) in plan.items())
        self._signers: dict[DKIMKey, Any] = {}

    def assemble(self, values: Mapping[str, str]) -> bytes:
        """The message for one recipient. ``values`` holds every slot name: ``to``, ``message_id``,
        ``date``, ``list_unsubscribe`` and the body slots (e.g. ``unsubscribe_url``). Raises
        :class:`HeaderInjection` for a value with a line break, a NUL or (in headers) non-ASCII text.

        The bytes go after SMTP's DATA as they are: every line ends in CRLF, none is longer than 998
        characters and none starts with a dot. The send path tells the relay so
        (``Relay.send(..., smtp_safe=True)``), which then skips its rescan and copy of 100 KB; they are
        plain ``bytes``, not a subclass, because making a subclass instance copies them once more."""
        return b"".join(self.pieces(values))

    def assemble_signed(self, values: Mapping[str, str], key: DKIMKey) -> bytes:
        """:meth:`assemble` with a DKIM signature in front, the same as ``signing.sign`` would put there,
        made by a signer prepared once per skeleton and key (``dkim_fast``): per recipient only the slot
        values and what follows them are hashed."""
        signer = self._signers.get(key)
        if signer is None:
            signer = self._signers[key] = dkim_fast.skeleton_signer(self, key)
        return signer.sign(values)

    def pieces(self, values: Mapping[str, str]) -> list[bytes]:
        """The message for one recipient before it is joined: piece ``i`` is ``parts[i]`` filled in."""
        pieces = self._template.copy()
        for name, allowed, places in self._plan:
            value = values[name]
            if value.isascii():
                raw = value.encode()
                # Nothing but allowed bytes, not too long, no leading dot: the same bytes in every place.
                if len(raw) <= MAX_SLOT_LENGTH and not raw.translate(None, allowed) and raw[:1] != b".":
                    for index, _slot in places:
                        pieces[index] = raw
                    continue
            for index, slot in places:
                pieces[index] = _encode_slot(value, slot)
        return pieces


def _encode_slot(value: str, slot: tuple[str, str]) -> bytes:
    name, context = slot
    # isprintable() is False for CR, LF, NUL, tabs and every other control character.
    if len(value) > MAX_SLOT_LENGTH or not value.isprintable():
        raise HeaderInjection(f"the value for {name} has a line break, a control character or is too long")
    if context == "header":
        if not value.isascii():
            raise HeaderInjection(f"the value for {name} is not ASCII")
        if name == "to" and _NOT_ADDR_SPEC.search(value):
            raise HeaderInjection("the recipient is not a plain address (spaces, brackets, commas or quotes)")
        return value.encode("ascii")
    if context == "html" and ("&" in value or "<" in value or ">" in value or '"' in value or "'" in value):
        value = html_escape(value, quote=True)
    raw = value.encode("utf-8")
    if raw.isascii() and b"=" not in raw and b" " not in raw and not raw.startswith(b"."):
        return raw
    # A body slot starts a line: a leading dot is encoded too, so the message needs no dot-stuffing.
    return b"".join(
        bytes((b,)) if 33 <= b <= 126 and b != 61 and (b != 46 or i) else f"={b:02X}".encode("ascii")
        for i, b in enumerate(raw)
    )


def build_skeleton(
    rendered: RenderedEmail,
    *,
    sender_name: str,
    sender_address: str,
    list_id: str,
    feedback_id: str,
    slot_tokens: Mapping[str, str],
    extra_headers: Mapping[str, str] | None = None,
) -> Skeleton:
    """Encode ``rendered`` once. ``slot_tokens`` maps body slot names to the placeholder strings the
    renderer left in the HTML and text (``rendering.SLOTS``)."""
    head = EmailMessage(policy=SMTP_POLICY)
    head["From"] = Address(display_name=_check(sender_name, "From"), addr_spec=_check(sender_address, "From"))
    head["Subject"] = _check(rendered.subject, "Subject")
    head["MIME-Version"] = "1.0"
    boundary = _boundary()
    head["Content-Type"] = f'multipart/alternative; boundary="{boundary}"'
    head["List-Id"] = _check(list_id, "List-Id")
    head["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    head["Feedback-ID"] = _check(feedback_id, "Feedback-ID")
    # An issue is written by people, so no Auto-Submitted (RFC 3834 keeps that for mail a program made;
    # readers' replies are welcome). Its List-Id and List-Unsubscribe already tell responders that follow
    # RFC 3834 (section 2) not to answer list mail; Precedence: bulk says the same to the older ones
    # (vacation, many out-of-office rules) that read only that field.
    head["Precedence"] = "bulk"
    for name, value in (extra_headers or {}).items():
        head[_check(name, "name of a")] = _check(value, name)
    static_headers = b"".join(SMTP_POLICY.fold_binary(name, value) for name, value in head.items())

    parts: list[bytes | tuple[str, str]] = [
        b"Date: ", ("date", "header"), b"\r\n",
        b"To: ", ("to", "header"), b"\r\n",
        b"Message-ID: ", ("message_id", "header"), b"\r\n",
        b"List-Unsubscribe: ", ("list_unsubscribe", "header"), b"\r\n",
        static_headers,
        b"\r\n",
    ]  # fmt: skip
    delimiter = f"--{boundary}\r\n".encode("ascii")
    for subtype, body in (("plain", rendered.text), ("html", rendered.html)):
        parts.append(delimiter)
        parts.append(
            f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode("ascii")
        )
        parts.extend(_body_parts(body, subtype if subtype == "html" else "text", slot_tokens))
        parts.append(b"\r\n")  # the line break before a boundary belongs to the boundary (RFC 2046)
    parts.append(f"--{boundary}--\r\n".encode("ascii"))
    return Skeleton(parts)
