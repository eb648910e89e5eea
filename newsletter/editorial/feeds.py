"""The guarded fetch of a feed URL: http(s) only, public addresses only, timeouts and a size cap.

Every hop (the URL and each redirect) is checked before anything is sent: the host's DNS answers are
resolved once, *every* answer must be a public address (no loopback, private, link-local, shared,
reserved or multicast address, IPv4-mapped IPv6 included), and the connection goes to the address that
was checked, so a second DNS answer cannot swap in an internal one. A refusal tells the editor that the
address is not public, never which internal address a name resolved to (the log says). Tests may exempt
exact loopback addresses with ``FEED_ALLOWED_LOOPBACK`` (empty by default); no other address can be
exempted.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import socket
import ssl
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from flask_babel import lazy_gettext as _l

log = logging.getLogger(__name__)

USER_AGENT = "Beitrag feed import (+https://beitrag.example)"
REDIRECTS = (301, 302, 303, 307, 308)

Resolver = Callable[[str, int], list[str]]


class FetchRefused(ValueError):
    """The URL or an address it leads to is not allowed, or the answer broke a limit. Readable message."""


@dataclass(frozen=True)
class FetchPolicy:
    timeout: float = 10.0  # seconds for the whole fetch, redirects included
    max_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    allowed_loopback: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Fetched:
    url: str  # after redirects
    body: bytes
    content_type: str


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchRefused(
            _l("the host %(host)s could not be found (%(reason)s)", host=host, reason=exc.strerror)
        ) from None
    return [str(info[4][0]) for info in infos]


def check_address(raw: str, allowed_loopback: Iterable[str] = ()) -> None:
    """Refuse every address that is not public on the internet."""
    address = ipaddress.ip_address(raw.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_loopback and str(address) in set(allowed_loopback):
        return
    if not address.is_global or address.is_multicast or address.is_reserved or address.is_unspecified:
        # Not the address itself: which internal address a name resolves to is for the log, not the page.
        raise FetchRefused(
            _l("this address is not public: feeds are only fetched from servers on the public internet")
        )


def check_url(url: str) -> tuple[str, str, int, str]:
    """``(scheme, host, port, path_and_query)`` of an http(s) URL, or :class:`FetchRefused`."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise FetchRefused(
            _l("only http and https addresses can be fetched, not %(scheme)s", scheme=parts.scheme or "–")
        )
    if not parts.hostname:
        raise FetchRefused(_l("the address names no host"))
    if parts.username or parts.password:
        raise FetchRefused(_l("addresses with a user name or password are not fetched"))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise FetchRefused(_l("the address has an invalid port")) from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.scheme, parts.hostname, port, path


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch(url: str, policy: FetchPolicy | None = None, resolve: Resolver = system_resolver) -> Fetched:
    """GET ``url`` under ``policy``; raises :class:`FetchRefused` with a readable reason."""
    policy = policy or FetchPolicy()
    deadline = time.monotonic() + policy.timeout
    for _hop in range(policy.max_redirects + 1):
        scheme, host, port, path = check_url(url)
        addresses = resolve(host, port)
        if not addresses:
            raise FetchRefused(_l("the host %(host)s has no address", host=host))
        for address in addresses:  # every DNS answer, not just the first
            try:
                check_address(address, policy.allowed_loopback)
            except FetchRefused:
                log.warning("feed fetch refused: %s (host %s) resolves to %s, not a public address",
                            url, host, address)  # fmt: skip
                raise
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchRefused(_l("the feed server took too long to answer"))
        conn_class = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
        conn = conn_class(host, port, addresses[0], timeout=remaining)
        try:
            try:
                conn.request(
                    "GET",
                    path,
                    headers={
                        "User-Agent": USER_AGENT,
                        "Accept": "application/rss+xml, "
                        "application/atom+xml, application/xml;q=0.9, */*;q=0.5",
                    },
                )
                response = conn.getresponse()
                if response.status in REDIRECTS:
                    location = response.getheader("Location")
                    if not location:
                        raise FetchRefused(
                            _l("the server answered %(status)s without a new address", status=response.status)
                        )
                    url = urljoin(url, location)
                    continue
                if response.status != 200:
                    raise FetchRefused(
                        _l(
                            "the feed server answered %(status)s %(reason)s",
                            status=response.status,
                            reason=response.reason,
                        )
                    )
                length = response.getheader("Content-Length")
                if length and length.isdigit() and int(length) > policy.max_bytes:
                    raise FetchRefused(_too_large(policy))
                body = bytearray()
                while True:
                    if time.monotonic() > deadline:
                        raise FetchRefused(_l("the feed server took too long to answer"))
                    chunk = response.read1(65536)
                    if not chunk:
                        break
                    body += chunk
                    if len(body) > policy.max_bytes:
                        raise FetchRefused(_too_large(policy))
                return Fetched(
                    url=url, body=bytes(body), content_type=response.getheader("Content-Type") or ""
                )
            except TimeoutError:
                raise FetchRefused(_l("the feed server took too long to answer")) from None
            except (OSError, http.client.HTTPException) as exc:
                raise FetchRefused(
                    _l(
                        "the feed could not be fetched (%(reason)s)",
                        reason=f"{exc.__class__.__name__}: {exc}",
                    )
                ) from None
        finally:
            conn.close()
    raise FetchRefused(_l("the feed redirected more than %(count)d times", count=policy.max_redirects))


def _too_large(policy: FetchPolicy):
    return _l("the feed is larger than %(kb)d KB", kb=policy.max_bytes // 1024)
