"""A local stand-in for Stripe's API, on a real HTTP port: the ``stripe`` SDK talks to it as to Stripe.

It reads the form-encoded requests the way Stripe does, checks the parts Beitrag relies on (the secret key,
the parameters a checkout needs, idempotency keys: the same key with other parameters is refused, with the
same ones it answers the first object again), records every request, and answers with objects shaped like
Stripe's (API 2026-10-28). ``fail_next`` makes the next answers errors. Webhook events for the tests are
built and signed here too, with Stripe's scheme computed independently of the SDK.

A session's ``url`` is a Checkout page a browser can open on this server (``/c/pay/<id>``): its "Pay"
button completes the session, posts the signed webhooks Stripe would send to ``webhook_url``
(``checkout.session.completed``, and ``invoice.paid`` for a subscription) and redirects to the session's
``success_url``, as Stripe does; "Back" goes to the ``cancel_url``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

SECRET_KEY = "sk_test_beitrag_standin"
WEBHOOK_SECRET = "whsec_beitrag_test_secret"


@dataclass
class Recorded:
    method: str
    path: str
    params: dict[str, str]
    idempotency_key: str | None
    authorization: str | None
    stripe_version: str | None


@dataclass
class StripeStandIn:
    requests: list[Recorded] = field(default_factory=list)
    sessions: dict[str, dict] = field(default_factory=dict)
    payment_intents: dict[str, dict] = field(default_factory=dict)
    fail_next: list[tuple[int, dict]] = field(default_factory=list)  # (status, error object)
    webhook_url: str | None = None  # where the Checkout page's "Pay" posts the signed events
    webhook_answers: list[int] = field(default_factory=list)  # the app's status for each event posted
    _idempotent: dict[str, tuple[dict, int, dict]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> StripeStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_standin_{next(standin._ids)}")
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else parts.query
                params = dict(parse_qsl(raw, keep_blank_values=True))
                recorded = Recorded(
                    method, parts.path, params, self.headers.get("Idempotency-Key"),
                    self.headers.get("Authorization"), self.headers.get("Stripe-Version"),
                )  # fmt: skip
                status, body = standin.route(recorded)
                self._answer(status, body)

            def _page(self, status: int, html: str, location: str | None = None) -> None:
                data = html.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                if location:
                    self.send_header("Location", location)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path.startswith("/c/pay/"):
                    found = standin.sessions.get(urlsplit(self.path).path.rsplit("/", 1)[1])
                    if found is None:
                        return self._page(404, "<h1>No such Checkout Session</h1>")
                    return self._page(200, _checkout_page(found))
                self._handle("GET")

            def do_POST(self):
                if self.path.startswith("/c/pay/"):
                    length = int(self.headers.get("Content-Length") or 0)
                    self.rfile.read(length)
                    session_id = urlsplit(self.path).path.rsplit("/", 2)[1]
                    if self.path.endswith("/cancel"):
                        found = standin.sessions.get(session_id)
                        return self._page(303, "", location=found["cancel_url"] if found else "/")
                    target = standin.pay(session_id)
                    return self._page(303, "", location=target) if target else self._page(404, "<h1>?</h1>")
                self._handle("POST")

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        # A short poll, so that stop() (shutdown waits for the loop to look) takes milliseconds, not 0.5 s.
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # -- what the tests read ----------------------------------------------------------------------

    def calls(self, method: str, path: str) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(path)]

    # -- the API ----------------------------------------------------------------------------------

    def route(self, req: Recorded) -> tuple[int, dict]:
        with self.lock:
            self.requests.append(req)
            if req.authorization != f"Bearer {SECRET_KEY}":
                return 401, _error("invalid_request_error", "Invalid API Key provided")
            if self.fail_next:
                return self.fail_next.pop(0)
            if req.method == "POST" and req.idempotency_key:
                seen = self._idempotent.get(req.idempotency_key)
                if seen is not None:
                    params, status, body = seen
                    if params != req.params:
                        return 400, _error(
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same parameters",
                        )
                    return status, body
            status, body = self._dispatch(req)
            if req.method == "POST" and req.idempotency_key:
                self._idempotent[req.idempotency_key] = (req.params, status, body)
            return status, body

    def _dispatch(self, req: Recorded) -> tuple[int, dict]:
        path = req.path
        if req.method == "POST" and path == "/v1/checkout/sessions":
            return self._create_session(req.params)
        if req.method == "GET" and path.startswith("/v1/checkout/sessions/"):
            found = self.sessions.get(path.rsplit("/", 1)[1])
            return (
                (200, found) if found else (404, _error("invalid_request_error", "No such checkout.session"))
            )
        if req.method == "GET" and path.startswith("/v1/payment_intents/"):
            found = self.payment_intents.get(path.rsplit("/", 1)[1])
            return (200, found) if found else (404, _error("invalid_request_error", "No such payment_intent"))
        if req.method == "POST" and path == "/v1/billing_portal/sessions":
            if not req.params.get("customer"):
                return 400, _error("invalid_request_error", "Missing required param: customer.")
            n = next(self._ids)
            return 200, {
                "id": f"bps_standin_{n}", "object": "billing_portal.session", "created": int(time.time()),
                "customer": req.params["customer"], "livemode": False, "locale": req.params.get("locale"),
                "return_url": req.params.get("return_url"), "url": f"https://billing.stripe.test/p/session/{n}",
                "configuration": "bpc_standin", "flow": None, "on_behalf_of": None, "customer_account": None,
            }  # fmt: skip
        return 404, _error("invalid_request_error", f"Unrecognized request URL ({req.method}: {path})")

    def _create_session(self, p: dict[str, str]) -> tuple[int, dict]:
        mode = p.get("mode")
        if mode not in ("payment", "subscription", "setup"):
            return 400, _error("invalid_request_error", "Invalid mode", param="mode")
        amount = p.get("line_items[0][price_data][unit_amount]", "")
        if not amount.isdigit() or int(amount) <= 0:
            return 400, _error(
                "invalid_request_error", "Invalid integer", param="line_items[0][price_data][unit_amount]"
            )
        if mode == "subscription" and p.get("line_items[0][price_data][recurring][interval]") not in (
            "day",
            "week",
            "month",
            "year",
        ):
            return 400, _error("invalid_request_error", "subscription mode needs a recurring price")
        if mode == "payment" and "line_items[0][price_data][recurring][interval]" in p:
            return 400, _error("invalid_request_error", "payment mode takes no recurring price")
        n = next(self._ids)
        session = {
            "id": f"cs_test_standin{n}", "object": "checkout.session", "mode": mode, "status": "open",
            "payment_status": "unpaid", "amount_total": int(amount), "amount_subtotal": int(amount),
            "currency": p.get("line_items[0][price_data][currency]"),
            "client_reference_id": p.get("client_reference_id"),
            "customer": None, "customer_email": p.get("customer_email"), "customer_details": None,
            "metadata": {k[len("metadata["):-1]: v for k, v in p.items() if k.startswith("metadata[")},
            "success_url": p.get("success_url"), "cancel_url": p.get("cancel_url"), "livemode": False,
            "locale": p.get("locale"), "created": int(time.time()), "expires_at": int(time.time()) + 86400,
            "payment_intent": None, "subscription": None, "invoice": None,
            "url": f"{self.url}/c/pay/cs_test_standin{n}",
        }  # fmt: skip
        self.sessions[session["id"]] = session
        return 200, session


    # -- the Checkout page's "Pay" ---------------------------------------------------------------

    def pay(self, session_id: str, email: str = "leser@example.org") -> str | None:
        """Complete the session as a paying reader would, post the webhooks Stripe sends for it to
        ``webhook_url`` (signed), and return the address Checkout redirects to (``success_url``)."""
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return None
            n = next(self._ids)
            monthly = session["mode"] == "subscription"
            session.update({
                "status": "complete", "payment_status": "paid", "customer": f"cus_standin_{n}",
                "customer_details": {"email": session.get("customer_email") or email, "name": "Lea Leserin"},
                "payment_intent": None if monthly else f"pi_standin_{n}",
                "subscription": f"sub_standin_{n}" if monthly else None,
                "invoice": f"in_standin_{n}" if monthly else None,
            })  # fmt: skip
            if not monthly:
                self.payment_intents[session["payment_intent"]] = {
                    "id": session["payment_intent"], "object": "payment_intent", "status": "succeeded",
                    "amount": session["amount_total"], "currency": session["currency"],
                    "customer": session["customer"], "metadata": session["metadata"], "livemode": False,
                }  # fmt: skip
            events = [event("checkout.session.completed", dict(session))]
            if monthly:
                events.append(event("invoice.paid", _invoice_for(session)))
        for evt in events:
            self.webhook_answers.append(self.deliver(evt))
        return session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)

    def deliver(self, evt: dict) -> int:
        """POST one event to ``webhook_url`` with a valid ``Stripe-Signature``; the app's status code."""
        payload = json.dumps(evt).encode()
        headers = {"Content-Type": "application/json", "Stripe-Signature": sign(payload)}
        request = urllib.request.Request(self.webhook_url or "", data=payload, method="POST", headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (a test's own URL)
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code


def _checkout_page(session: dict) -> str:
    amount = f"{session['amount_total'] / 100:.2f} {str(session['currency']).upper()}"
    every = " / month" if session["mode"] == "subscription" else ""
    sid = escape(session["id"])
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Checkout (test stand-in)</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><link rel='icon' href='data:,'>"
        "</head><body>"
        f"<h1>Pay {escape(amount)}{every}</h1><p>Stripe Checkout stand-in for tests.</p>"
        f"<form method='post' action='/c/pay/{sid}/pay'><button type='submit'>Pay</button></form>"
        f"<form method='post' action='/c/pay/{sid}/cancel'><button type='submit'>Back</button></form>"
        "</body></html>"
    )


def _invoice_for(session: dict) -> dict:
    """The first invoice of a Checkout subscription, shaped as the current API shapes it."""
    now = int(time.time())
    return {
        "id": session["invoice"], "object": "invoice", "customer": session["customer"],
        "customer_email": session["customer_details"]["email"], "amount_due": session["amount_total"],
        "amount_paid": session["amount_total"], "amount_remaining": 0, "currency": session["currency"],
        "attempt_count": 1, "attempted": True, "billing_reason": "subscription_create", "status": "paid",
        "created": now, "livemode": False, "status_transitions": {"paid_at": now, "finalized_at": now},
        "parent": {
            "type": "subscription_details", "quote_details": None,
            "subscription_details": {
                "subscription": session["subscription"], "metadata": session["metadata"],
            },
        },
    }  # fmt: skip


def _error(kind: str, message: str, **extra: Any) -> dict:
    return {"error": {"type": kind, "message": message, **extra}}


# -- webhook events ------------------------------------------------------------------------------

_event_ids = itertools.count(1)


def event(
    kind: str, obj: dict, *, created: int | None = None, livemode: bool = False, event_id: str | None = None
) -> dict:
    return {
        "id": event_id or f"evt_test_{next(_event_ids)}_{int(time.time() * 1000)}", "object": "event",
        "api_version": "2026-10-28.endive", "created": created or int(time.time()), "livemode": livemode,
        "pending_webhooks": 1, "request": {"id": None, "idempotency_key": None}, "type": kind,
        "data": {"object": obj},
    }  # fmt: skip


def sign(payload: bytes, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """``Stripe-Signature``: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def post_event(
    client,
    evt: dict,
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
    header: str | None = None,
):
    payload = json.dumps(evt).encode()
    signature = header if header is not None else sign(payload, secret, timestamp)
    return client.post(
        "/webhooks/stripe",
        data=payload,
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
    )


def completed_session(donation, *, payment_status: str = "paid", email: str = "leser@example.org",
                      customer: str = "cus_test_1", payment_intent: str | None = None,
                      subscription: str | None = None) -> dict:  # fmt: skip
    monthly = donation.kind.value == "monthly"
    return {
        "id": donation.stripe_session_id or f"cs_test_for_{donation.id}", "object": "checkout.session",
        "mode": "subscription" if monthly else "payment", "status": "complete",
        "payment_status": payment_status,
        "amount_total": donation.amount_cents, "currency": donation.currency,
        "client_reference_id": str(donation.id),
        "metadata": {"donation_id": str(donation.id), "donation_reference": donation.reference},
        "customer": customer, "customer_email": None,
        "customer_details": {"email": email, "name": "Lea Leserin"}, "livemode": False,
        "payment_intent": None if monthly else (payment_intent or f"pi_test_for_{donation.id}"),
        "subscription": (subscription or f"sub_test_for_{donation.id}") if monthly else None,
        "created": int(time.time()),
    }  # fmt: skip


def invoice(donation, invoice_id: str, *, created: int, subscription: str | None = None, paid: bool = True,
            customer: str = "cus_test_1", attempt_count: int = 1) -> dict:  # fmt: skip
    """An invoice as the current API shapes it: the subscription under ``parent.subscription_details``, no
    top-level ``subscription``, ``paid`` or ``charge``."""
    return {
        "id": invoice_id, "object": "invoice", "customer": customer, "customer_email": "leser@example.org",
        "amount_due": donation.amount_cents, "amount_paid": donation.amount_cents if paid else 0,
        "amount_remaining": 0 if paid else donation.amount_cents, "currency": donation.currency,
        "attempt_count": attempt_count, "attempted": True, "billing_reason": "subscription_cycle",
        "status": "paid" if paid else "open", "created": created, "livemode": False,
        "status_transitions": {"paid_at": created + 60 if paid else None, "finalized_at": created},
        "parent": {
            "type": "subscription_details", "quote_details": None,
            "subscription_details": {
                "subscription": subscription or f"sub_test_for_{donation.id}",
                "metadata": {"donation_id": str(donation.id), "donation_reference": donation.reference},
            },
        },
    }  # fmt: skip


def subscription(donation, *, status: str, reason: str | None = None, sub_id: str | None = None,
                 customer: str = "cus_test_1") -> dict:  # fmt: skip
    now = int(time.time())
    return {
        "id": sub_id or f"sub_test_for_{donation.id}", "object": "subscription", "customer": customer,
        "status": status, "livemode": False,
        "metadata": {"donation_id": str(donation.id), "donation_reference": donation.reference},
        "cancellation_details": {"reason": reason, "comment": None, "feedback": None},
        "canceled_at": now if status == "canceled" else None,
        "ended_at": now if status == "canceled" else None,
        "items": {"object": "list", "data": [{"id": "si_test", "object": "subscription_item",
                  "current_period_start": now, "current_period_end": now + 30 * 86400}]},
    }  # fmt: skip


def charge(
    donation, *, amount_refunded: int, payment_intent: str | None = None, customer: str = "cus_test_1"
) -> dict:
    return {
        "id": f"ch_test_for_{donation.id}", "object": "charge", "amount": donation.amount_cents,
        "amount_captured": donation.amount_cents, "amount_refunded": amount_refunded,
        "refunded": amount_refunded >= donation.amount_cents, "currency": donation.currency,
        "customer": customer, "payment_intent": payment_intent or f"pi_test_for_{donation.id}",
        "paid": True, "status": "succeeded", "livemode": False, "metadata": {},
    }  # fmt: skip


def dispute(donation, *, status: str, payment_intent: str | None = None) -> dict:
    return {
        "id": f"dp_test_for_{donation.id}", "object": "dispute", "amount": donation.amount_cents,
        "currency": donation.currency, "charge": f"ch_test_for_{donation.id}",
        "payment_intent": payment_intent or f"pi_test_for_{donation.id}", "reason": "fraudulent",
        "status": status, "livemode": False, "metadata": {},
    }  # fmt: skip
