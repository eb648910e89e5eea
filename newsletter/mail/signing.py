"""DKIM: the only module that imports ``dkim`` (dkimpy). A key is configured with ``DKIM_PRIVATE_KEY``
(a path to a PEM file, or the PEM text itself), ``DKIM_SELECTOR`` and ``DKIM_DOMAIN``; :func:`load_key`
checks all three at start-up, so a bad key stops the app with a message instead of unsigned mail later.

Optionally a second signature beside the RSA one, ed25519-sha256 (RFC 8463), with ``DKIM_ED25519_KEY``
(a PEM file or text from ``openssl genpkey -algorithm ed25519``, or dkimpy's base64 form) under its own
``DKIM_ED25519_SELECTOR``. Receivers that know Ed25519 check it; the others ignore it and check the RSA
one, which is why Ed25519 comes only beside RSA, never alone.

Every newsletter message and every transactional mail is signed relaxed/relaxed over the headers in
:data:`SIGNED_HEADERS` (both List-Unsubscribe headers included, as RFC 8058 asks), each listed once more
than the message has it (:func:`oversigned`): a copy of such a header put in front on the way then breaks
the signature instead of being shown to the reader as the real one.

Newsletter messages assembled from a skeleton are signed by :mod:`newsletter.mail.dkim_fast` (the same
signature, without canonicalising the 100 KB body per reader); dkimpy signs everything else here and is
the verifier in the tests.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from dkim import crypto as dkim_crypto

from newsletter.platform.settings import ConfigError

SIGNED_HEADERS = (
    b"From", b"To", b"Subject", b"Date", b"Message-ID", b"MIME-Version", b"Content-Type",
    b"List-Id", b"List-Unsubscribe", b"List-Unsubscribe-Post", b"Feedback-ID",
    # Transactional mail's RFC 3834 mark: with it signed (and listed once more) nobody on the way can
    # remove it or put a second one in front without breaking the signature; a newsletter, which has
    # none, cannot be given one.
    b"Auto-Submitted",
)  # fmt: skip
MIN_KEY_BITS = 1024


class SigningError(ValueError):
    """The DKIM settings cannot be used; the message says which one and why."""


@dataclass(frozen=True)
class Ed25519Key:
    selector: str
    seed: bytes = field(repr=False)  # the 32-byte private key (RFC 8032)

    def public_record(self) -> str:
        """The TXT record to publish at ``<selector>._domainkey.<domain>``: ``v=DKIM1; k=ed25519; p=...``
        with the 32-byte public key (RFC 8463 4.2), not a SubjectPublicKeyInfo."""
        public = ed25519.Ed25519PrivateKey.from_private_bytes(self.seed).public_key()
        raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "v=DKIM1; k=ed25519; p=" + base64.b64encode(raw).decode("ascii")


@dataclass(frozen=True)
class DKIMKey:
    selector: str
    domain: str
    private_key: bytes  # PEM
    ed25519: Ed25519Key | None = None  # a second signature, ed25519-sha256, when set

    def public_record(self) -> str:
        """The TXT record to publish at ``<selector>._domainkey.<domain>``."""
        return dns_record(self.private_key)

    def public_records(self) -> dict[str, str]:
        """Every TXT record to publish: ``{"<selector>._domainkey.<domain>": record}``, RSA first."""
        records = {f"{self.selector}._domainkey.{self.domain}": self.public_record()}
        if self.ed25519 is not None:
            records[f"{self.ed25519.selector}._domainkey.{self.domain}"] = self.ed25519.public_record()
        return records


def _pem(value: str, setting: str = "DKIM_PRIVATE_KEY") -> bytes:
    text = value.strip()
    if text.startswith("-----BEGIN"):
        return text.encode("ascii", errors="replace")
    path = Path(text).expanduser()
    try:
        return path.read_bytes()
    except OSError as exc:
        raise SigningError(
            f"{setting} names the file {text!r}, which cannot be read ({exc.strerror}). Give the "
            "path of a PEM private key or the PEM text itself."
        ) from None


_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def _ed25519_seed(value: str) -> bytes:
    """The 32-byte private key from ``DKIM_ED25519_KEY``: PEM (``openssl genpkey -algorithm ed25519``) or
    dkimpy's base64 form (``dknewkey --ktype ed25519``), as text or in a file."""
    text = value.strip()
    as_is = _BASE64.fullmatch(text) is not None and not Path(text).exists()
    raw = text.encode("ascii") if as_is else _pem(text, "DKIM_ED25519_KEY").strip()
    if raw.startswith(b"-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(raw, password=None)
        except (ValueError, TypeError) as exc:
            raise SigningError(f"DKIM_ED25519_KEY is not a PEM private key ({exc}).") from None
        if not isinstance(key, ed25519.Ed25519PrivateKey):
            raise SigningError(
                "DKIM_ED25519_KEY is not an Ed25519 key. Generate one with "
                "`openssl genpkey -algorithm ed25519 -out dkim-ed25519.pem`."
            )
        return key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
    try:
        seed = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        seed = b""
    if len(seed) != 32:
        raise SigningError(
            "DKIM_ED25519_KEY is neither a PEM private key nor 32 bytes in base64. Generate one with "
            "`openssl genpkey -algorithm ed25519 -out dkim-ed25519.pem`."
        )
    return seed


def _label_ok(name: str) -> bool:
    labels = name.split(".")
    return all(
        0 < len(label) <= 63 and label.replace("-", "").replace("_", "").isalnum() and label.isascii()
        for label in labels
    )


def load_key(
    private_key: str,
    selector: str | None,
    domain: str | None,
    ed25519_key: str | None = None,
    ed25519_selector: str | None = None,
) -> DKIMKey:
    """The checked key. Raises :class:`SigningError` for a missing selector or domain, an unreadable
    file, a key that is not an RSA private key in PEM form, or one shorter than 1024 bits; with
    ``ed25519_key``, also for one that is not Ed25519 or a selector that is missing or the RSA one."""
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
    try:  # OpenSSL's full check (primes, exponents), once here: the send path's signer then skips it
        serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"DKIM_PRIVATE_KEY is not a consistent RSA private key ({exc}).") from None
    second = None
    if ed25519_key:
        if not ed25519_selector or not _label_ok(ed25519_selector) or ed25519_selector == selector:
            raise SigningError(
                f"DKIM_ED25519_SELECTOR {ed25519_selector!r} is missing, not a DNS label or the RSA key's "
                "selector; each key needs a selector of its own, for example DKIM_ED25519_SELECTOR=ed2026"
            )
        second = Ed25519Key(selector=ed25519_selector, seed=_ed25519_seed(ed25519_key))
    elif ed25519_selector:
        raise SigningError("DKIM_ED25519_SELECTOR is set but DKIM_ED25519_KEY is not; set both or neither")
    key = DKIMKey(selector=selector, domain=domain.lower(), private_key=pem, ed25519=second)
    try:
        sign(b"From: a@example.org\r\nSubject: check\r\n\r\nbody\r\n", key)
    except (dkim.DKIMException, ValueError, TypeError) as exc:
        raise SigningError(f"DKIM_PRIVATE_KEY cannot sign: {exc}") from None
    return key


