"""Driving Beitrag under gunicorn the way readers and Stripe drive it, for ``test_replay.py``.

A :class:`Reader` starts donations on the donate page (``POST /spenden`` with the form's CSRF token), so
the app itself makes the Checkout Session at the Stripe stand-in, with its metadata. A :class:`Play` then
lives the donation's life in the Stripe world (paid, renewed, refunded, disputed ...) on the world's
simulated clock and keeps the events Stripe sent for it. A :class:`Courier` posts events to the running
app signed with Stripe's scheme and, like Stripe, delivers again what was not answered 2xx (a few times),
recording every status. :func:`raw_post` is an HTTP client on a plain socket that stops sending a body
as soon as the server answers.
"""

from __future__ import annotations

import json
import re
import select
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

from tests.support.stripe_api import sign
from tests.support.stripe_world import StripeWorld

DAY = 86400
PRODUCT = "beitrag-monthly-donation"  # the app's monthly Product (payments.settings: STRIPE_PRODUCT_ID)
PRESETS = (300, 500, 1000, 2500)  # the donate page's preset amounts
REDELIVERIES = 4  # Stripe tries again for days; a handful of tries shows whether an answer was lasting
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


# -- readers --------------------------------------------------------------------------------------


class Reader:
    """A browser without JavaScript on the donate page: its cookie, the form's CSRF token, the form sent."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def donate(self, kind: str, amount_cents: int, email: str) -> str:
        """The donate form sent; the id of the Checkout Session the app redirects to."""
        page = self.http.get(f"{self.base_url}/spenden", timeout=30)
        assert page.status_code == 200, page.status_code
        token = _TOKEN.search(page.text)
        assert token, "no CSRF token on the donate page"
        form = {"csrf_token": token.group(1), "kind": kind, "email": email}
        if amount_cents in PRESETS:
            form["preset"] = str(amount_cents)
        else:
            form.update(preset="custom", custom_amount=f"{amount_cents / 100:.2f}".replace(".", ","))
        answer = self.http.post(f"{self.base_url}/spenden", data=form, allow_redirects=False, timeout=30)
        assert answer.status_code == 303, (answer.status_code, answer.text[:500])
        return answer.headers["Location"].rstrip("/").rsplit("/", 1)[1]

    def close(self) -> None:
        self.http.close()


# -- a donation's life in the Stripe world ------------------------------------------------------------


@dataclass
class Life:
    """One donation and what Stripe sent about it, in Stripe's order."""

    name: str
    kind: str  # "one_time" or "monthly"
    session_id: str
    donation_id: int | None  # None for another installation's payment
    email: str
    events: list[dict] = field(default_factory=list)

    @property
    def monthly(self) -> bool:
        return self.kind == "monthly"


