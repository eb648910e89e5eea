"""The DNS records a newsroom publishes so that receivers accept its mail (SPF, DKIM, DMARC), computed from
the settings, and how a published record compares with them. Plain values; no network here (the lookup is
``dns_lookup``).

* SPF, at the envelope sender's domain (``BOUNCE_DOMAIN``, else the sender's): the relay's mechanism, from
  ``SMTP_URL``'s host (a provider's ``include:``, an address's ``ip4:``/``ip6:``, else ``a:host``);
* DKIM, at ``<selector>._domainkey.<DKIM_DOMAIN>``: the public half of the configured key;
* DMARC, at ``_dmarc.<organisational domain of the sender>``: ``p=none`` to start, with aggregate reports
  (``rua``) to ``DMARC_REPORT_ADDRESS`` (default ``dmarc-reports@`` the organisational domain).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from newsletter.mail import alignment

SPF, DKIM, DMARC = "spf", "dkim", "dmarc"
MATCH, DIFFERS, MISSING, UNREACHABLE = "match", "differs", "missing", "unreachable"

# Relays whose senders publish one include for all their hosts (their own documentation names it).
PROVIDER_INCLUDES = (
    (".amazonaws.com", "include:amazonses.com"),
    ("smtp.sendgrid.net", "include:sendgrid.net"),
    (".mailgun.org", "include:mailgun.org"),
    (".postmarkapp.com", "include:spf.mtasv.net"),
    ("smtp-relay.brevo.com", "include:spf.brevo.com"),
    ("in-v3.mailjet.com", "include:spf.mailjet.com"),
    ("smtp.office365.com", "include:spf.protection.outlook.com"),
    ("smtp.gmail.com", "include:_spf.google.com"),
    ("smtp-relay.gmail.com", "include:_spf.google.com"),
)


@dataclass(frozen=True)
class Record:
    kind: str  # SPF, DKIM or DMARC
    name: str  # where to publish it (without the trailing dot)
    value: str | None  # the TXT value; None when the settings give none (no DKIM key)
    mechanism: str | None = None  # SPF: what the published record must contain
    local_relay: bool = False  # SPF: the relay runs on this server (its public address must be listed)


@dataclass(frozen=True)
class Comparison:
    status: str  # MATCH, DIFFERS, MISSING or UNREACHABLE
    found: list[str] = field(default_factory=list)  # the TXT values read, as published


def spf_mechanism(relay_host: str | None) -> tuple[str | None, bool]:
    """What SPF must allow for the relay ``relay_host``: ``(mechanism, local)``; a relay on this machine
    gives ``(None, True)`` (it sends from the server's public address, which only the admin knows)."""
    host = (relay_host or "").strip().lower().rstrip(".")
    if not host or host == "localhost":
        return None, True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        for suffix, include in PROVIDER_INCLUDES:
            if host == suffix.lstrip(".") or host.endswith(suffix):
                return include, False
        return f"a:{host}", False
    if address.is_loopback or address.is_private or address.is_unspecified:
        return None, True
    return (f"ip4:{address}" if address.version == 4 else f"ip6:{address}"), False


def expected(config: Mapping[str, Any]) -> list[Record]:
    """SPF, DKIM and DMARC records for the settings (``MAIL_FROM``, ``BOUNCE_DOMAIN``, the DKIM key,
    ``SMTP_URL``, ``DMARC_REPORT_ADDRESS``). Raises ``alignment.AddressError`` for a sender that is no
    address."""
    sender_domain = alignment.address_domain(config["MAIL_FROM"])
    organisational = alignment.organisational_domain(sender_domain)
    envelope = alignment.normalise_domain(config.get("BOUNCE_DOMAIN") or sender_domain)
    mechanism, local = spf_mechanism(urlsplit(config.get("SMTP_URL") or "").hostname)
    spf_value = "v=spf1 " + (mechanism + " " if mechanism else "mx ") + "~all"
    records = [Record(SPF, envelope, spf_value, mechanism=mechanism, local_relay=local)]
    key = config.get("DKIM_KEY")
    if key is not None:  # RSA, and the Ed25519 key's record when one is set (RFC 8463)
        records += [Record(DKIM, name, value) for name, value in key.public_records().items()]
    else:
        selector = config.get("DKIM_SELECTOR") or "beitrag"
        domain = config.get("DKIM_DOMAIN") or sender_domain
        records.append(Record(DKIM, f"{selector}._domainkey.{domain}", None))
    rua = config.get("DMARC_REPORT_ADDRESS") or f"dmarc-reports@{organisational}"
    dmarc = f"v=DMARC1; p=none; rua=mailto:{rua}; adkim=r; aspf=r"
    records.append(Record(DMARC, f"_dmarc.{organisational}", dmarc))
    return records


def _tags(value: str) -> dict[str, str]:
    tags = {}
    for part in value.split(";"):
        name, eq, text = part.partition("=")
        if eq:
            tags[name.strip().lower()] = "".join(text.split())
    return tags


def compare(record: Record, found: list[str]) -> Comparison:
    """How the TXT values ``found`` at ``record.name`` compare with ``record`` (lookup failures are the
    caller's: :data:`UNREACHABLE`)."""
    if record.kind == SPF:
        mine = [v for v in found if v.lower().startswith("v=spf1")]
        if not mine:
            return Comparison(MISSING, found)
        terms = mine[0].lower().split()
        ok = len(mine) == 1 and (record.mechanism is None or record.mechanism.lower() in terms)
        return Comparison(MATCH if ok else DIFFERS, mine)
    if record.kind == DKIM:
        mine = [v for v in found if "p=" in v]
        if not mine:
            return Comparison(MISSING, found)
        if record.value is None:
            return Comparison(DIFFERS, mine)
        want = _tags(record.value)
        kind = want.get("k", "rsa")
        ok = any(_tags(v).get("p") == want["p"] and _tags(v).get("k", "rsa") == kind for v in mine)
        return Comparison(MATCH if ok else DIFFERS, mine)
    mine = [v for v in found if v.lower().startswith("v=dmarc1")]
    if not mine:
        return Comparison(MISSING, found)
    tags = _tags(mine[0])
    ok = len(mine) == 1 and tags.get("p", "").lower() in ("none", "quarantine", "reject") and "rua" in tags
    return Comparison(MATCH if ok else DIFFERS, mine)