def key_from_config(config: Mapping[str, Any]) -> DKIMKey | None:
    """The key the settings name (``DKIM_PRIVATE_KEY``, ``DKIM_SELECTOR``, ``DKIM_DOMAIN``, and the
    optional ``DKIM_ED25519_KEY`` and ``DKIM_ED25519_SELECTOR``), or None when
    none is set. Raises :class:`ConfigError` with the reason, so that a bad key stops the start."""
    if config.get("DKIM_KEY") is not None or not config.get("DKIM_PRIVATE_KEY"):
        if config.get("DKIM_KEY") is None and config.get("DKIM_ED25519_KEY"):
            raise ConfigError(
                "DKIM_ED25519_KEY is set but DKIM_PRIVATE_KEY is not: Ed25519 signs beside an RSA key, "
                "since many receivers check only RSA"
            )
        return config.get("DKIM_KEY")
    try:
        return load_key(
            config["DKIM_PRIVATE_KEY"], config.get("DKIM_SELECTOR"), config.get("DKIM_DOMAIN"),
            config.get("DKIM_ED25519_KEY"), config.get("DKIM_ED25519_SELECTOR"),
        )  # fmt: skip
    except SigningError as exc:
        raise ConfigError(str(exc)) from None


def oversigned(present: Iterable[bytes]) -> list[bytes]:
    """The ``h=`` list for a message whose header field names are ``present`` (in any case): each of
    :data:`SIGNED_HEADERS` as many times as the message has it, plus once. RFC 6376 (5.4.2) reads a name
    listed more often than it occurs as an empty field, so a receiver's check fails when one more is added."""
    counts = Counter(name.lower() for name in present)
    return [name for name in SIGNED_HEADERS for _ in range(counts[name.lower()] + 1)]


# A header field starts a line with its name and a colon; continuation lines start with a space or a tab.
_FIELD_NAME = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:")


def header_names(message: bytes) -> list[bytes]:
    """The field names of ``message``'s header, in order, as dkimpy reads them (CRLF or LF line ends)."""
    names = []
    for line in re.split(b"\r?\n", message):
        if not line:
            break
        match = _FIELD_NAME.match(line)
        if match is not None:
            names.append(match.group(1))
    return names


def sign(message: bytes, key: DKIMKey) -> bytes:
    """``message`` with a ``DKIM-Signature`` header in front (relaxed/relaxed, rsa-sha256), and with an
    Ed25519 key a second one below it (ed25519-sha256, the same ``h=``). Neither signs the other (no
    ``dkim-signature`` in ``h=``), so each is checked alone. dkimpy folds its header, like ours, with CRLF
    and indented continuation lines, so a message that was safe to put after DATA as it is
    (``mime.Skeleton.assemble``) stays so with its signatures in front."""
    include = oversigned(header_names(message))
    signature = dkim.sign(
        message,
        key.selector.encode("ascii"),
        key.domain.encode("ascii"),
        key.private_key,
        canonicalize=(b"relaxed", b"relaxed"),
        include_headers=include,
    )
    if key.ed25519 is not None:
        signature += dkim.sign(
            message,
            key.ed25519.selector.encode("ascii"),
            key.domain.encode("ascii"),
            base64.b64encode(key.ed25519.seed),
            signature_algorithm=b"ed25519-sha256",
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=include,
        )
    return signature + message


def dns_record(private_pem: bytes) -> str:
    """``v=DKIM1; k=rsa; p=<base64 public key>`` for a PEM private key."""
    public = serialization.load_pem_private_key(private_pem, password=None).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode("ascii")