class Play:
    """Acts on one Life in the world; every operation's events are appended to ``life.events``."""

    def __init__(self, world: StripeWorld, life: Life) -> None:
        self.world, self.life = world, life
        self.disputes: list[str] = []

    def _add(self, events: list[dict]) -> list[dict]:
        self.life.events += events
        return events

    @property
    def session(self) -> dict:
        return self.world.sessions[self.life.session_id]

    @property
    def subscription(self) -> str:
        return self.session["subscription"]

    def invoices(self) -> list[str]:
        return invoices_of(self.world, self.subscription)

    def pay(self, method: str = "card") -> None:
        self._add(self.world.complete_session(self.life.session_id, method=method, email=self.life.email))

    def wait(self, days: float) -> None:
        self.world.advance(int(days * DAY))

    def sepa(self, succeeds: bool) -> None:
        outcome = self.world.sepa_succeeds if succeeds else self.world.sepa_fails
        self._add(outcome(self.life.session_id))

    def renew(self, *, fails: bool = False) -> None:
        self._add(self.world.renew(self.subscription, fails=fails))

    def retry(self, *, succeeds: bool) -> None:
        open_invoice = self.world.subscriptions[self.subscription]["latest_invoice"]
        self._add(self.world.retry_invoice(open_invoice, succeeds=succeeds))

    def cancel(self, **how) -> None:
        self._add(self.world.cancel(self.subscription, **how))

    def change_to(self, amount_cents: int) -> None:
        """The donor picks another amount in the customer portal: another Price of the app's Product."""
        self._add(self.world.change_price(self.subscription, monthly_price(self.world, amount_cents)))

    def intent(self, invoice: int | None = None) -> str:
        """The payment intent of the one-time payment, or of the monthly invoice at that index."""
        if invoice is None:
            return self.session["payment_intent"]
        return intent_of_invoice(self.world, self.invoices()[invoice])

    def refund(self, amount: int | None = None, *, invoice: int | None = None) -> list[dict]:
        return self._add(self.world.refund(self.intent(invoice), amount))

    def dispute(self, *, invoice: int | None = None) -> list[dict]:
        events = self._add(self.world.dispute(self.intent(invoice)))
        self.disputes.append(next(e for e in events if e["type"] == "charge.dispute.created")["data"]
                             ["object"]["id"])  # fmt: skip
        return events

    def close_dispute(self, *, won: bool) -> None:
        self._add(self.world.close_dispute(self.disputes[-1], won=won))


def invoices_of(world: StripeWorld, subscription_id: str) -> list[str]:
    """The subscription's invoices, oldest first."""
    with world.lock:
        found = [i for i in world.invoices.values()
                 if i["parent"]["subscription_details"]["subscription"] == subscription_id]  # fmt: skip
        return [i["id"] for i in reversed(world.ordered(found))]


def intent_of_invoice(world: StripeWorld, invoice_id: str) -> str:
    with world.lock:
        (payment,) = [p for p in world.invoice_payments.values() if p["invoice"] == invoice_id]
        return payment["payment"]["payment_intent"]


def monthly_price(world: StripeWorld, amount_cents: int) -> str:
    """The app's monthly Price for this amount (as the portal offers it), made under the app's lookup key
    if the app has not made it yet."""
    key = f"{PRODUCT}:eur:month:{amount_cents}"
    with world.lock:
        for price in world.prices.values():
            if price["active"] and price["lookup_key"] == key:
                return price["id"]
        return world.create_price({"product": PRODUCT, "currency": "eur", "unit_amount": amount_cents,
                                   "recurring": {"interval": "month"}, "lookup_key": key})["id"]  # fmt: skip


# -- the lifecycles -------------------------------------------------------------------------------


def once_card(p: Play) -> None:
    p.pay()


def sepa_succeeds(p: Play) -> None:
    p.pay("sepa")
    p.wait(3)
    p.sepa(True)


def sepa_fails(p: Play) -> None:
    p.pay("sepa")
    p.wait(4)
    p.sepa(False)


def sepa_refunded(p: Play) -> None:
    sepa_succeeds(p)
    p.wait(6)
    p.refund()


def monthly_renewals(p: Play) -> None:
    p.pay()
    for _ in range(4):
        p.renew()


def renewal_recovered(p: Play) -> None:
    p.pay()
    p.renew()
    p.renew(fails=True)
    p.wait(3)
    p.retry(succeeds=False)
    p.wait(4)
    p.retry(succeeds=True)
    p.renew()


def renewal_never_recovered(p: Play) -> None:
    p.pay()
    p.renew()
    p.renew(fails=True)
    p.wait(3)
    p.retry(succeeds=False)
    p.wait(5)
    p.retry(succeeds=False)
    p.wait(7)
    p.cancel(reason="payment_failed")


def donor_cancels(p: Play) -> None:
    p.pay()
    p.renew()
    p.renew()
    p.wait(10)
    p.cancel()


def donor_cancels_at_period_end(p: Play) -> None:
    p.pay()
    p.renew()
    p.wait(12)
    p.cancel(at_period_end=True)
    p.renew()  # the period ends, and with it the subscription


