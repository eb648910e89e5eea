"""DKIM: the only module that imports ``dkim`` (dkimpy). A key is configured with ``DKIM_PRIVATE_KEY``
(a path to a PEM file, or the PEM text itself), ``DKIM_SELECTOR`` and ``DKIM_DOMAIN``; :func:`load_key`
checks all three at start-up, so a bad key stops the app with a message instead of unsigned mail later.

Every newsletter message and every transactional mail is signed relaxed/relaxed over the headers in
:data:`SIGNED_HEADERS` (both List-Unsubscribe headers included, as RFC 8058 asks).

dkimpy itself takes about 22 ms for a 100 KB message: two thirds in its pure-Python RSA, most of the rest
in regular expressions over the body. So :func:`sign` makes the same signature itself for a message with
CRLF line ends (every message Beitrag builds): the body canonicalized with plain bytes operations, the
RSA step in OpenSSL through ``cryptography``; about 1 ms. Anything else goes to dkimpy. The tests verify
every signed message with dkimpy's verifier.
"""

from __future__ import annotations

import base64
import hashlib
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import dkim
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from dkim import crypto as dkim_crypto
from dkim.canonicalization import Relaxed, correct_empty_body, strip_trailing_lines

SIGNED_HEADERS = (
    b"From", b"To", b"Subject", b"Date", b"Message-ID", b"MIME-Version", b"Content-Type",
    b"List-Id", b"List-Unsubscribe", b"List-Unsubscribe-Post",
)  # fmt: skip
MIN_KEY_BITS = 1024


class SigningError(ValueError):
    """The DKIM settings cannot be used; the message says which one and why."""


@dataclass(frozen=True)
class DKIMKey:
    selector: str
    domain: str
    private_key: bytes  # PEM

    def public_record(self) -> str:
        """The TXT record to publish at ``<selector>._domainkey.<domain>``."""
        return dns_record(self.private_key)


def _pem(value: str) -> bytes:
    text = value.strip()
    if text.startswith("-----BEGIN"):
        return text.encode("ascii", errors="replace")
    path = Path(text).expanduser()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SigningError(
            f"DKIM_PRIVATE_KEY names the file {text!r}, which cannot be read ({exc.strerror}). Give the "
            "path of a PEM private key or the PEM text itself."
        ) from None


def _label_ok(name: str) -> bool:
    labels = name.split(".")
    return all(
        0 < len(label) <= 63 and label.replace("-", "").replace("_", "").isalnum() and label.isascii()
        for label in labels
    )


def load_key(private_key: str, selector: str | None, domain: str | None) -> DKIMKey:
    """The checked key. Raises :class:`SigningError` for a missing selector or domain, an unreadable
    file, a key that is not an RSA private key in PEM form, or one shorter than 1024 bits."""
    if not selector or not _label_ok(selector):
        raise SigningError(
            f"DKIM_SELECTOR {selector!r} is missing or not a DNS label; set it to the selector of the "
            "published key, for example DKIM_SELECTOR=beitrag2026"
        )
    if not domain or "." not in domain or not _label_ok(domain):
        raise SigningError(f"DKIM_DOMAIN {domain!r} is missing or not a domain name, for example example.org")
    pem = _pem(private_key)
    try:
        parsed = dkim_crypto.parse_pem_private_key(pem)
    except (dkim_crypto.UnparsableKeyError, ValueError, TypeError, IndexError) as exc:
        raise SigningError(
            f"DKIM_PRIVATE_KEY is not an RSA private key in PEM form ({exc}). Generate one with "
            "`openssl genrsa -out dkim.pem 2048`."
        ) from None
    bits = parsed["modulus"].bit_length()
    if bits < MIN_KEY_BITS:
        raise SigningError(f"DKIM_PRIVATE_KEY has {bits} bits; receivers ignore keys below {MIN_KEY_BITS}.")
    key = DKIMKey(selector=selector, domain=domain.lower(), private_key=pem)
    try:
        sign(b"From: a@example.org\r\nSubject: check\r\n\r\nbody\r\n", key)
    except (dkim.DKIMException, ValueError, TypeError) as exc:
        raise SigningError(f"DKIM_PRIVATE_KEY cannot sign: {exc}") from None
    return key


