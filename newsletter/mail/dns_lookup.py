"""TXT lookups for the deliverability check: the only module that imports ``dns`` (dnspython).

One time budget for all lookups of a check (2 seconds by default), so a page never waits long on a
network without DNS; a lookup that cannot be answered in time, or by any name server, is
:data:`UNREACHABLE`, never an exception. ``DNS_NAMESERVERS`` (``host`` or ``host:port``, spaces between)
names the servers to ask; empty: the system's resolver.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import dns.exception
import dns.resolver

UNREACHABLE = None  # what :func:`txt_records` returns when DNS did not answer
BUDGET = 2.0


def _resolver(nameservers: Sequence[str]) -> dns.resolver.Resolver:
    if not nameservers:
        try:
            return dns.resolver.Resolver()
        except (dns.resolver.NoResolverConfiguration, OSError):
            return dns.resolver.Resolver(configure=False)  # no resolv.conf: nothing to ask, all unreachable
    resolver = dns.resolver.Resolver(configure=False)
    ports = {}
    for entry in nameservers:
        host, _, port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        resolver.nameservers = [*resolver.nameservers, host]
        if port:
            ports[host] = int(port)
    resolver.nameserver_ports = ports
    return resolver


class Lookups:
    """TXT lookups sharing one time budget."""

    def __init__(self, nameservers: Iterable[str] = (), budget: float = BUDGET):
        self.resolver = _resolver(list(nameservers))
        self.deadline = time.monotonic() + budget

    def txt(self, name: str) -> list[str] | None:
        """The TXT values at ``name`` (each record's strings joined), ``[]`` when there are none, or
        :data:`UNREACHABLE`."""
        left = self.deadline - time.monotonic()
        if left <= 0.05 or not self.resolver.nameservers:
            return UNREACHABLE
        self.resolver.timeout = self.resolver.lifetime = left
        try:
            answer = self.resolver.resolve(name, "TXT", search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return []
        except (dns.exception.DNSException, OSError, ValueError):
            return UNREACHABLE  # timeout, no server answered, a refused or malformed answer
        values = []
        for record in answer.rrset or ():
            values.append(b"".join(record.strings).decode("utf-8", "replace"))
        return values