def amount_changed(p: Play) -> None:
    p.pay()
    p.renew()
    p.wait(10)
    p.change_to(2500)
    p.renew()
    p.renew()


def refunds_in_part_once(p: Play) -> None:
    p.pay()
    p.wait(2)
    p.refund(2000)
    p.wait(1)
    p.refund(1000)


def refund_in_full_once(p: Play) -> None:
    p.pay()
    p.wait(5)
    p.refund()


def refund_in_part_monthly(p: Play) -> None:
    p.pay()
    p.renew()
    p.renew()
    p.wait(2)
    p.refund(400, invoice=1)


def refund_in_full_monthly(p: Play) -> None:
    p.pay()
    p.renew()
    p.wait(1)
    p.refund(invoice=0)
    p.renew()


def dispute_won_once(p: Play) -> None:
    p.pay()
    p.wait(10)
    p.dispute()
    p.wait(20)
    p.close_dispute(won=True)


def dispute_lost_once(p: Play) -> None:
    p.pay()
    p.wait(1)
    p.refund(500)  # the dispute takes what is left
    p.wait(9)
    p.dispute()
    p.wait(20)
    p.close_dispute(won=False)


def dispute_won_monthly(p: Play) -> None:
    p.pay()
    p.renew()
    p.wait(2)
    p.dispute(invoice=1)
    p.wait(15)
    p.close_dispute(won=True)
    p.renew()


def dispute_lost_monthly(p: Play) -> None:
    p.pay()
    p.renew()
    p.renew()
    p.wait(3)
    p.dispute(invoice=2)
    p.wait(20)
    p.close_dispute(won=False)


# (how often, amount in cents, the life): presets and typed-in amounts alike
LIFECYCLES: list[tuple[str, int, Callable[[Play], None]]] = [
    ("one_time", 1000, once_card),
    ("one_time", 4250, sepa_succeeds),
    ("one_time", 2000, sepa_fails),
    ("one_time", 1500, sepa_refunded),
    ("monthly", 500, monthly_renewals),
    ("monthly", 1000, renewal_recovered),
    ("monthly", 300, renewal_never_recovered),
    ("monthly", 2500, donor_cancels),
    ("monthly", 750, donor_cancels_at_period_end),
    ("monthly", 500, amount_changed),
    ("one_time", 5000, refunds_in_part_once),
    ("one_time", 2500, refund_in_full_once),
    ("monthly", 1000, refund_in_part_monthly),
    ("monthly", 1250, refund_in_full_monthly),
    ("one_time", 4000, dispute_won_once),
    ("one_time", 3000, dispute_lost_once),
    ("monthly", 2500, dispute_won_monthly),
    ("monthly", 500, dispute_lost_monthly),
]


def begin(world: StripeWorld, reader: Reader, name: str, kind: str, amount: int, email: str,
          at: int) -> tuple[Life, Play]:  # fmt: skip
    """A reader starts the donation on the donate page at the world's time ``at``."""
    with world.lock:
        world.now = at
    session_id = reader.donate(kind, amount, email)
    metadata = world.sessions[session_id]["metadata"]
    life = Life(name, kind, session_id, int(metadata["donation_id"]), email)
    return life, Play(world, life)


# -- Stripe's deliveries --------------------------------------------------------------------------


@dataclass
class Delivery:
    style: str
    event: dict
    statuses: list[int] = field(default_factory=list)  # every answer, 0 for no answer at all
    refusals: list[str] = field(default_factory=list)  # what the non-2xx answers said

    @property
    def delivered(self) -> bool:
        return bool(self.statuses) and 200 <= self.statuses[-1] < 300


