"""The test checkout's Stripe: a small stand-in, on a loopback port, for the part of Stripe's API that a
donation uses, so that ``make run`` without Stripe keys shows the whole donation journey. No money moves.

The app talks to it through the official SDK (``STRIPE_API_BASE``) exactly as it talks to Stripe, and it
answers only what checkout asks: Checkout Sessions (create, retrieve), the monthly donation's Product
(retrieve, create) and its Prices (list by lookup key, create). Every other address is answered 404, as
Stripe answers an address it does not know. Writes honour idempotency keys.

A session's ``url`` is Beitrag's own test checkout page (``payments.demo_checkout.views``). When the donor
presses "pay" there, the page asks ``POST /demo/checkout/sessions/<id>/pay`` (the stand-in's only address
of its own): the session completes and the events Stripe sends for it are posted, signed with the webhook
secret, to the app's real webhook endpoint, in Stripe's order, before the answer names the ``success_url``.
The objects carry the fields of Stripe's current API (2026-10-28) that such a checkout fills in: an
invoice names its subscription under ``parent.subscription_details``, a subscription's periods are on its
items, the invoice's payment intent is on an ``invoice_payment``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

log = logging.getLogger(__name__)

API_VERSION = "2026-10-28.endive"  # what the SDK sends; the events say the same
PAGE_PATH = "/spenden/testkasse/"  # Beitrag's test checkout page, under BASE_URL
_ONE = re.compile(r"^/v1/(?P<kind>checkout/sessions|products|prices)/(?P<id>[A-Za-z0-9_.:-]{1,200})$")
_PAY = re.compile(r"^/demo/checkout/sessions/(?P<id>cs_[A-Za-z0-9_]{1,200})/pay$")
_NO_ADDRESS = {
    "city": None,
    "country": None,
    "line1": None,
    "line2": None,
    "postal_code": None,
    "state": None,
}


class Refusal(Exception):
    """Answered as Stripe answers a refused request: ``{"error": {...}}`` with the status."""

    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None):
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": "invalid_request_error", "message": message, "code": code,
                               "param": param}}  # fmt: skip


def nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (``line_items[0][price_data][unit_amount]=500``) as nested values; numbered
    keys become lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        if parts:
            node[parts[-1]] = value

    def lists(node: Any) -> Any:
        if isinstance(node, dict):
            if node and all(k.isdigit() for k in node):
                return [lists(node[k]) for k in sorted(node, key=int)]
            return {k: lists(v) for k, v in node.items()}
        return node

    return lists(root)


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """``Stripe-Signature``: ``t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>``."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def _int(value: Any, param: str) -> int:
    if not isinstance(value, str) or not value.isdigit() or len(value) > 12:
        raise Refusal(400, f"Invalid integer: {value}", param=param)
    return int(value)


