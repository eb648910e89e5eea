"""DKIM for the tests: the selector and domain the test key signs for, and dkimpy's own verifier answering
from that key instead of DNS. The key itself and signing on are fixtures in tests/conftest.py."""

from __future__ import annotations

from email import message_from_bytes

import dkim

from newsletter.mail import signing

DKIM_DOMAIN = "ki-kompass.example"
DKIM_SELECTOR = "beitrag2026"


def dkim_verifies(raw: bytes, key: signing.DKIMKey) -> bool:
    """dkimpy's own verifier; its documented ``dnsfunc`` hook answers with our public key record."""
    record = key.public_record().encode("ascii")

    def dnsfunc(name, timeout=5):
        return record if name == f"{key.selector}._domainkey.{key.domain}.".encode() else None

    return dkim.verify(raw, dnsfunc=dnsfunc)


def signed_headers(raw: bytes) -> set[str]:
    value = message_from_bytes(raw)["DKIM-Signature"]
    tags = dict(part.strip().split("=", 1) for part in "".join(value.split()).split(";") if "=" in part)
    return {name.lower() for name in tags["h"].split(":")}
