"""DMARC alignment of a sender address, in relaxed mode: the From domain must share its organisational
domain (the registrable domain under the Public Suffix List) with the DKIM signing domain ``d=`` and with
the envelope sender's domain (``Return-Path``, where SPF is checked). Gmail and Yahoo reject bulk mail whose
From aligns with neither, and a newsroom should not rely on one of the two alone, so both must align.

The list comes from ``publicsuffixlist``, which bundles it: nothing is fetched at run time. Plain functions;
:func:`check` takes plain values, :func:`check_config` reads them from the app's settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parseaddr
from functools import lru_cache
from typing import Any

from flask_babel import lazy_gettext as _l
from publicsuffixlist import PublicSuffixList


class AddressError(ValueError):
    """Not an address with a domain."""


@lru_cache(maxsize=1)
def _suffixes() -> PublicSuffixList:
    return PublicSuffixList()  # the bundled copy of the list; accepts unknown top-level domains


def normalise_domain(domain: str) -> str:
    """Lower case, ASCII (IDNA, so ``bücher.de`` and ``xn--bcher-kva.de`` are one), no trailing dot."""
    name = (domain or "").strip().rstrip(".")
    if not name or any(not label for label in name.split(".")):
        raise AddressError(f"{domain!r} is not a domain name")
    try:
        return name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise AddressError(f"{domain!r} is not a domain name") from None


def address_domain(address: str) -> str:
    """The normalised domain of an address, with or without a display name (``Name <a@b.example>``)."""
    _name, addr = parseaddr(address or "")
    local, at, domain = addr.rpartition("@")
    if not at or not local:
        raise AddressError(f"{address!r} is not an e-mail address")
    return normalise_domain(domain)


def organisational_domain(domain: str) -> str:
    """``news.example.org`` → ``example.org``; ``a.example.co.uk`` → ``example.co.uk``. A public suffix
    itself (``co.uk``) is its own organisational domain."""
    name = normalise_domain(domain)
    return _suffixes().privatesuffix(name) or name


def aligned(first: str, second: str) -> bool:
    """Relaxed alignment: both domains have the same organisational domain."""
    return organisational_domain(first) == organisational_domain(second)


@dataclass(frozen=True)
class Alignment:
    sender: str  # the address as given
    sender_domain: str
    organisational: str  # the sender's organisational domain
    dkim_domain: str | None  # None: messages are not signed
    dkim_selector: str | None
    envelope_domain: str  # the Return-Path's domain: BOUNCE_DOMAIN, else the sender's own
    dkim_aligned: bool
    spf_aligned: bool

    @property
    def ok(self) -> bool:
        return self.dkim_aligned and self.spf_aligned

    def problem(self) -> str:
        """For the editor: what does not align, and the two ways out (another sender address, or DNS
        records and settings for the sender's domain). Empty when aligned."""
        if self.ok:
            return ""
        address = parseaddr(self.sender)[1]
        if not self.dkim_aligned and not self.spf_aligned:
            what = _l(
                "the sender address %(sender)s is on neither the domain the mail is signed for (DKIM "
                "d=%(dkim)s) nor that of the bounce address (Return-Path @%(bounce)s)",
                sender=address, dkim=self.dkim_domain, bounce=self.envelope_domain)  # fmt: skip
        elif not self.dkim_aligned:
            what = _l(
                "the sender address %(sender)s is not on the domain the mail is signed for (DKIM "
                "d=%(dkim)s)", sender=address, dkim=self.dkim_domain)  # fmt: skip
        else:
            what = _l(
                "the sender address %(sender)s is not on the domain of the bounce address (Return-Path "
                "@%(bounce)s)", sender=address, bounce=self.envelope_domain)  # fmt: skip
        fix = [str(_l("Gmail and Yahoo reject such mail (DMARC)."))]
        targets = {d for d in (self.dkim_domain, self.envelope_domain) if d}
        if len({organisational_domain(d) for d in targets}) == 1:
            fix.append(str(_l("Use a sender address on %(domain)s, or send from %(sender)s:",
                              domain=organisational_domain(next(iter(targets))),
                              sender=self.organisational)))  # fmt: skip
        else:
            fix.append(str(_l("Send from %(sender)s:", sender=self.organisational)))
        if not self.dkim_aligned:
            fix.append(str(_l(
                "set DKIM_DOMAIN=%(domain)s and publish the DKIM key as a TXT record at "
                "%(selector)s._domainkey.%(domain)s;",
                domain=self.organisational, selector=self.dkim_selector or "SELECTOR")))  # fmt: skip
        if not self.spf_aligned:
            fix.append(str(_l(
                "set BOUNCE_DOMAIN to %(domain)s or one of its subdomains and publish an SPF record "
                "for it that includes your mail server (TXT \"v=spf1 include:… ~all\");",
                domain=self.organisational)))  # fmt: skip
        fix.append(str(_l(
            "and publish a DMARC record at _dmarc.%(domain)s (TXT \"v=DMARC1; p=none; rua=mailto:…\").",
            domain=self.organisational)))  # fmt: skip
        return f"{what}. " + " ".join(fix)


def check(sender: str, *, dkim_domain: str | None = None, dkim_selector: str | None = None,
          bounce_domain: str | None = None) -> Alignment:  # fmt: skip
    """How ``sender`` aligns with the DKIM domain (when mail is signed) and the bounce domain (when one is
    set; otherwise the envelope sender is ``sender`` itself, which aligns). Raises :class:`AddressError`
    for a sender that is no address."""
    sender_domain = address_domain(sender)
    dkim = normalise_domain(dkim_domain) if dkim_domain else None
    envelope = normalise_domain(bounce_domain) if bounce_domain else sender_domain
    return Alignment(
        sender=sender,
        sender_domain=sender_domain,
        organisational=organisational_domain(sender_domain),
        dkim_domain=dkim,
        dkim_selector=dkim_selector,
        envelope_domain=envelope,
        dkim_aligned=dkim is None or aligned(sender_domain, dkim),
        spf_aligned=aligned(sender_domain, envelope),
    )


def check_config(sender: str, config: Mapping[str, Any]) -> Alignment:
    """:func:`check` with the app's settings: the loaded DKIM key (``DKIM_KEY``; unsigned without one)
    and ``BOUNCE_DOMAIN``."""
    key = config.get("DKIM_KEY")
    return check(
        sender,
        dkim_domain=key.domain if key is not None else None,
        dkim_selector=key.selector if key is not None else None,
        bounce_domain=config.get("BOUNCE_DOMAIN"),
    )
