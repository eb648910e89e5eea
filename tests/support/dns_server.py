"""A small authoritative DNS server over UDP for tests: answers TXT queries from a dict (a value longer
than 255 bytes is split into strings, as zone files do), NXDOMAIN for any other name. ``silent=True``
binds the port and never answers (a network where DNS does not get through)."""

from __future__ import annotations

import socket
import threading

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


def _quoted(value: str) -> str:
    raw = value.encode()
    chunks = [raw[i:i + 255] for i in range(0, len(raw), 255)] or [b""]
    return " ".join('"' + c.decode().replace('"', '\\"') + '"' for c in chunks)


class DNSServer:
    def __init__(self, records: dict[str, list[str]] | None = None, *, silent: bool = False):
        self.records = {k.lower().rstrip("."): v for k, v in (records or {}).items()}
        self.silent = silent
        self.queries: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __enter__(self) -> DNSServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            query = dns.message.from_wire(data)
            question = query.question[0]
            name = question.name.to_text().lower().rstrip(".")
            self.queries.append(name)
            if self.silent:
                continue
            response = dns.message.make_response(query)
            values = self.records.get(name)
            if values is None:
                response.set_rcode(dns.rcode.NXDOMAIN)
            elif question.rdtype == dns.rdatatype.TXT and values:
                response.answer.append(dns.rrset.from_text_list(
                    question.name, 300, dns.rdataclass.IN, dns.rdatatype.TXT, [_quoted(v) for v in values]))
            self.sock.sendto(response.to_wire(), peer)
