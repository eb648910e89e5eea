"""A local stand-in for Stripe's API, on a real HTTP port: the ``stripe`` SDK talks to it as to Stripe.

It answers from a ``StripeWorld`` (stripe_world.py), one test-mode account's objects, the way Stripe's API
answers: JSON objects, ``{"object": "list", ...}`` pages newest first (``limit``, ``starting_after``,
``ending_before``, ``created[...]``), ``expand[]``, and ``{"error": {...}}`` with 400 or 404. Parameters are
checked against the SDK's own parameter classes (generated from Stripe's spec): a name Stripe does not know
is refused as Stripe refuses it, and a list filter Stripe knows but the stand-in does not model is refused
too, rather than ignored, so that no test trusts an unfiltered list. It also checks the secret key and
idempotency keys (the same key with other parameters is refused, with the same ones it answers the first
object again), records every request, and can fail (``fail_next``) or hang (``world.hang()``).

A session's ``url`` is a Checkout page a browser can open on this server (``/c/pay/<id>``): its "Pay"
button completes the session in the world, posts the signed webhooks Stripe would send for it to
``webhook_url``, in order, and redirects to the session's ``success_url``, as Stripe does; "Back" goes to
the ``cancel_url``. Webhook events for hand-written tests are built and signed here too (``event``,
``sign``, ``post_event`` and the builders below), with Stripe's scheme computed independently of the SDK.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import itertools
import json
import re
import threading
import time
import traceback
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import stripe.params as sdk_params
import stripe.params.billing_portal as sdk_portal
import stripe.params.checkout as sdk_checkout
from stripe import RequestOptions

from tests.support.stripe_shapes import list_object
from tests.support.stripe_world import StripeRefusal, StripeWorld, as_bool, as_int, nest

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


# -- what each endpoint accepts, from the SDK's parameter classes ------------------------------------

_OPTIONS = set(RequestOptions.__annotations__)  # the SDK's own options, never sent as parameters


def _accepts(params_class: type) -> frozenset[str]:
    return frozenset(params_class.__annotations__) - _OPTIONS


Filter = Callable[[dict, Any], bool]


def _same(key: str) -> Filter:
    return lambda obj, value: obj.get(key) == value


def _flag(key: str) -> Filter:
    return lambda obj, value: obj.get(key) == as_bool(value, key)


def _invoice_subscription(obj: dict, value: Any) -> bool:
    return ((obj.get("parent") or {}).get("subscription_details") or {}).get("subscription") == value


def _invoice_payment(obj: dict, value: Any) -> bool:
    """``payment[type]`` is required once ``payment`` is given, as in Stripe."""
    if not isinstance(value, dict) or not value.get("type"):
        raise StripeRefusal.missing_param("payment[type]")
    payment = obj.get("payment") or {}
    return all(payment.get(key) == wanted for key, wanted in value.items())


def _subscription_status(obj: dict, value: Any) -> bool:
    return value == "all" or obj.get("status") == value


def _not_canceled(obj: dict) -> bool:
    """Without ``status``, Stripe lists the subscriptions that have not been canceled."""
    return obj.get("status") not in ("canceled", "incomplete_expired")


def _has_price(obj: dict, value: Any) -> bool:
    return any(item["price"]["id"] == value for item in obj["items"]["data"])


def _lookup_keys(obj: dict, value: Any) -> bool:
    return obj.get("lookup_key") in (value if isinstance(value, list) else [value])


def _recurring(obj: dict, value: Any) -> bool:
    found = obj.get("recurring") or {}
    return isinstance(value, dict) and all(found.get(key) == wanted for key, wanted in value.items())


def _event_type(obj: dict, value: Any) -> bool:
    return fnmatch.fnmatchcase(obj["type"], str(value))  # Stripe's ``*`` wildcard: "invoice.*"


@dataclass(frozen=True)
class _Listing:
    kind: str  # the world's store, or "event"
    accepts: frozenset[str]
    filters: dict[str, Filter]
    default: Callable[[dict], bool] | None = None  # applied when the ``status`` filter is absent


_LISTS: dict[str, _Listing] = {
    "/v1/checkout/sessions": _Listing("checkout.session", _accepts(sdk_checkout.SessionListParams), {
        "customer": _same("customer"), "payment_intent": _same("payment_intent"),
        "subscription": _same("subscription"), "status": _same("status")}),
    "/v1/products": _Listing("product", _accepts(sdk_params.ProductListParams), {
        "active": _flag("active"), "ids": lambda obj, ids: obj["id"] in ids, "type": _same("type")}),
    "/v1/prices": _Listing("price", _accepts(sdk_params.PriceListParams), {
        "active": _flag("active"), "currency": _same("currency"), "lookup_keys": _lookup_keys,
        "product": _same("product"), "type": _same("type"), "recurring": _recurring}),
    "/v1/customers": _Listing("customer", _accepts(sdk_params.CustomerListParams), {"email": _same("email")}),
    "/v1/payment_intents": _Listing("payment_intent", _accepts(sdk_params.PaymentIntentListParams), {
        "customer": _same("customer")}),
    "/v1/charges": _Listing("charge", _accepts(sdk_params.ChargeListParams), {
        "customer": _same("customer"), "payment_intent": _same("payment_intent")}),
    "/v1/refunds": _Listing("refund", _accepts(sdk_params.RefundListParams), {
        "charge": _same("charge"), "payment_intent": _same("payment_intent")}),
    "/v1/disputes": _Listing("dispute", _accepts(sdk_params.DisputeListParams), {
        "charge": _same("charge"), "payment_intent": _same("payment_intent")}),
    "/v1/invoices": _Listing("invoice", _accepts(sdk_params.InvoiceListParams), {
        "customer": _same("customer"), "status": _same("status"), "subscription": _invoice_subscription,
        "collection_method": _same("collection_method")}),
    "/v1/invoice_payments": _Listing("invoice_payment", _accepts(sdk_params.InvoicePaymentListParams), {
        "invoice": _same("invoice"), "status": _same("status"), "payment": _invoice_payment}),
    "/v1/subscriptions": _Listing("subscription", _accepts(sdk_params.SubscriptionListParams), {
        "customer": _same("customer"), "status": _subscription_status, "price": _has_price}, _not_canceled),
    "/v1/billing_portal/configurations": _Listing(
        "billing_portal.configuration", _accepts(sdk_portal.ConfigurationListParams),
        {"active": _flag("active"), "is_default": _flag("is_default")}),
    "/v1/events": _Listing("event", _accepts(sdk_params.EventListParams), {
        "type": _event_type, "types": lambda obj, kinds: any(_event_type(obj, k) for k in kinds)}),
}  # fmt: skip

# POST <path>: the world's method that makes the object, and the parameters Stripe takes for it.
_CREATES: dict[str, tuple[str, frozenset[str]]] = {
    "/v1/checkout/sessions": ("create_checkout_session", _accepts(sdk_checkout.SessionCreateParams)),
    "/v1/products": ("create_product", _accepts(sdk_params.ProductCreateParams)),
    "/v1/prices": ("create_price", _accepts(sdk_params.PriceCreateParams)),
    "/v1/customers": ("create_customer", _accepts(sdk_params.CustomerCreateParams)),
    "/v1/refunds": ("create_refund", _accepts(sdk_params.RefundCreateParams)),
    "/v1/billing_portal/configurations": (
        "create_portal_configuration", _accepts(sdk_portal.ConfigurationCreateParams)),
    "/v1/billing_portal/sessions": ("create_portal_session", _accepts(sdk_portal.SessionCreateParams)),
}
_ONE = re.compile(r"^(?P<list>/v1/(?:checkout/sessions|billing_portal/configurations|[a-z_]+))"
                  r"/(?P<id>[^/]+)$")
_LINE_ITEMS = re.compile(r"^/v1/checkout/sessions/(?P<id>[^/]+)/line_items$")


def _check_params(q: dict, accepts: frozenset[str]) -> None:
    for key in q:
        if key not in accepts:
            message = f"Received unknown parameter: {key}"
            raise StripeRefusal(400, message, code="parameter_unknown", param=key)


def _expansions(q: dict) -> list[str]:
    expand = q.pop("expand", [])
    return [expand] if isinstance(expand, str) else list(expand)


def _created(obj: dict, bounds: Any) -> bool:
    created = int(obj.get("created") or 0)
    if not isinstance(bounds, dict):
        return created == as_int(bounds, "created")
    checks = {"gt": created.__gt__, "gte": created.__ge__, "lt": created.__lt__, "lte": created.__le__}
    for op, value in bounds.items():
        if op not in checks:
            raise StripeRefusal(400, f"Received unknown parameter: created[{op}]", param=f"created[{op}]")
        if not checks[op](as_int(value, f"created[{op}]")):
            return False
    return True


@dataclass
class StripeStandIn:
    """Stripe's API on a loopback port, answering from ``world`` (a fresh one unless given)."""

    requests: list[Recorded] = field(default_factory=list)
    fail_next: list[tuple[int, dict]] = field(default_factory=list)  # (status, error object)
    webhook_url: str | None = None  # where the Checkout page's "Pay" posts the signed events
    webhook_answers: list[int] = field(default_factory=list)  # the app's status for each event posted
    world: StripeWorld = field(default_factory=StripeWorld)
    _idempotent: dict[str, tuple[dict, int, dict]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def sessions(self) -> dict[str, dict]:
        """The world's Checkout Sessions by id; tests may change one (e.g. its ``payment_status``)."""
        return self.world.sessions

    @property
    def payment_intents(self) -> dict[str, dict]:
        """The world's payment intents by id; tests may place one the app will retrieve."""
        return self.world.payment_intents

    def start(self) -> StripeStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, content_type: str, data: bytes, location: str | None = None) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Request-Id", f"req_standin_{next(standin._ids)}")
                    if location:
                        self.send_header("Location", location)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a hung request): nothing to answer

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
                self._send(status, "application/json", json.dumps(body).encode())

            def _page(self, status: int, html: str, location: str | None = None) -> None:
                self._send(status, "text/html; charset=utf-8", html.encode(), location)

            def do_GET(self):
                if self.path.startswith("/c/pay/"):
                    found = standin.sessions.get(urlsplit(self.path).path.rsplit("/", 1)[1])
                    if found is None:
                        return self._page(404, "<h1>No such Checkout Session</h1>")
                    items = standin.world._checkout.get(found["id"], {}).get("items", [])
                    return self._page(200, _checkout_page(found, items))
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
        self.world.checkout_base = self.url
        # A short poll, so that stop() (shutdown waits for the loop to look) takes milliseconds, not 0.5 s.
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.world.release()  # hung requests answer, so their threads end
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
        self.world.hold()  # a slow or hanging Stripe waits here, holding no lock
        with self.lock:
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
            try:
                status, body = 200, self._dispatch(req)
            except StripeRefusal as refusal:
                status, body = refusal.status, refusal.body()
            except Exception as exc:  # a bug in the stand-in: say so, as Stripe's 500 would
                traceback.print_exc()
                status, body = 500, _error("api_error", f"stand-in failure: {exc!r}")
            if req.method == "POST" and req.idempotency_key:
                self._idempotent[req.idempotency_key] = (req.params, status, body)
            return status, body

    def _dispatch(self, req: Recorded) -> dict:
        world, path, q = self.world, req.path.rstrip("/"), nest(req.params)
        expand = _expansions(q)
        with world.lock:
            if req.method == "POST" and path in _CREATES:
                method, accepts = _CREATES[path]
                _check_params(q, accepts)
                return world.view(getattr(world, method)(q), expand)
            if req.method == "GET" and path in _LISTS:
                return self._page(path, _LISTS[path], q, expand)
            found = _LINE_ITEMS.match(path)
            if req.method == "GET" and found:
                _check_params(q, frozenset({"limit", "starting_after", "ending_before"}))
                session = world.get("checkout.session", found["id"])
                return world.view(session, ["line_items"])["line_items"]
            found = _ONE.match(path)
            if found and found["list"] in _LISTS:
                kind = _LISTS[found["list"]].kind
                if req.method == "POST" and kind == "price":
                    _check_params(q, _accepts(sdk_params.PriceUpdateParams))
                    return world.view(world.update_price(found["id"], q), expand)
                if req.method == "GET":
                    _check_params(q, frozenset())
                    return world.view(self._one(kind, found["id"]), expand)
        raise StripeRefusal(404, f"Unrecognized request URL ({req.method}: {req.path}).")

    def _one(self, kind: str, object_id: str, *, param: str | None = None, status: int = 404) -> dict:
        if kind != "event":
            return self.world.get(kind, object_id, param=param, status=status)
        found = next((e for e in self.world.events if e["id"] == object_id), None)
        if found is None:
            raise StripeRefusal.no_such("event", object_id, param or "id", status)
        return found

    def _page(self, path: str, listing: _Listing, q: dict, expand: list[str]) -> dict:
        """One page of a list, newest first, as Stripe pages it."""
        world = self.world
        _check_params(q, listing.accepts)
        limit = as_int(q.pop("limit", 10), "limit", minimum=1)
        if limit > 100:
            raise StripeRefusal(400, "This value must be less than or equal to 100.", param="limit")
        after, before = q.pop("starting_after", None), q.pop("ending_before", None)
        created = q.pop("created", None)
        for key in q:
            if key not in listing.filters:
                message = f"The stand-in does not model the filter {key!r} of {path}"
                raise StripeRefusal(400, message, param=key)

        pool = world.events if listing.kind == "event" else world.stores()[listing.kind].values()
        found = [obj for obj in pool
                 if all(match(obj, q[key]) for key, match in listing.filters.items() if key in q)
                 and (created is None or _created(obj, created))
                 and (listing.default is None or "status" in q or listing.default(obj))]  # fmt: skip
        found = world.ordered(found)
        if after or before:
            param = "starting_after" if after else "ending_before"
            cursor = world.order_key(self._one(listing.kind, after or before, param=param, status=400))
            if after:

                window = [obj for obj in found if world.order_key(obj) < cursor]
                page, more = window[:limit], len(window) > limit
            else:
                window = [obj for obj in found if world.order_key(obj) > cursor]
                page, more = window[-limit:], len(window) > limit
        else:
            page, more = found[:limit], len(found) > limit
        inner = []
        for path_ in expand:
            if not path_.startswith("data."):
                raise StripeRefusal(400, f"This property cannot be expanded ({path_}).", param="expand")
            inner.append(path_.removeprefix("data."))
        return list_object([world.view(obj, inner) for obj in page], path, more)

    # -- the Checkout page's "Pay" ---------------------------------------------------------------

    def pay(self, session_id: str, email: str = "leser@example.org", *, method: str = "card") -> str | None:
        """Complete the session as a paying reader would, post the webhooks Stripe sends for it to
        ``webhook_url`` (signed, in order), and return the address Checkout redirects to (``success_url``)."""
        with self.world.lock:
            session = self.world.sessions.get(session_id)
            if session is None:
                return None
            events = []
            if session.get("status") == "open":
                events = self.world.complete_session(session_id, method=method, email=email)
            target = session.get("success_url") or "/"
        self.deliver_all(events)
        return target.replace("{CHECKOUT_SESSION_ID}", session_id)

    def deliver_all(self, events: list[dict]) -> list[int]:
        """Post the events in order (as the world returned them); the app's answers, also in
        ``webhook_answers``."""
        answers = [self.deliver(evt) for evt in events]
        self.webhook_answers.extend(answers)
        return answers

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


def _checkout_page(session: dict, items: list[dict]) -> str:
    amount = f"{session['amount_total'] / 100:.2f} {str(session['currency']).upper()}"
    intervals = {(item["price"].get("recurring") or {}).get("interval") for item in items} - {None}
    every = f" / {intervals.pop()}" if session["mode"] == "subscription" and len(intervals) == 1 else ""
    lines = "".join(
        f"<li>{escape(str(item.get('description') or ''))}: "
        f"{item['amount_total'] / 100:.2f} {str(item['currency']).upper()}</li>"
        for item in items
    )
    sid = escape(session["id"])
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Checkout (test stand-in)</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'><link rel='icon' href='data:,'>"
        "</head><body>"
        f"<h1>Pay {escape(amount)}{every}</h1><ul>{lines}</ul><p>Stripe Checkout stand-in for tests.</p>"
        f"<form method='post' action='/c/pay/{sid}/pay'><button type='submit'>Pay</button></form>"
        f"<form method='post' action='/c/pay/{sid}/cancel'><button type='submit'>Back</button></form>"
        "</body></html>"
    )


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