def sign(message: bytes, key: DKIMKey) -> bytes:
    """``message`` with a ``DKIM-Signature`` header in front (relaxed/relaxed, rsa-sha256). dkimpy folds
    its header, like ours, with CRLF and indented continuation lines, so a message that was safe to put
    after DATA as it is (``mime.Skeleton.assemble``) stays so with its signature in front."""
    signed = _sign_crlf(message, key)
    if signed is not None:
        return signed
    signature = dkim.sign(
        message,
        key.selector.encode("ascii"),
        key.domain.encode("ascii"),
        key.private_key,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=list(SIGNED_HEADERS),
    )
    return signature + message


@lru_cache(maxsize=8)
def _rsa_key(pem: bytes):
    return serialization.load_pem_private_key(pem, password=None)


def _relaxed_body(body: bytes) -> bytes:
    """The relaxed body (RFC 6376 3.4.4), the same bytes as dkimpy's but by plain bytes operations: each
    run of spaces and tabs becomes one space, none is left at a line end, empty lines at the end go."""
    if b"\t" in body:
        body = body.replace(b"\t", b" ")
    while b"  " in body:  # each pass halves every run
        body = body.replace(b"  ", b" ")
    if b" \r\n" in body:
        body = body.replace(b" \r\n", b"\r\n")
    return correct_empty_body(strip_trailing_lines(body))


def _header_fields(head: bytes) -> list[tuple[bytes, bytes]] | None:
    """(name, value with its continuation lines) per header field; None for a block that is not one."""
    fields: list[list[bytes]] = []
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not fields:
                return None
            fields[-1][1] += b"\r\n" + line
        else:
            name, colon, value = line.partition(b":")
            if not colon or not name.strip():
                return None
            fields.append([name, value])
    return [(name, value) for name, value in fields]


def _chosen(fields: list[tuple[bytes, bytes]], names: list[bytes]) -> list[tuple[bytes, bytes]]:
    """The fields the signature covers, chosen as RFC 6376 5.4.2 says: for a name listed again, the next
    occurrence upwards from the bottom; a listed name that is absent covers nothing (it signs absence)."""
    chosen, below = [], {}
    for name in names:
        index = below.get(name, len(fields))
        while index > 0:
            index -= 1
            if fields[index][0].lower().rstrip() == name:
                chosen.append(fields[index])
                break
        below[name] = index
    return chosen


def _sign_crlf(message: bytes, key: DKIMKey) -> bytes | None:
    """The signed message, or None when it does not have CRLF line ends throughout and a header block
    that parses (dkimpy takes those)."""
    end = message.find(b"\r\n\r\n")
    line_ends = message.count(b"\r\n")
    if end < 0 or line_ends != message.count(b"\n") or line_ends != message.count(b"\r"):
        return None
    fields = _header_fields(message[:end])
    if fields is None:
        return None
    body_hash = base64.b64encode(hashlib.sha256(_relaxed_body(message[end + 4 :])).digest())
    names = [name.lower() for name in SIGNED_HEADERS]
    domain, selector = key.domain.encode("ascii"), key.selector.encode("ascii")
    value = b"".join([
        b" v=1; a=rsa-sha256; c=relaxed/relaxed; d=", domain, b";\r\n i=@", domain, b"; q=dns/txt;",
        b" s=", selector, b"; t=", str(int(time.time())).encode("ascii"), b";\r\n h=", b" : ".join(names[:5]),
        b" :\r\n ",
        b" : ".join(names[5:]), b";\r\n bh=", body_hash, b";\r\n b=",
    ])  # fmt: skip
    # What is signed: the covered fields, then this header with b= empty and no line end, all relaxed.
    covered = Relaxed.canonicalize_headers([*_chosen(fields, names), (b"DKIM-Signature", value)])
    data = b"".join(name + b":" + text for name, text in covered[:-1])
    data += covered[-1][0] + b":" + covered[-1][1].rstrip()
    signature = base64.b64encode(_rsa_key(key.private_key).sign(data, padding.PKCS1v15(), hashes.SHA256()))
    folded = b"\r\n ".join(signature[i : i + 72] for i in range(0, len(signature), 72))
    return b"DKIM-Signature:" + value + folded + b"\r\n" + message


def dns_record(private_pem: bytes) -> str:
    """``v=DKIM1; k=rsa; p=<base64 public key>`` for a PEM private key."""
    public = serialization.load_pem_private_key(private_pem, password=None).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode("ascii")
