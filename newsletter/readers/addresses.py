"""Addresses: how an address is checked and normalised, its hash, and the suppression list (addresses
no newsletter may mail again). Plain functions; the caller owns the transaction."""

from __future__ import annotations

import functools
import hashlib
import re

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from sqlalchemy import delete
from sqlalchemy.orm import Session

from newsletter.readers.errors import InvalidEmail
from newsletter.readers.models import Suppression, SuppressionReason

MAX_EMAIL_LENGTH = 254  # RFC 5321: the longest address a mail server must accept in a path


def normalize_email(raw: str) -> str:
    """The address as Beitrag stores it: validated (syntax only, no DNS), domain lower-cased and IDNA
    decoded to Unicode, local part as typed. Refuses line breaks, NUL and over-long addresses.

    Plain addresses (an ASCII dot-atom local part, an ASCII domain of letters, digits and hyphens with an
    alphabetic top-level domain, nothing special-use) are checked with two small patterns, the domain once
    per distinct domain: for them email-validator's normalized form is the address with its domain
    lower-cased. Everything else goes through :func:`normalize_email_by_validator`; a test holds both paths
    to the same answers."""
    candidate = _checked_candidate(raw)
    local, _, domain = candidate.partition("@")
    if len(local) <= 64 and _PLAIN_LOCAL.fullmatch(local):
        plain = _plain_domain(domain)
        if plain is not None:
            return f"{local}@{plain}"
    return _validated(candidate)


def normalize_email_by_validator(raw: str) -> str:
    """:func:`normalize_email` without the fast path: every address through email-validator."""
    return _validated(_checked_candidate(raw))


def _checked_candidate(raw: str) -> str:
    if not isinstance(raw, str):
        raise InvalidEmail("the e-mail address is missing")
    if len(raw) > 4 * MAX_EMAIL_LENGTH:  # before any work on its characters; room for blanks around it
        raise InvalidEmail(f"the e-mail address is longer than {MAX_EMAIL_LENGTH} characters")
    if "\n" in raw or "\r" in raw or "\0" in raw:
        raise InvalidEmail("the e-mail address contains a line break or a NUL character")
    candidate = raw.strip()
    if not candidate:
        raise InvalidEmail("the e-mail address is missing")
    if len(candidate) > MAX_EMAIL_LENGTH:
        raise InvalidEmail(f"the e-mail address is longer than {MAX_EMAIL_LENGTH} characters")
    return candidate


def _validated(candidate: str) -> str:
    try:
        result = validate_email(candidate, check_deliverability=False, allow_quoted_local=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
    return result.normalized


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_LOCAL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")
_PLAIN_DOMAIN = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
_SPECIAL_SUFFIXES = tuple(s for s in SPECIAL_USE_DOMAIN_NAMES if "." in s)
_SPECIAL_TLDS = frozenset(s for s in SPECIAL_USE_DOMAIN_NAMES if "." not in s)


@functools.lru_cache(maxsize=4096)  # few distinct domains: each is checked once per process
def _plain_domain(domain: str) -> str | None:
    """The domain lower-cased if it is a plain ASCII one that email-validator leaves as it is, else None
    (an ``@`` in it, IDN, ``xn--``, special use)."""
    if not _PLAIN_DOMAIN.fullmatch(domain):
        return None
    lower = domain.lower()
    if "--" in lower or lower.rpartition(".")[2] in _SPECIAL_TLDS:
        return None
    if any(lower == s or lower.endswith("." + s) for s in _SPECIAL_SUFFIXES):
        return None
    return lower


def email_hash(email: str) -> str:
    """SHA-256 of the lower-cased address: what the suppression list keeps."""
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()


def is_suppressed(session: Session, email: str) -> bool:
    return session.get(Suppression, email_hash(email)) is not None


def suppression_reason(session: Session, email: str) -> SuppressionReason | None:
    row = session.get(Suppression, email_hash(email))
    return row.reason if row is not None else None


def suppress(session: Session, email: str, reason: SuppressionReason) -> None:
    """Put the address on the suppression list (once; the first reason is kept, except that erasure wins)."""
    key = email_hash(email)
    row = session.get(Suppression, key)
    if row is None:
        session.add(Suppression(email_hash=key, reason=reason))
    elif reason is SuppressionReason.ERASED:
        row.reason = reason


def lift_suppression(session: Session, email: str) -> None:
    """Only for the reader's own confirmed opt-in: they asked for mail again, from their own mailbox."""
    session.execute(delete(Suppression).where(Suppression.email_hash == email_hash(email)))