class CheckoutStandIn:
    """The stand-in's objects and what a payment does to them. ``page_base`` is Beitrag's address (where
    the test checkout page is), ``webhook_url`` its webhook endpoint; ``state_file`` keeps the Products
    and Prices across restarts of ``make run`` (Beitrag remembers their ids)."""

    def __init__(self, *, api_key: str, webhook_secret: str, page_base: str, webhook_url: str,
                 state_file: Path | None = None) -> None:  # fmt: skip
        self.api_key, self.webhook_secret = api_key, webhook_secret
        self.page_base, self.webhook_url = page_base.rstrip("/"), webhook_url
        self.state_file = state_file
        self.lock = threading.RLock()
        self.store: dict[str, dict[str, dict]] = {"checkout.session": {}, "product": {}, "price": {}}
        self.idempotent: dict[str, tuple[dict, int, dict]] = {}
        self.webhook_answers: list[int] = []
        if state_file is not None and state_file.exists():
            saved = json.loads(state_file.read_text())
            self.store["product"].update(saved.get("product", {}))
            self.store["price"].update(saved.get("price", {}))

    def _save(self) -> None:
        if self.state_file is not None:
            kept = {kind: self.store[kind] for kind in ("product", "price")}
            self.state_file.write_text(json.dumps(kept))

    @staticmethod
    def _id(prefix: str) -> str:
        return f"{prefix}_demo{secrets.token_hex(12)}"

    # -- the API, as Stripe answers it ---------------------------------------------------------------

    def answer(self, method: str, path: str, params: dict, authorization: str | None,
               idempotency_key: str | None) -> tuple[int, dict]:  # fmt: skip
        if not hmac.compare_digest(authorization or "", f"Bearer {self.api_key}"):
            return 401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
        with self.lock:
            if method == "POST" and idempotency_key and idempotency_key in self.idempotent:
                seen, status, body = self.idempotent[idempotency_key]
                if seen != params:
                    return 400, {"error": {"type": "idempotency_error", "message": "Keys for idempotent "
                                           "requests can only be used with the same parameters"}}  # fmt: skip
                return status, body
            try:
                status, body = 200, self._route(method, path, params)
            except Refusal as refusal:
                status, body = refusal.status, refusal.body
            if method == "POST" and idempotency_key:
                self.idempotent[idempotency_key] = (params, status, body)
            return status, body

    def _route(self, method: str, path: str, params: dict) -> dict:
        if method == "POST" and path == "/v1/checkout/sessions":
            return self.create_session(params)
        if method == "POST" and path == "/v1/products":
            return self.create_product(params)
        if method == "POST" and path == "/v1/prices":
            return self.create_price(params)
        if method == "GET" and path == "/v1/prices":
            return self.list_prices(params)
        found = _ONE.match(path)
        if method == "GET" and found:
            kind = {"checkout/sessions": "checkout.session", "products": "product", "prices": "price"}
            return self.get(kind[found["kind"]], found["id"])
        raise Refusal(404, f"Unrecognized request URL ({method}: {path}). The test checkout answers only "
                           "what a donation's checkout asks.")  # fmt: skip

    def get(self, kind: str, object_id: str) -> dict:
        found = self.store[kind].get(object_id)
        if found is None:
            raise Refusal(404, f"No such {kind.split('.')[-1]}: '{object_id}'", code="resource_missing",
                          param="id")  # fmt: skip
        return found

    def create_product(self, p: dict) -> dict:
        product_id = p.get("id") or self._id("prod")
        if product_id in self.store["product"]:
            raise Refusal(400, f"Product already exists: '{product_id}'", code="resource_already_exists")
        if not p.get("name"):
            raise Refusal(400, "Missing required param: name.", code="parameter_missing", param="name")
        now = int(time.time())
        product = {
            "active": True, "created": now, "default_price": None, "description": None, "id": product_id,
            "images": [], "livemode": False, "marketing_features": [], "metadata": p.get("metadata") or {},
            "name": p["name"], "object": "product", "package_dimensions": None, "shippable": None,
            "statement_descriptor": None, "tax_code": None, "type": "service", "unit_label": None,
            "updated": now, "url": None,
        }  # fmt: skip
        self.store["product"][product_id] = product
        self._save()
        return product

    def _price(self, product_id: str, currency: str, amount: int, recurring: dict | None, *,
               lookup_key: str | None = None, metadata: dict | None = None,
               active: bool = True) -> dict:  # fmt: skip
        price = {
            "active": active, "billing_scheme": "per_unit", "created": int(time.time()), "currency": currency,
            "custom_unit_amount": None, "id": self._id("price"), "livemode": False, "lookup_key": lookup_key,
            "metadata": metadata or {}, "nickname": None, "object": "price", "product": product_id,
            "recurring": recurring and {"interval": recurring.get("interval"), "interval_count": 1,
                                        "meter": None, "usage_type": "licensed", "trial_period_days": None},
            "tax_behavior": "unspecified", "tiers_mode": None, "transform_quantity": None,
            "type": "recurring" if recurring else "one_time", "unit_amount": amount,
            "unit_amount_decimal": str(amount),
        }  # fmt: skip
        self.store["price"][price["id"]] = price
        return price

    def create_price(self, p: dict) -> dict:
        if p.get("product") not in self.store["product"]:
            raise Refusal(
                400, f"No such product: '{p.get('product')}'", code="resource_missing", param="product"
            )
        lookup_key = p.get("lookup_key") or None
        if lookup_key:
            for other in self.store["price"].values():
                if other["lookup_key"] == lookup_key:
                    if p.get("transfer_lookup_key") != "true":
                        raise Refusal(400, f"A price with lookup key {lookup_key} already exists.",
                                      param="lookup_key")  # fmt: skip
                    other["lookup_key"] = None
        recurring = p.get("recurring") if isinstance(p.get("recurring"), dict) else None
        price = self._price(p["product"], str(p.get("currency") or "").lower(),
                            _int(p.get("unit_amount"), "unit_amount"), recurring, lookup_key=lookup_key,
                            metadata=p.get("metadata") or {})  # fmt: skip
        self._save()
        return price

    def list_prices(self, p: dict) -> dict:
        keys = p.get("lookup_keys") or []
        keys = keys if isinstance(keys, list) else [keys]
        active = {"true": True, "false": False}.get(p.get("active", ""))
        found = [price for price in self.store["price"].values()
                 if (not keys or price["lookup_key"] in keys)
                 and (active is None or price["active"] is active)]  # fmt: skip
        limit = _int(p.get("limit", "10"), "limit")
        found.sort(key=lambda price: price["created"], reverse=True)
        return {"object": "list", "data": found[:limit], "has_more": len(found) > limit, "url": "/v1/prices"}

    def create_session(self, p: dict) -> dict:
        mode = p.get("mode")
        items = p.get("line_items")
        if mode not in ("payment", "subscription"):
            raise Refusal(400, "The test checkout knows the modes payment and subscription.", param="mode")
        if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
            raise Refusal(400, "The test checkout takes one line item.", param="line_items")
        item = items[0]
        if item.get("price"):
            price = self.get("price", item["price"])
            if not price["active"]:
                raise Refusal(400, "The price specified is inactive.", param="line_items[0][price]")
        elif isinstance(item.get("price_data"), dict) and mode == "payment":
            data = item["price_data"]
            name = (data.get("product_data") or {}).get("name") or "Donation"
            product = self.create_product({"name": name})
            product["active"] = False
            price = self._price(product["id"], str(data.get("currency") or "").lower(),
                                _int(data.get("unit_amount"), "line_items[0][price_data][unit_amount]"),
                                None, active=False)  # fmt: skip
        else:
            raise Refusal(400, "Missing required param: line_items[0][price].", param="line_items[0][price]")
        if (mode == "subscription") != (price["type"] == "recurring"):
            raise Refusal(400, f"A {price['type']} price cannot be used in {mode} mode.", param="line_items")
        quantity = _int(item.get("quantity", "1"), "line_items[0][quantity]")
        total = price["unit_amount"] * quantity
        now = int(time.time())
        session_id = f"cs_test_demo{secrets.token_hex(16)}"
        session = {
            "amount_subtotal": total, "amount_total": total, "cancel_url": p.get("cancel_url"),
            "client_reference_id": p.get("client_reference_id"), "created": now,
            "currency": price["currency"], "customer": p.get("customer"),
            "customer_creation": p.get("customer_creation", "if_required") if mode == "payment" else None,
            "customer_details": None, "customer_email": p.get("customer_email"),
            "expires_at": now + 86400, "id": session_id, "invoice": None, "livemode": False,
            "locale": p.get("locale"), "metadata": p.get("metadata") or {}, "mode": mode,
            "object": "checkout.session", "payment_intent": None, "payment_method_types": ["card"],
            "payment_status": "unpaid", "status": "open", "submit_type": p.get("submit_type"),
            "subscription": None, "success_url": p.get("success_url"), "ui_mode": "hosted_page",
            "url": f"{self.page_base}{PAGE_PATH}{session_id}",
        }  # fmt: skip
        # What the session hands on to the payment intent or subscription it makes (not shown by Stripe).
        handed = p.get("subscription_data") if mode == "subscription" else p.get("payment_intent_data")
        session["_hand_on"] = {"price": price["id"], "quantity": quantity,
                               "metadata": (handed or {}).get("metadata") or {}}  # fmt: skip
        self.store["checkout.session"][session_id] = session
        return self.view(session)

    @staticmethod
    def view(obj: dict) -> dict:
        return {key: value for key, value in obj.items() if not key.startswith("_")}

    # -- the donor presses "pay" ----------------------------------------------------------------------

    def pay(self, session_id: str, email: str) -> tuple[str, list[dict]]:
        """Complete the session with a card that is always accepted; the address Checkout sends the donor
        to, and the events Stripe sends for it (none when it was complete already)."""
        with self.lock:
            session = self.get("checkout.session", session_id)
            target = str(session.get("success_url") or self.page_base).replace(
                "{CHECKOUT_SESSION_ID}", session_id
            )
            if session["status"] != "open":
                return target, []
            now = int(time.time())
            events: list[dict] = []
            email = session.get("customer_email") or email
            customer = session.get("customer") or self._id("cus")
            session.update(customer=customer, customer_details={
                "address": {**_NO_ADDRESS, "country": "DE"}, "email": email, "name": None, "phone": None,
                "tax_exempt": "none", "tax_ids": [], "business_name": None,
                "individual_name": None})  # fmt: skip
            hand_on = session["_hand_on"]
            if session["mode"] == "payment":
                intent = self._intent(session["amount_total"], session["currency"], customer,
                                      hand_on["metadata"], now)  # fmt: skip
                session["payment_intent"] = intent["id"]
                events.append(self._event("payment_intent.succeeded", intent, now))
            else:
                self._subscribe(session, hand_on, now, events)
            session.update(status="complete", payment_status="paid")
            events.append(self._event("checkout.session.completed", self.view(session), now))
            return target, events

    def _intent(self, amount: int, currency: str, customer: str, metadata: dict, now: int,
                description: str | None = None) -> dict:  # fmt: skip
        return {
            "amount": amount, "amount_capturable": 0, "amount_received": amount, "application": None,
            "canceled_at": None, "cancellation_reason": None, "capture_method": "automatic",
            "confirmation_method": "automatic", "created": now, "currency": currency, "customer": customer,
            "description": description, "id": self._id("pi"), "last_payment_error": None,
            "latest_charge": self._id("ch"), "livemode": False, "metadata": metadata, "next_action": None,
            "object": "payment_intent", "payment_method": self._id("pm"), "payment_method_types": ["card"],
            "receipt_email": None, "status": "succeeded",
        }  # fmt: skip

    def _subscribe(self, session: dict, hand_on: dict, now: int, events: list[dict]) -> None:
        price = self.store["price"][hand_on["price"]]
        amount = price["unit_amount"] * hand_on["quantity"]
        subscription_id, invoice_id = self._id("sub"), self._id("in")
        period_end = now + 30 * 86400  # the world of the test checkout never renews
        subscription = {
            "billing_cycle_anchor": now, "cancel_at": None, "cancel_at_period_end": False,
            "canceled_at": None,
            "cancellation_details": {"comment": None, "feedback": None, "reason": None},
            "collection_method": "charge_automatically", "created": now, "currency": price["currency"],
            "customer": session["customer"], "ended_at": None, "id": subscription_id,
            "items": {"object": "list", "has_more": False,
                      "url": f"/v1/subscription_items?subscription={subscription_id}",
                      "data": [{"created": now, "current_period_end": period_end, "current_period_start": now,
                                "id": self._id("si"), "metadata": {}, "object": "subscription_item",
                                "price": self.view(price), "quantity": hand_on["quantity"],
                                "subscription": subscription_id}]},
            "latest_invoice": invoice_id, "livemode": False, "metadata": hand_on["metadata"],
            "object": "subscription", "start_date": now, "status": "incomplete",
        }  # fmt: skip
        events.append(self._event("customer.subscription.created", subscription, now))
        intent = self._intent(
            amount, price["currency"], session["customer"], {}, now, "Subscription creation"
        )
        invoice = {
            "amount_due": amount, "amount_paid": amount, "amount_remaining": 0, "attempt_count": 1,
            "attempted": True, "billing_reason": "subscription_create",
            "collection_method": "charge_automatically", "created": now, "currency": price["currency"],
            "customer": session["customer"], "customer_email": session["customer_details"]["email"],
            "id": invoice_id, "livemode": False, "metadata": {}, "number": None, "object": "invoice",
            "parent": {"type": "subscription_details", "quote_details": None,
                       "subscription_details": {"subscription": subscription_id,
                                                "metadata": hand_on["metadata"]}},
            "period_end": now, "period_start": now, "status": "paid",
            "status_transitions": {"finalized_at": now, "marked_uncollectible_at": None, "paid_at": now,
                                   "voided_at": None},
            "subtotal": amount, "total": amount,
        }  # fmt: skip
        payment = {
            "amount_paid": amount, "amount_requested": amount, "created": now, "currency": price["currency"],
            "id": self._id("inpay"), "invoice": invoice_id, "is_default": True, "livemode": False,
            "object": "invoice_payment",
            "payment": {"type": "payment_intent", "payment_intent": intent["id"]},
            "status": "paid", "status_transitions": {"canceled_at": None, "paid_at": now},
        }  # fmt: skip
        events += [self._event("payment_intent.succeeded", intent, now),
                   self._event("invoice.paid", invoice, now),
                   self._event("invoice_payment.paid", payment, now)]  # fmt: skip
        subscription["status"] = "active"
        events.append(
            self._event("customer.subscription.updated", subscription, now, {"status": "incomplete"})
        )
        session.update(subscription=subscription_id, invoice=invoice_id)

    def _event(self, kind: str, obj: dict, now: int, previous: dict | None = None) -> dict:
        data: dict[str, Any] = {"object": json.loads(json.dumps(obj))}
        if previous is not None:
            data["previous_attributes"] = previous
        return {
            "id": self._id("evt"), "object": "event", "api_version": API_VERSION, "created": now,
            "data": data, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": kind,
        }  # fmt: skip

    def deliver(self, events: list[dict]) -> list[int]:
        """Post the events in order to the app's webhook endpoint, signed; the app's answers."""
        answers = []
        for event in events:
            payload = json.dumps(event).encode()
            headers = {"Content-Type": "application/json; charset=utf-8",
                       "Stripe-Signature": sign(payload, self.webhook_secret)}  # fmt: skip
            request = urllib.request.Request(self.webhook_url, data=payload, headers=headers, method="POST")  # noqa: S310
            try:
                with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (the app's own address)
                    answers.append(answer.status)
            except urllib.error.HTTPError as exc:
                answers.append(exc.code)
            except OSError as exc:
                log.warning("test checkout: event %s not delivered: %s", event["type"], exc)
                answers.append(0)
        with self.lock:
            self.webhook_answers.extend(answers)
        return answers

    # -- the HTTP server -----------------------------------------------------------------------------

    def serve(self, port: int = 0) -> ThreadingHTTPServer:
        """The server on 127.0.0.1 (``port`` 0: any free one); call ``serve_forever`` on it."""
        checkout = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self, method: str) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                if length > 64 * 1024:
                    return self._send(
                        413, {"error": {"type": "invalid_request_error", "message": "Too large"}}
                    )
                raw = self.rfile.read(length).decode() if length else parts.query
                params = nest(parse_qsl(raw, keep_blank_values=True))
                found = _PAY.match(parts.path) if method == "POST" else None
                if found:
                    return self._pay(found["id"], params)
                status, body = checkout.answer(method, parts.path, params, self.headers.get("Authorization"),
                                               self.headers.get("Idempotency-Key"))  # fmt: skip
                self._send(status, body)

            def _pay(self, session_id: str, params: dict) -> None:
                status, body = checkout.answer("GET", f"/v1/checkout/sessions/{session_id}", {},
                                               self.headers.get("Authorization"), None)  # fmt: skip
                if status != 200:
                    return self._send(status, body)
                target, events = checkout.pay(session_id, str(params.get("email") or ""))
                answers = checkout.deliver(events)
                self._send(200, {"success_url": target, "webhook_answers": answers})

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Request-Id", f"req_demo{secrets.token_hex(6)}")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                self._handle("GET")

            def do_POST(self):
                self._handle("POST")

            def log_message(self, format, *args):
                log.debug("test checkout: " + format, *args)

        server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        return server


def request_payment(api_base: str, api_key: str, session_id: str, email: str, *, timeout: float = 60) -> str:
    """Ask the stand-in to complete ``session_id`` (the donor pressed "pay" on the test checkout page);
    the address to send the donor to. Raises ``OSError`` when the stand-in cannot be reached or refuses."""
    data = urlencode({"email": email}).encode()
    request = urllib.request.Request(  # noqa: S310 (DEMO_CHECKOUT_URL is a loopback address, checked at start)
        f"{api_base}/demo/checkout/sessions/{session_id}/pay",
        data=data,
        method="POST",
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
        return str(json.loads(answer.read())["success_url"])
