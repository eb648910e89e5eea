"""DKIM for the tests: the selector and domain the test key signs for, and dkimpy's own verifier answering
from that key instead of DNS. The key itself and signing on are fixtures in tests/conftest.py."""

from __future__ import annotations

from email import message_from_bytes

import dkim

from newsletter.mail import signing

DKIM_DOMAIN = "ki-kompass.example"
DKIM_SELECTOR = "beitrag2026"


def dkim_results(raw: bytes, key: signing.DKIMKey) -> list[bool]:
    """dkimpy's own verifier on each ``DKIM-Signature`` of ``raw``, top first; its documented ``dnsfunc``
    hook answers with our public key records (the RSA one and, when the key has one, the Ed25519 one)."""
    records = {f"{name}.".encode(): record.encode("ascii") for name, record in key.public_records().items()}

    def dnsfunc(name, timeout=5):
        return records.get(name)

    def verify(checker: dkim.DKIM, index: int) -> bool:
        try:  # as dkim.verify does: a malformed or mismatching signature is a failed one
            return checker.verify(idx=index, dnsfunc=dnsfunc)
        except dkim.DKIMException:
            return False

    checker = dkim.DKIM(raw)
    count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    return [verify(checker, index) for index in range(count)]


def dkim_verifies(raw: bytes, key: signing.DKIMKey) -> bool:
    """Every signature the key makes is there (one, two with an Ed25519 key) and dkimpy verifies each."""
    results = dkim_results(raw, key)
    return len(results) == (1 if key.ed25519 is None else 2) and all(results)


def signed_headers(raw: bytes) -> set[str]:
    value = message_from_bytes(raw)["DKIM-Signature"]
    tags = dict(part.strip().split("=", 1) for part in "".join(value.split()).split(";") if "=" in part)
    return {name.lower() for name in tags["h"].split(":")}