class Courier:
    """Posts events to the app's webhook as Stripe does: signed at delivery time (``t=..,v1=..``), and
    delivered again after a non-2xx answer or none, up to :data:`REDELIVERIES` times."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.log: list[Delivery] = []
        self._lock = threading.Lock()

    def deliver(self, http: requests.Session, evt: dict, style: str) -> Delivery:
        payload = json.dumps(evt).encode()
        record = Delivery(style, evt)
        for attempt in range(1 + REDELIVERIES):
            headers = {"Content-Type": "application/json", "Stripe-Signature": sign(payload)}
            try:
                answer = http.post(self.url, data=payload, headers=headers, timeout=60)
                status, text = answer.status_code, answer.text
            except requests.RequestException as exc:
                status, text = 0, repr(exc)
            record.statuses.append(status)
            if 200 <= status < 300:
                break
            record.refusals.append(f"{status} {text[:300]}")
            time.sleep(0.2 * (attempt + 1))
        with self._lock:
            self.log.append(record)
        return record

    def in_sequence(self, events: list[dict], style: str) -> list[Delivery]:
        with requests.Session() as http:
            return [self.deliver(http, evt, style) for evt in events]

    def sequences(self, sequences: list[list[dict]], style: str, threads: int = 6) -> list[Delivery]:
        """Each sequence in its order, the sequences side by side (Stripe delivers to an endpoint in
        parallel; one object's events come one after another only by chance)."""
        with ThreadPoolExecutor(threads) as pool:
            done = list(pool.map(lambda events: self.in_sequence(events, style), sequences))
        return [d for batch in done for d in batch]

    def at_once(self, events: list[dict], style: str) -> list[Delivery]:
        """Every event from its own thread, all released together."""
        results: list[Delivery | None] = [None] * len(events)
        barrier = threading.Barrier(len(events))

        def post(i: int) -> None:
            with requests.Session() as http:
                barrier.wait()
                results[i] = self.deliver(http, events[i], style)

        threads = [threading.Thread(target=post, args=(i,)) for i in range(len(events))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [r for r in results if r is not None]


# -- a plain-socket client ------------------------------------------------------------------------


@dataclass
class RawAnswer:
    status: int | None  # None: the connection ended without an answer
    seconds: float  # until the answer's first bytes (or the end)
    sent: int  # bytes of the body sent until then
    head: str


def raw_post(port: int, path: str, headers: dict[str, str], body: Iterable[bytes], *,
             timeout: float = 20.0) -> RawAnswer:  # fmt: skip
    """``POST`` over a plain socket, sending ``body`` piece by piece only while the server has not
    answered: a client that stops sending a large upload as soon as it is refused."""
    lines = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    started = time.monotonic()
    received, sent, pending = b"", 0, b""
    pieces: Iterator[bytes] | None = iter(body)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sock.setblocking(False)
        while time.monotonic() - started < timeout:
            writers = [sock] if pending or pieces is not None else []
            readable, writable, _ = select.select([sock], writers, [], 0.5)
            if readable:
                try:
                    data = sock.recv(65536)
                except OSError:
                    break
                received += data
                if not data or b"\r\n" in received:
                    break
                continue
            if writable:
                if not pending and pieces is not None:
                    pending = next(pieces, b"")
                    if not pending:
                        pieces = None
                        continue
                try:
                    n = sock.send(pending)
                except OSError:  # the server closed: what it answered may still be readable
                    break
                sent, pending = sent + n, pending[n:]
        seconds = time.monotonic() - started
        sock.setblocking(True)
        sock.settimeout(5)
        while b"\r\n\r\n" not in received:
            try:
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            received += data
    head = received.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    found = re.match(r"HTTP/1\.[01] (\d{3})", head)
    return RawAnswer(int(found.group(1)) if found else None, seconds, sent, head)


def chunked(total: int, piece: int = 64 * 1024) -> Iterator[bytes]:
    """``total`` bytes of JSON-ish filler as HTTP/1.1 chunks, then the last chunk."""
    data = b" " * piece
    for _ in range(total // piece):
        yield b"%x\r\n" % piece + data + b"\r\n"
    yield b"0\r\n\r\n"


def sliced(data: bytes, piece: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), piece):
        yield data[start:start + piece]
