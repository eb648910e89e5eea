"""One Stripe account in memory, for tests: its objects, what happens to them, and the events Stripe sends.

The stand-in API (stripe_api.py) answers from a world; tests drive the world's lifecycle (a reader pays, a
card fails at renewal, a refund, a dispute, a price change in the portal) and post the events it returns to
the app, in Stripe's order or any other. Each operation changes the objects as Stripe does and returns the
full webhook events Stripe would send for it, with a snapshot of each object at that moment, including
events the app does not handle, because a real endpoint receives those too.

Shapes are those of API 2026-10-28 (the SDK's generated classes are the authority; each object's key set
is copied from Stripe's own sample of it): invoices name their subscription only under
``parent.subscription_details`` and have no ``charge``, ``payment_intent`` or ``paid``; which payment paid an
invoice is an InvoicePayment; charges and payment intents do not name an invoice; a subscription's periods
live on its items.

The expectations at the end (``expected_payment``, ``expected_mrr``, ``receipts_expected``) are computed from
the world's own objects and histories only, so that a test can hold the app's figures against them.

Time is simulated: ``world.now`` (unix seconds) stamps every object and event; tests set or ``advance`` it.
One re-entrant lock guards everything, so the stand-in's request threads and the test may act at once.
"""

from __future__ import annotations

import calendar
import copy
import itertools
import random
import string
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple

from tests.support import stripe_shapes as shapes

API_VERSION = "2026-10-28.endive"
_ALNUM = string.ascii_letters + string.digits
_INTERVALS = ("day", "week", "month", "year")
_OPEN_DISPUTE = ("warning_needs_response", "warning_under_review", "needs_response", "under_review")


class StripeRefusal(Exception):
    """What Stripe answers with an error: the HTTP status and the ``error`` object's fields."""

    def __init__(self, status: int, message: str, *, code: str | None = None, param: str | None = None,
                 kind: str = "invalid_request_error") -> None:  # fmt: skip
        super().__init__(message)
        self.status, self.message, self.code, self.param, self.kind = status, message, code, param, kind

    def body(self) -> dict:
        return {"error": {"type": self.kind, "code": self.code, "message": self.message, "param": self.param}}

    @classmethod
    def missing_param(cls, param: str) -> StripeRefusal:
        return cls(400, f"Missing required param: {param}.", code="parameter_missing", param=param)

    @classmethod
    def no_such(cls, kind: str, object_id: str, param: str | None = None, status: int = 400) -> StripeRefusal:
        return cls(status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


@dataclass(frozen=True)
class ExpectedPayment:
    """What one payment should look like to the app: computed from the world, never from the app."""

    amount: int
    currency: str
    refunded: int
    dispute: str | None  # None, "open", "won" or "lost"
    paid_at: int | None


class MRR(NamedTuple):
    cents: int
    supporters: int


# -- form parameters -----------------------------------------------------------------------------


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Form keys as the SDK sends them (``line_items[0][price_data][unit_amount]``) made into nested dicts
    and lists, as Stripe reads them. Values that are already nested pass through."""
    root: dict[str, Any] = {}
    for key, value in flat.items():
        head, _, rest = key.partition("[")
        parts = [head] + (rest[:-1].split("][") if rest else [])
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return _lists(root, None)


def _lists(node: Any, key: str | None) -> Any:
    if not isinstance(node, dict):
        return node
    node = {k: _lists(v, k) for k, v in node.items()}
    if node and key != "metadata" and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


def as_int(value: Any, param: str, *, minimum: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).lstrip("-").isdigit():
        raise StripeRefusal(400, f"Invalid integer: {value}", param=param)
    number = int(value)
    if minimum is not None and number < minimum:
        raise StripeRefusal(400, f"This value must be greater than or equal to {minimum}.", param=param)
    return number


def as_bool(value: Any, param: str) -> bool:
    if value in (True, "true"):
        return True
    if value in (False, "false"):
        return False
    raise StripeRefusal(400, f"Invalid boolean: {value}", param=param)


def _metadata(value: Any, param: str) -> dict[str, str]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise StripeRefusal(400, "Invalid object", param=param)
    return {str(k): str(v) for k, v in value.items()}


def _recurring(value: Any, param: str) -> tuple[str, int] | None:
    """A price's ``recurring`` parameter as (interval, interval_count), or None for a one-time price."""
    if value is None:
        return None
    if not isinstance(value, dict) or value.get("interval") not in _INTERVALS:
        raise StripeRefusal(400, "Invalid interval: must be one of day, month, week, or year",
                            param=f"{param}[interval]")  # fmt: skip
    return value["interval"], as_int(value.get("interval_count", 1), f"{param}[interval_count]", minimum=1)


def add_interval(anchor: int, interval: str, count: int, times: int) -> int:

    """``anchor`` moved on by ``times`` billing intervals, keeping the anchor's day of the month where the
    month has it (31 Jan, 28 Feb, 31 Mar), as Stripe's billing cycle does."""
    if interval in ("day", "week"):
        return anchor + times * count * 86400 * (7 if interval == "week" else 1)
    start = datetime.fromtimestamp(anchor, UTC)
    year, month = divmod(start.month - 1 + times * count * (12 if interval == "year" else 1), 12)
    year, month = start.year + year, month + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return int(start.replace(year=year, month=month, day=day).timestamp())


class StripeWorld:
    """One test-mode Stripe account: its objects by id, the events sent so far (``events``), a simulated
    clock (``now``), and the ability to make API requests hang (``hang``/``release``, ``delay_seconds``)."""

    def __init__(self, *, now: int | None = None, account_name: str = "Beitrag (test)") -> None:
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self.now = int(time.time()) if now is None else now
        self.account_name = account_name
        self.checkout_base = "https://checkout.stripe.com"  # the stand-in puts its own address here
        self.customers: dict[str, dict] = {}
        self.products: dict[str, dict] = {}
        self.prices: dict[str, dict] = {}
        self.sessions: dict[str, dict] = {}
        self.payment_intents: dict[str, dict] = {}
        self.charges: dict[str, dict] = {}
        self.balance_transactions: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.disputes: dict[str, dict] = {}
        self.subscriptions: dict[str, dict] = {}
        self.invoices: dict[str, dict] = {}
        self.invoice_payments: dict[str, dict] = {}
        self.portal_configurations: dict[str, dict] = {}
        self.portal_sessions: dict[str, dict] = {}
        self.events: list[dict] = []  # every event the account sent, oldest first
        self.delay_seconds = 0.0  # each API answer waits this long: a slow Stripe
        self.hang_limit = 30.0  # a hung request gives up waiting for release() after this many seconds
        self._hanging = False
        self._waiting = 0
        self._seq: dict[str, int] = {}
        self._counter = itertools.count(1)
        self._tag = "".join(random.choices(_ALNUM, k=10))
        self._checkout: dict[str, dict] = {}  # session id -> its line items and the metadata it hands on
        self._history: dict[str, list[dict]] = {}  # subscription id -> what happened to it, with times
        self._cycle: dict[str, int] = {}  # subscription id -> how many periods have begun
        self._paid_at: dict[str, int] = {}  # payment intent id -> when it succeeded
        self._one_time: set[str] = set()  # payment intents of payment-mode Checkout Sessions
        features = {"subscription_cancel": {"enabled": True}, "payment_method_update": {"enabled": True}}
        self._store("billing_portal.configuration",
                    shapes.portal_configuration(self._id("bpc"), self.now, features, is_default=True))

    # -- clock and a slow Stripe --------------------------------------------------------------

    def advance(self, seconds: int) -> int:
        with self.lock:
            self.now += int(seconds)
            return self.now

    def hang(self) -> None:
        """From now on API requests wait (in ``hold``) until ``release()``: Stripe not answering."""
        with self.lock:
            self._hanging = True

    def release(self) -> None:
        with self.lock:
            self._hanging = False
            self._changed.notify_all()

    def wait_until_hung(self, count: int = 1, timeout: float = 5.0) -> bool:
        """Whether ``count`` requests are hanging within ``timeout``: a test knows the app is waiting."""
        with self.lock:
            return self._changed.wait_for(lambda: self._waiting >= count, timeout)

    def hold(self) -> None:
        """Called by the stand-in before it answers a request: the delay, then the hang if one is on."""
        if self.delay_seconds:
            time.sleep(self.delay_seconds)
        with self.lock:
            if not self._hanging:
                return
            self._waiting += 1
            self._changed.notify_all()
            self._changed.wait_for(lambda: not self._hanging, self.hang_limit)
            self._waiting -= 1

    # -- ids, storage, views, events ----------------------------------------------------------

    def _id(self, prefix: str) -> str:
        n = next(self._counter)
        object_id = f"{prefix}_{self._tag}{n:06d}"
        self._seq[object_id] = n
        return object_id

    def stores(self) -> dict[str, dict[str, dict]]:
        """The world's objects by their ``object`` name, each by id."""
        return {
            "customer": self.customers, "product": self.products, "price": self.prices,
            "checkout.session": self.sessions, "payment_intent": self.payment_intents, "charge": self.charges,
            "refund": self.refunds, "dispute": self.disputes, "subscription": self.subscriptions,
            "invoice": self.invoices, "invoice_payment": self.invoice_payments,
            "billing_portal.configuration": self.portal_configurations,
            "billing_portal.session": self.portal_sessions, "balance_transaction": self.balance_transactions,
        }  # fmt: skip

    def _store(self, kind: str, obj: dict) -> dict:
        self.stores()[kind][obj["id"]] = obj
        return obj

    def get(self, kind: str, object_id: str, *, param: str | None = None, status: int = 404) -> dict:
        """The object of that kind, or the refusal Stripe answers for an id it does not know."""
        with self.lock:
            found = self.stores()[kind].get(object_id)
            if found is None:
                param = param or ("id" if status == 404 else None)
                raise StripeRefusal.no_such(kind, object_id, param, status)
            return found

    def find(self, object_id: str) -> dict | None:
        with self.lock:
            for store in self.stores().values():
                if object_id in store:
                    return store[object_id]
            return None

    def order_key(self, obj: Mapping[str, Any]) -> tuple[int, int]:
        """Lists are newest first: by ``created``, then by the order the world made them in."""
        return int(obj.get("created") or 0), self._seq.get(str(obj.get("id")), 0)

    def ordered(self, objects: Iterable[dict]) -> list[dict]:
        with self.lock:
            return sorted(objects, key=self.order_key, reverse=True)

    def view(self, obj: dict, expand: Iterable[str] = ()) -> dict:
        """A copy of ``obj`` as the API answers it, with ``expand[]`` paths filled in (ids replaced by
        objects; ``line_items`` of a Checkout Session and ``payments`` of an invoice are only there when
        asked for, as in Stripe)."""
        with self.lock:
            out = copy.deepcopy(obj)
            for path in expand:
                self._expand(out, path.split("."), path)
            return out

    def _expand(self, node: dict, parts: list[str], path: str) -> None:
        key, rest = parts[0], parts[1:]
        if node.get("object") == "list" and key == "data":
            for item in node["data"]:
                if rest:
                    self._expand(item, rest, path)
            return
        if node.get("object") == "checkout.session" and key == "line_items":
            items = self._checkout.get(node["id"], {}).get("items", [])
            url = f"/v1/checkout/sessions/{node['id']}/line_items"
            node[key] = shapes.list_object(copy.deepcopy(items), url)
        elif node.get("object") == "invoice" and key == "payments":
            paid = self.ordered(p for p in self.invoice_payments.values() if p["invoice"] == node["id"])
            node[key] = shapes.list_object(copy.deepcopy(paid), "/v1/invoice_payments")
        elif key in node and isinstance(node[key], str) and self.find(node[key]) is not None:
            node[key] = copy.deepcopy(self.find(node[key]))
        elif key not in node or (node[key] is not None and not isinstance(node[key], dict)):
            raise StripeRefusal(400, f"This property cannot be expanded ({path}).", param="expand")
        if rest and isinstance(node.get(key), dict):
            self._expand(node[key], rest, path)

    def _event(self, kind: str, obj: dict, previous: dict | None = None) -> dict:
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = copy.deepcopy(previous)
        evt = {
            "id": self._id("evt"), "object": "event", "api_version": API_VERSION, "created": self.now,
            "data": data, "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": kind,
        }  # fmt: skip
        self.events.append(evt)
        return evt

    def history(self, subscription_id: str) -> list[dict]:
        """What happened to a subscription, oldest first: ``{"at", "what", ...}`` (created, paid, price,
        status, cancel_at_period_end, ended)."""
        with self.lock:
            return copy.deepcopy(self._history.get(subscription_id, []))

    def _note(self, subscription_id: str, what: str, **details: Any) -> None:
        self._history.setdefault(subscription_id, []).append({"at": self.now, "what": what, **details})

    # -- catalogue: products, prices, the portal -----------------------------------------------

    def create_product(self, params: Mapping[str, Any]) -> dict:
        p = nest(params)
        with self.lock:
            if not p.get("name"):
                raise StripeRefusal.missing_param("name")
            product_id = str(p.get("id") or self._id("prod"))
            if product_id in self.products:
                raise StripeRefusal(400, "Product already exists.", code="resource_already_exists",
                                    param="id")  # fmt: skip
            self._seq.setdefault(product_id, next(self._counter))
            product = self._store("product", shapes.product(
                product_id, self.now, str(p["name"]), _metadata(p.get("metadata"), "metadata"),
                active=as_bool(p.get("active", True), "active"),
                description=p.get("description")))  # fmt: skip
            self._event("product.created", product)
            return product

    def create_price(self, params: Mapping[str, Any]) -> dict:
        p = nest(params)
        with self.lock:
            for required in ("currency", "unit_amount"):
                if p.get(required) in (None, ""):
                    raise StripeRefusal.missing_param(required)
            if p.get("product"):
                product = self.get("product", str(p["product"]), param="product", status=400)
            elif isinstance(p.get("product_data"), dict) and p["product_data"].get("name"):
                product = self.create_product(p["product_data"])
            else:
                raise StripeRefusal.missing_param("product")
            amount = as_int(p["unit_amount"], "unit_amount", minimum=0)
            recurring = _recurring(p.get("recurring"), "recurring")
            metadata = _metadata(p.get("metadata"), "metadata")
            lookup_key = p.get("lookup_key") or None
            if lookup_key:  # last: taking the key over from another price is the only change made
                transfer = as_bool(p.get("transfer_lookup_key", False), "transfer_lookup_key")
                self._claim_lookup_key(lookup_key, transfer)
            price = self._store("price", shapes.price(
                self._id("price"), self.now, product["id"], str(p["currency"]).lower(), amount, recurring,
                lookup_key=lookup_key, nickname=p.get("nickname"), metadata=metadata))  # fmt: skip
            self._event("price.created", price)
            return price

    def _claim_lookup_key(self, lookup_key: str, transfer: bool) -> None:
        """A lookup key names one active price per account: taking it needs ``transfer_lookup_key``."""
        for other in self.prices.values():
            if other.get("active") and other.get("lookup_key") == lookup_key:
                if not transfer:
                    raise StripeRefusal(
                        400, f"A price (`{other['id']}`) already uses that lookup key.", param="lookup_key"
                    )
                other["lookup_key"] = None
                self._event("price.updated", other, {"lookup_key": lookup_key})

    def update_price(self, price_id: str, params: Mapping[str, Any]) -> dict:
        p = nest(params)
        with self.lock:
            price = self.get("price", price_id)
            previous: dict[str, Any] = {}
            active = as_bool(p["active"], "active") if "active" in p else price["active"]
            metadata = _metadata(p.get("metadata"), "metadata")
            if "lookup_key" in p and (p["lookup_key"] or None) != price["lookup_key"]:
                if p["lookup_key"]:
                    transfer = as_bool(p.get("transfer_lookup_key", False), "transfer_lookup_key")
                    self._claim_lookup_key(p["lookup_key"], transfer)
                previous["lookup_key"], price["lookup_key"] = price["lookup_key"], p["lookup_key"] or None
            if active != price["active"]:
                previous["active"], price["active"] = price["active"], active
            if "nickname" in p:
                previous["nickname"], price["nickname"] = price["nickname"], p["nickname"] or None
            if metadata:
                previous["metadata"] = dict(price["metadata"])
                price["metadata"] = {**price["metadata"], **metadata}
            self._event("price.updated", price, previous)
            return price

    def create_portal_configuration(self, params: Mapping[str, Any]) -> dict:
        p = nest(params)
        with self.lock:
            features = p.get("features")
            if not isinstance(features, dict):
                raise StripeRefusal.missing_param("features")
            for name, feature in features.items():
                if isinstance(feature, dict) and "enabled" in feature:
                    as_bool(feature["enabled"], f"features[{name}][enabled]")
            update = features.get("subscription_update") or {}
            if "price" in (update.get("default_allowed_updates") or []) and not update.get("products"):
                raise StripeRefusal.missing_param("features[subscription_update][products]")
            for i, entry in enumerate(update.get("products") or []):
                where = f"features[subscription_update][products][{i}]"
                product = self.get("product", str(entry.get("product")), param=f"{where}[product]",
                                   status=400)  # fmt: skip
                if not entry.get("prices"):
                    raise StripeRefusal.missing_param(f"{where}[prices]")
                for j, price_id in enumerate(entry["prices"]):
                    price = self.get("price", price_id, param=f"{where}[prices][{j}]", status=400)
                    if price["product"] != product["id"]:
                        message = f"The price `{price_id}` does not belong to product `{product['id']}`."
                        raise StripeRefusal(400, message, param=f"{where}[prices][{j}]")
                    if not price["recurring"]:
                        raise StripeRefusal(400, f"The price `{price_id}` is not a recurring price.",
                                            param=f"{where}[prices][{j}]")  # fmt: skip
            configuration = self._store("billing_portal.configuration", shapes.portal_configuration(
                self._id("bpc"), self.now, features, metadata=_metadata(p.get("metadata"), "metadata"),
                name=p.get("name"), default_return_url=p.get("default_return_url")))  # fmt: skip
            self._event("billing_portal.configuration.created", configuration)
            return configuration

    def create_portal_session(self, params: Mapping[str, Any]) -> dict:
        """A portal session. The customer need not be one the world made: older tests build their events
        by hand for customers the stand-in never saw."""
        p = nest(params)
        with self.lock:
            if not p.get("customer"):
                raise StripeRefusal.missing_param("customer")
            if p.get("configuration"):
                configuration = self.get("billing_portal.configuration", p["configuration"],
                                         param="configuration", status=400)  # fmt: skip
            else:
                configuration = next(c for c in self.portal_configurations.values() if c["is_default"])
            session_id = self._id("bps")
            session = self._store("billing_portal.session", {
                "configuration": configuration["id"], "created": self.now, "customer": p["customer"],
                "flow": None, "id": session_id, "livemode": False, "locale": p.get("locale"),
                "object": "billing_portal.session", "on_behalf_of": p.get("on_behalf_of"),
                "return_url": p.get("return_url") or configuration["default_return_url"],
                "url": f"https://billing.stripe.test/p/session/{session_id}", "customer_account": None,
            })  # fmt: skip
            return session

    def create_customer(self, params: Mapping[str, Any]) -> dict:
        p = nest(params)
        with self.lock:
            return self._new_customer(p.get("email"), p.get("name"), _metadata(p.get("metadata"), "metadata"))

    def _new_customer(self, email: str | None, name: str | None, metadata: dict | None = None,
                      events: list[dict] | None = None) -> dict:  # fmt: skip
        customer = self._store("customer", {
            "address": None, "balance": 0, "created": self.now, "currency": None, "default_source": None,
            "delinquent": False, "description": None, "discount": None, "email": email,
            "id": self._id("cus"), "invoice_prefix": "".join(random.choices(string.ascii_uppercase, k=8)),
            "invoice_settings": {"custom_fields": None, "default_payment_method": None, "footer": None,
                                 "rendering_options": None},
            "livemode": False, "metadata": metadata or {}, "name": name, "next_invoice_sequence": 1,
            "object": "customer",
            "phone": None, "preferred_locales": [], "shipping": None, "tax_exempt": "none",
            "test_clock": None,
        })  # fmt: skip
        evt = self._event("customer.created", customer)
        if events is not None:
            events.append(evt)
        return customer

    # -- Checkout ------------------------------------------------------------------------------

    def create_checkout_session(self, params: Mapping[str, Any]) -> dict:
        """A Checkout Session from the parameters the SDK sends (flat form keys or nested), refused as
        Stripe refuses it. Inline ``price_data`` makes an inactive Price (and Product) of its own."""
        p = nest(params)
        with self.lock:
            mode = p.get("mode")
            if mode not in ("payment", "subscription"):
                raise StripeRefusal(400, "Invalid mode: the stand-in knows payment and subscription",
                                    param="mode")  # fmt: skip
            for key, allowed in (("subscription_data", "subscription"), ("payment_intent_data", "payment"),
                                 ("submit_type", "payment"), ("customer_creation", "payment")):  # fmt: skip
                if key in p and mode != allowed:
                    raise StripeRefusal(400, f"`{key}` can only be used in `{allowed}` mode.", param=key)
            if not isinstance(p.get("line_items"), list) or not p["line_items"]:
                raise StripeRefusal.missing_param("line_items")
            lines, inline = [], []  # inline: the Products and Prices ``price_data`` makes, kept till valid
            for i, item in enumerate(p["line_items"]):
                price, quantity, made = self._checkout_line(i, item)
                lines.append((price, quantity))
                inline += made
            recurring = [line for line in lines if line[0]["recurring"]]
            if mode == "subscription" and not recurring:
                raise StripeRefusal(400, "You must provide at least one recurring price in `subscription` "
                                         "mode when using prices.", param="line_items")  # fmt: skip
            if mode == "subscription" and len(recurring) != len(lines):
                raise StripeRefusal(400, "The stand-in does not model one-time items in subscription mode.",
                                    param="line_items")  # fmt: skip
            if mode == "payment" and recurring:
                raise StripeRefusal(400, "You specified `payment` mode but passed a recurring price. Either "
                                         "switch to `subscription` mode or use only one-time prices.",
                                    param="line_items")  # fmt: skip
            currencies = {line[0]["currency"] for line in lines}
            if len(currencies) > 1:
                raise StripeRefusal(400, "All line items must use the same currency.", param="line_items")
            total = sum(price["unit_amount"] * quantity for price, quantity in lines)
            if mode == "payment" and total < 50:
                message = "The Checkout Session's total amount due must add up to at least 0.50."
                raise StripeRefusal(400, message, code="amount_too_small")
            if p.get("customer"):
                self.get("customer", p["customer"], param="customer", status=400)
            metadata = _metadata(p.get("metadata"), "metadata")
            handed_on = {key: _metadata((p.get(key) or {}).get("metadata"), f"{key}[metadata]")
                         for key in ("subscription_data", "payment_intent_data")}  # fmt: skip
            extras = {"lines": lines, "subscription_metadata": handed_on["subscription_data"],
                      "payment_intent_metadata": handed_on["payment_intent_data"]}  # fmt: skip
            for made in inline:
                self._store(made["object"], made)
            session_id = self._id("cs_test")
            session = self._store("checkout.session", shapes.checkout_session(
                session_id, self.now, p, mode, total, currencies.pop(),
                f"{self.checkout_base}/c/pay/{session_id}", metadata))  # fmt: skip
            extras["items"] = [shapes.checkout_item(self._id("li"), price, quantity,
                                                    self.products.get(price["product"]))
                               for price, quantity in lines]  # fmt: skip
            self._checkout[session_id] = extras
            return session

    def _checkout_line(self, i: int, item: Any) -> tuple[dict, int, list[dict]]:
        """One line item's price and quantity, and the objects its ``price_data`` would make."""
        where = f"line_items[{i}]"
        made: list[dict] = []
        if not isinstance(item, dict):
            raise StripeRefusal(400, "Invalid array", param=where)
        if item.get("price"):
            price = self.get("price", item["price"], param=f"{where}[price]", status=400)
            if not price["active"]:
                raise StripeRefusal(400, "The price specified is inactive. This field only accepts active "
                                         "prices.", param=f"{where}[price]")  # fmt: skip
        elif isinstance(item.get("price_data"), dict):
            data = item["price_data"]
            for required in ("currency", "unit_amount"):
                if data.get(required) in (None, ""):
                    raise StripeRefusal.missing_param(f"{where}[price_data][{required}]")
            if data.get("product"):
                product = self.get("product", data["product"], param=f"{where}[price_data][product]",
                                   status=400)  # fmt: skip
            elif isinstance(data.get("product_data"), dict) and data["product_data"].get("name"):
                product = shapes.product(self._id("prod"), self.now, str(data["product_data"]["name"]),
                                         _metadata(data["product_data"].get("metadata"), where), active=False)
                made.append(product)
            else:
                raise StripeRefusal.missing_param(f"{where}[price_data][product_data]")
            recurring = _recurring(data.get("recurring"), f"{where}[price_data][recurring]")
            amount = as_int(data["unit_amount"], f"{where}[price_data][unit_amount]", minimum=0)
            price = shapes.price(self._id("price"), self.now, product["id"], str(data["currency"]).lower(),
                                 amount, recurring, active=False)  # fmt: skip
            made.append(price)
        else:
            raise StripeRefusal.missing_param(f"{where}[price]")
        if item.get("quantity") in (None, ""):
            raise StripeRefusal.missing_param(f"{where}[quantity]")
        return price, as_int(item["quantity"], f"{where}[quantity]", minimum=1), made

    def checkout(self, amount: int, *, monthly: bool = False, currency: str = "eur", method: str = "card",
                 metadata: Mapping[str, str] | None = None,
                 email: str | None = None) -> tuple[dict, list[dict]]:  # fmt: skip
        """A reader gives ``amount`` through Checkout, as the app asks for it (``price_data``, our metadata on
        the session and on what it makes): the completed session and the events."""
        data: dict[str, Any] = {"currency": currency, "unit_amount": amount,
                                "product_data": {"name": "Spende"}}  # fmt: skip
        params: dict[str, Any] = {"mode": "subscription" if monthly else "payment",
                                  "line_items": [{"price_data": data, "quantity": 1}],
                                  "metadata": dict(metadata or {}),
                                  "success_url": "https://example.org/ok"}  # fmt: skip
        if monthly:
            data["recurring"] = {"interval": "month"}
            params["subscription_data"] = {"metadata": dict(metadata or {})}
        else:
            params.update(payment_intent_data={"metadata": dict(metadata or {})}, customer_creation="always")
        with self.lock:
            session = self.create_checkout_session(params)
            events = self.complete_session(session["id"], method=method, email=email)
            return copy.deepcopy(session), events

    def complete_session(self, session_id: str, *, method: str = "card", email: str | None = None,
                         name: str = "Lea Leserin") -> list[dict]:  # fmt: skip
        """The reader pays on the Checkout page: by card (paid at once) or by SEPA Direct Debit (one-time
        only: the session completes ``unpaid``; ``sepa_succeeds``/``sepa_fails`` follow days later)."""
        with self.lock:
            session = self.get("checkout.session", session_id)
            if session["status"] != "open":
                raise StripeRefusal(400, f"Checkout Session {session_id} is {session['status']}, not open.")
            if method not in ("card", "sepa") or (method == "sepa" and session["mode"] != "payment"):
                raise ValueError(f"the world models card payments, and SEPA for one-time payments: {method}")
            events: list[dict] = []
            extras = self._checkout[session_id]
            email = session["customer_email"] or email or "leser@example.org"
            customer = self.customers.get(session["customer"] or "")
            makes_customer = session["mode"] == "subscription" or session["customer_creation"] == "always"
            if customer is None and makes_customer:
                customer = self._new_customer(email, name, events=events)
            session.update(
                customer=customer and customer["id"],
                customer_details={"address": {**shapes.NO_ADDRESS, "country": "DE"}, "email": email,
                                  "name": name, "phone": None, "tax_exempt": "none", "tax_ids": [],
                                  "business_name": None, "individual_name": None},
                collected_information={"shipping_details": None, "business_name": None,
                                       "individual_name": None},
            )  # fmt: skip
            if session["mode"] == "payment":
                self._pay_once(session, extras, method, events)
            else:
                self._subscribe(session, extras, events)
            session["status"] = "complete"
            events.append(self._event("checkout.session.completed", session))
            return events

    def expire_session(self, session_id: str) -> list[dict]:
        """The reader never pays: at ``expires_at`` (the clock moves there) the session expires."""
        with self.lock:
            session = self.get("checkout.session", session_id)
            if session["status"] != "open":
                raise StripeRefusal(400, f"Checkout Session {session_id} is {session['status']}, not open.")
            self.now = max(self.now, session["expires_at"])
            session["status"] = "expired"
            return [self._event("checkout.session.expired", session)]

    def _pay_once(self, session: dict, extras: dict, method: str, events: list[dict]) -> None:

        intent = self._new_payment_intent(session["amount_total"], session["currency"], session["customer"],
                                          extras["payment_intent_metadata"], method, events)  # fmt: skip
        self._one_time.add(intent["id"])
        session["payment_intent"] = intent["id"]
        if method == "card":
            self._attempt(intent, session["customer_details"], True, events)
            session["payment_status"] = "paid"
            return
        charge = self._new_charge(intent, session["customer_details"], "pending")
        intent.update(status="processing", latest_charge=charge["id"])
        events += [self._event("charge.pending", charge), self._event("payment_intent.processing", intent)]

    def sepa_succeeds(self, session_id: str) -> list[dict]:
        """The SEPA debit of a completed one-time session arrives (Stripe: a few business days later)."""
        return self._sepa_outcome(session_id, True)

    def sepa_fails(self, session_id: str) -> list[dict]:
        return self._sepa_outcome(session_id, False)

    def _sepa_outcome(self, session_id: str, succeeded: bool) -> list[dict]:
        with self.lock:
            session = self.get("checkout.session", session_id)
            intent = self.payment_intents.get(session.get("payment_intent") or "")
            if session["payment_status"] != "unpaid" or intent is None or intent["status"] != "processing":
                raise StripeRefusal(400, f"Checkout Session {session_id} has no SEPA debit on its way.")
            charge = self.charges[intent["latest_charge"]]
            events: list[dict] = []
            self._settle(intent, charge, succeeded, events)
            if succeeded:
                session["payment_status"] = "paid"
            kind = "succeeded" if succeeded else "failed"
            events.append(self._event(f"checkout.session.async_payment_{kind}", session))
            return events

    # -- payment intents and charges -------------------------------------------------------------

    def _new_payment_intent(self, amount: int, currency: str, customer: str | None, metadata: dict,
                            method: str, events: list[dict],
                            description: str | None = None) -> dict:  # fmt: skip
        intent_id = self._id("pi")
        intent = self._store("payment_intent", shapes.payment_intent(
            intent_id, self.now, amount, currency, customer, metadata, method, description))  # fmt: skip
        events.append(self._event("payment_intent.created", intent))
        return intent

    def _new_charge(self, intent: dict, billing: Mapping[str, Any] | None, status: str) -> dict:
        return self._store("charge", shapes.charge(self._id("ch"), self.now, intent, billing or {}, status))

    def _attempt(self, intent: dict, billing: Mapping[str, Any] | None, succeeds: bool,
                 events: list[dict]) -> dict:  # fmt: skip
        """A card payment attempt on ``intent``: a new charge that succeeds or is declined."""
        charge = self._new_charge(intent, billing, "pending")
        intent["latest_charge"] = charge["id"]
        self._settle(intent, charge, succeeds, events)
        return charge

    def _settle(self, intent: dict, charge: dict, succeeded: bool, events: list[dict]) -> None:
        if succeeded:
            charge.update(status="succeeded", paid=True, captured=True, amount_captured=charge["amount"])
            charge["outcome"].update(network_status="approved_by_network", seller_message="Payment complete.",
                                     type="authorized")  # fmt: skip
            intent.update(status="succeeded", amount_received=intent["amount"], last_payment_error=None)
            # The money moves when the charge succeeds (for SEPA days after the charge was made): only
            # then does the charge get its balance transaction, dated that moment.
            txn = shapes.charge_transaction(self._id("txn"), self.now, charge)
            self._store("balance_transaction", txn)
            charge["balance_transaction"] = txn["id"]
            self._paid_at[intent["id"]] = self.now
            events.append(self._event("charge.succeeded", charge))
            events.append(self._event("payment_intent.succeeded", intent))
            return
        sepa = intent["payment_method_types"] == ["sepa_debit"]
        code, message = ("insufficient_funds", "The account has insufficient funds.") if sepa else (
            "card_declined", "Your card has insufficient funds.")  # fmt: skip
        charge.update(status="failed", paid=False, failure_code=code, failure_message=message)
        charge["outcome"].update(network_status="declined_by_network", reason="insufficient_funds",
                                 seller_message="The bank declined the payment.",
                                 type="issuer_declined")  # fmt: skip
        intent.update(status="requires_payment_method", last_payment_error={
            "advice_code": None, "charge": charge["id"], "code": code,
            "decline_code": None if sepa else "insufficient_funds",
            "doc_url": f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}", "message": message,
            "network_advice_code": None, "network_decline_code": None, "param": None,
            "payment_method": {"id": intent["payment_method"], "object": "payment_method"},
            "payment_method_type": "sepa_debit" if sepa else "card", "type": "card_error",
        })  # fmt: skip
        events += [self._event("charge.failed", charge), self._event("payment_intent.payment_failed", intent)]

    def _latest_charge(self, payment_intent_id: str) -> dict:
        intent = self.get("payment_intent", payment_intent_id, param="payment_intent", status=400)
        charge = self.charges.get(intent.get("latest_charge") or "")
        if charge is None or charge["status"] != "succeeded":
            raise StripeRefusal(400, f"PaymentIntent {payment_intent_id} has no successful charge.",
                                param="payment_intent")  # fmt: skip
        return charge

    # -- subscriptions and invoices -----------------------------------------------------------

    def _subscribe(self, session: dict, extras: dict, events: list[dict]) -> None:
        subscription_id = self._id("sub")
        items = [shapes.subscription_item(self._id("si"), self.now, subscription_id, price, quantity)
                 for price, quantity in extras["lines"]]  # fmt: skip
        subscription = self._store("subscription", shapes.subscription(
            subscription_id, self.now, session["customer"], session["currency"], items,
            extras["subscription_metadata"]))  # fmt: skip
        self._cycle[subscription_id] = 1
        self._set_periods(subscription)
        price, quantity = extras["lines"][0]
        self._note(subscription_id, "created", price=price["id"], unit_amount=self._monthly(subscription),
                   currency=subscription["currency"], quantity=quantity)  # fmt: skip
        events.append(self._event("customer.subscription.created", subscription))
        invoice = self._bill(subscription, "subscription_create", events, period=(self.now, self.now))
        session.update(subscription=subscription_id, invoice=invoice["id"])
        self._attempt_invoice(invoice, True, events)
        session["payment_status"] = "paid"
        self._set_status(subscription, "active", events)

    def _set_periods(self, subscription: dict) -> None:
        anchor, k = subscription["billing_cycle_anchor"], self._cycle[subscription["id"]]
        for item in subscription["items"]["data"]:
            recurring = item["price"]["recurring"]
            item["current_period_start"] = add_interval(anchor, recurring["interval"],
                                                        recurring["interval_count"], k - 1)  # fmt: skip
            item["current_period_end"] = add_interval(anchor, recurring["interval"],
                                                      recurring["interval_count"], k)  # fmt: skip

    def _set_status(self, subscription: dict, status: str, events: list[dict]) -> None:
        if subscription["status"] == status:
            return
        previous = {"status": subscription["status"]}
        subscription["status"] = status
        self._note(subscription["id"], "status", status=status, previous=previous["status"])
        events.append(self._event("customer.subscription.updated", subscription, previous))

    def _bill(self, subscription: dict, reason: str, events: list[dict], *,
              period: tuple[int, int]) -> dict:  # fmt: skip
        """A subscription's invoice, created (draft) and finalized (open) with its payment intent and its
        default InvoicePayment, as Stripe does before the first attempt to collect it."""
        customer = self.customers.get(subscription["customer"]) or {}
        invoice_id = self._id("in")
        lines = [shapes.invoice_line(self._id("il"), invoice_id, subscription, item) for item in
                 subscription["items"]["data"]]  # fmt: skip
        invoice = self._store("invoice", shapes.invoice(
            invoice_id, self.now, subscription, reason, lines, period, customer,
            self.account_name))  # fmt: skip
        subscription["latest_invoice"] = invoice_id
        events.append(self._event("invoice.created", invoice))
        sequence = customer.get("next_invoice_sequence", 1)
        if customer:
            customer["next_invoice_sequence"] = sequence + 1
        intent = self._new_payment_intent(
            invoice["amount_due"], invoice["currency"], subscription["customer"], {}, "card", events,
            "Subscription creation" if reason == "subscription_create" else "Subscription update",
        )  # fmt: skip
        invoice.update(
            status="open", number=f"{customer.get('invoice_prefix', 'TEST')}-{sequence:04d}",
            effective_at=self.now, ending_balance=0,
            hosted_invoice_url=f"https://invoice.stripe.com/i/acct_test/{invoice_id}",
            invoice_pdf=f"https://pay.stripe.com/invoice/acct_test/{invoice_id}/pdf",
        )  # fmt: skip
        invoice["status_transitions"]["finalized_at"] = self.now
        self._store("invoice_payment", {
            "amount_paid": None, "amount_requested": invoice["amount_due"], "created": self.now,
            "currency": invoice["currency"], "id": self._id("inpay"), "invoice": invoice_id,
            "is_default": True,
            "livemode": False, "object": "invoice_payment",
            "payment": {"type": "payment_intent", "payment_intent": intent["id"]}, "status": "open",
            "status_transitions": {"canceled_at": None, "paid_at": None},
        })  # fmt: skip
        events.append(self._event("invoice.finalized", invoice))
        return invoice

    def _attempt_invoice(self, invoice: dict, succeeds: bool, events: list[dict]) -> None:
        payment = next(p for p in self.invoice_payments.values()
                       if p["invoice"] == invoice["id"] and p["is_default"])  # fmt: skip
        intent = self.payment_intents[payment["payment"]["payment_intent"]]
        customer = self.customers.get(invoice["customer"]) or {}
        billing = {"email": customer.get("email"), "name": customer.get("name")}
        self._attempt(intent, billing, succeeds, events)
        invoice.update(attempted=True, attempt_count=invoice["attempt_count"] + 1)
        if not succeeds:
            invoice["next_payment_attempt"] = self.now + 3 * 86400 if invoice["attempt_count"] < 4 else None
            events.append(self._event("invoice.payment_failed", invoice))
            return
        invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0,
                       next_payment_attempt=None)  # fmt: skip
        invoice["status_transitions"]["paid_at"] = self.now
        payment.update(status="paid", amount_paid=invoice["amount_due"])
        payment["status_transitions"]["paid_at"] = self.now
        subscription_id = invoice["parent"]["subscription_details"]["subscription"]
        self._note(subscription_id, "paid", invoice=invoice["id"], amount=invoice["amount_paid"])
        events += [self._event("invoice.paid", invoice), self._event("invoice.payment_succeeded", invoice),
                   self._event("invoice_payment.paid", payment)]  # fmt: skip

    def renew(self, subscription_id: str, *, fails: bool = False) -> list[dict]:
        """The period ends (the clock moves to its end if it is not there yet): a subscription set to end
        then ends; otherwise a ``subscription_cycle`` invoice is made and charged. A declined card leaves
        the invoice ``open`` and the subscription ``past_due``."""
        with self.lock:
            subscription = self.get("subscription", subscription_id)
            if subscription["status"] not in ("active", "past_due"):
                raise StripeRefusal(400, f"Subscription {subscription_id} is {subscription['status']}.")
            item = subscription["items"]["data"][0]
            old_start, old_end = item["current_period_start"], item["current_period_end"]
            self.now = max(self.now, old_end)
            events: list[dict] = []
            if subscription["cancel_at_period_end"]:
                self._end(subscription, subscription["cancellation_details"]["reason"], events)
                return events
            previous = {"items": copy.deepcopy(subscription["items"]),
                        "latest_invoice": subscription["latest_invoice"]}  # fmt: skip
            self._cycle[subscription_id] += 1
            self._set_periods(subscription)
            invoice = self._bill(subscription, "subscription_cycle", events, period=(old_start, old_end))
            events.append(self._event("customer.subscription.updated", subscription, previous))
            self._attempt_invoice(invoice, not fails, events)
            if fails:
                self._set_status(subscription, "past_due", events)
            return events

    def retry_invoice(self, invoice_id: str, *, succeeds: bool) -> list[dict]:
        """Smart Retries charge an open invoice again: it is paid (the subscription is active again) or it
        fails once more (``attempt_count`` + 1)."""
        with self.lock:
            invoice = self.get("invoice", invoice_id)
            if invoice["status"] != "open":
                raise StripeRefusal(400, f"Invoice {invoice_id} is {invoice['status']}, not open.")
            events: list[dict] = []
            self._attempt_invoice(invoice, succeeds, events)
            subscription = self.subscriptions[invoice["parent"]["subscription_details"]["subscription"]]
            if succeeds and subscription["status"] == "past_due":
                self._set_status(subscription, "active", events)
            return events

    def cancel(self, subscription_id: str, *, reason: str = "cancellation_requested",
               at_period_end: bool = False) -> list[dict]:  # fmt: skip
        """The reader ends the donation in the portal (now, or at the period's end), or Stripe ends it after
        the last failed retry (``reason="payment_failed"``)."""
        with self.lock:
            subscription = self.get("subscription", subscription_id)
            if subscription["status"] == "canceled":
                raise StripeRefusal(400, f"Subscription {subscription_id} is already canceled.")
            events: list[dict] = []
            if not at_period_end:
                self._end(subscription, reason, events)
                return events
            previous = {key: copy.deepcopy(subscription[key]) for key in
                        ("cancel_at", "cancel_at_period_end", "canceled_at",
                         "cancellation_details")}  # fmt: skip
            subscription.update(cancel_at=subscription["items"]["data"][0]["current_period_end"],
                                cancel_at_period_end=True, canceled_at=self.now)  # fmt: skip
            subscription["cancellation_details"]["reason"] = reason
            self._note(subscription_id, "cancel_at_period_end", reason=reason)
            events.append(self._event("customer.subscription.updated", subscription, previous))
            return events

    def _end(self, subscription: dict, reason: str | None, events: list[dict]) -> None:
        subscription.update(status="canceled", ended_at=self.now,
                            canceled_at=subscription["canceled_at"] or self.now)  # fmt: skip
        subscription["cancellation_details"]["reason"] = reason
        self._note(subscription["id"], "ended", reason=reason)
        events.append(self._event("customer.subscription.deleted", subscription))

    def change_price(self, subscription_id: str, price_id: str) -> list[dict]:
        """The reader picks another amount in the portal: the item's price is replaced (no proration)."""
        with self.lock:
            subscription = self.get("subscription", subscription_id)
            price = self.get("price", price_id, param="items[0][price]", status=400)
            if subscription["status"] not in ("active", "past_due", "trialing"):
                raise StripeRefusal(400, f"Subscription {subscription_id} is {subscription['status']}.")
            if not price["recurring"] or price["currency"] != subscription["currency"]:
                raise StripeRefusal(400, f"The price `{price_id}` must be recurring, in "
                                         f"{subscription['currency']}.", param="items[0][price]")  # fmt: skip
            previous = {"items": copy.deepcopy(subscription["items"])}
            item = subscription["items"]["data"][0]
            item.update(price=copy.deepcopy(price), plan=shapes.plan(price))
            self._note(subscription_id, "price", price=price_id, unit_amount=self._monthly(subscription),
                       currency=price["currency"], quantity=item["quantity"])  # fmt: skip
            return [self._event("customer.subscription.updated", subscription, previous)]

    def _monthly(self, subscription: dict) -> int:
        """What the subscription's items bring in a billing period (a month or a year), in cents; the items
        share one interval, once per period."""
        total, intervals = 0, set()
        for item in subscription["items"]["data"]:
            recurring = item["price"]["recurring"]
            intervals.add((recurring["interval"], recurring["interval_count"]))
            total += item["price"]["unit_amount"] * item["quantity"]
        if len(intervals) != 1 or intervals.pop() not in (("month", 1), ("year", 1)):
            raise ValueError(f"the world bills one monthly or yearly interval: {subscription['id']}")
        return total

    # -- refunds and disputes ------------------------------------------------------------------

    def refund(self, payment_intent_id: str, amount: int | None = None, *,
               reason: str | None = None) -> list[dict]:  # fmt: skip
        """A (partial) refund of the payment's charge: ``amount_refunded`` adds up, ``refunded`` once all."""
        with self.lock:
            charge = self._latest_charge(payment_intent_id)
            left = charge["amount"] - charge["amount_refunded"]
            if left <= 0:
                raise StripeRefusal(400, f"Charge {charge['id']} has already been refunded.",
                                    code="charge_already_refunded")  # fmt: skip
            amount = left if amount is None else amount
            if not 0 < amount <= left:
                message = f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"
                raise StripeRefusal(400, message, param="amount")
            if any(d["charge"] == charge["id"] and d["status"] in _OPEN_DISPUTE
                   and not d["is_charge_refundable"] for d in self.disputes.values()):  # fmt: skip
                message = f"Charge {charge['id']} has been charged back; cannot issue a refund."
                raise StripeRefusal(400, message, code="charge_disputed")
            refund = self._store("refund", {
                "amount": amount, "balance_transaction": self._id("txn"), "charge": charge["id"],
                "created": self.now, "currency": charge["currency"],
                "destination_details": {"card": {"reference": None, "reference_status": "pending",
                                                 "reference_type": "acquirer_reference_number",
                                                 "type": "refund"}, "type": "card"},
                "id": self._id("re"), "metadata": {}, "object": "refund", "payment_intent": payment_intent_id,
                "reason": reason, "receipt_number": None, "source_transfer_reversal": None,
                "status": "succeeded",
                "transfer_reversal": None, "customer": charge["customer"], "customer_account": None,
                "payment_method": charge["payment_method"],
            })  # fmt: skip
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            refunds = self.ordered(r for r in self.refunds.values() if r["charge"] == charge["id"])
            charge["refunds"].update(data=copy.deepcopy(refunds[:10]), has_more=len(refunds) > 10)
            return [self._event("charge.refunded", charge), self._event("refund.created", refund)]

    def create_refund(self, params: Mapping[str, Any]) -> dict:
        """POST /v1/refunds: by ``payment_intent`` or ``charge``; the events go to ``events``."""
        p = nest(params)
        with self.lock:
            intent_id = p.get("payment_intent")
            if not intent_id and p.get("charge"):
                intent_id = self.get("charge", p["charge"], param="charge", status=400)["payment_intent"]
            if not intent_id:
                raise StripeRefusal.missing_param("payment_intent")
            amount = as_int(p["amount"], "amount", minimum=1) if p.get("amount") else None
            events = self.refund(intent_id, amount, reason=p.get("reason"))
            return self.refunds[events[-1]["data"]["object"]["id"]]

    def dispute(self, payment_intent_id: str, *, reason: str = "fraudulent") -> list[dict]:
        """The cardholder's bank disputes the payment: the amount is withdrawn, a response is due."""
        with self.lock:
            charge = self._latest_charge(payment_intent_id)
            if charge["disputed"]:
                raise StripeRefusal(400, f"Charge {charge['id']} is already disputed.")
            amount = charge["amount"] - charge["amount_refunded"]
            dispute = self._store("dispute", shapes.dispute(self._id("dp"), self.now, charge, amount, reason))
            charge["disputed"] = True
            events = [self._event("charge.dispute.created", dispute)]
            dispute["balance_transactions"].append(shapes.balance_transaction(
                self._id("txn"), self.now, -amount, dispute, "Chargeback withdrawal"))  # fmt: skip
            events.append(self._event("charge.dispute.funds_withdrawn", dispute))
            return events

    def close_dispute(self, dispute_id: str, won: bool) -> list[dict]:
        """The bank decides: won gives the amount back (``funds_reinstated``), lost keeps it withdrawn."""
        with self.lock:
            dispute = self.get("dispute", dispute_id)
            if dispute["status"] not in _OPEN_DISPUTE:
                raise StripeRefusal(400, f"Dispute {dispute_id} is already {dispute['status']}.")
            events: list[dict] = []
            dispute["status"] = "won" if won else "lost"
            if won:
                dispute["balance_transactions"].append(shapes.balance_transaction(
                    self._id("txn"), self.now, dispute["amount"], dispute,
                    "Chargeback reversal"))  # fmt: skip
                events.append(self._event("charge.dispute.funds_reinstated", dispute))
            events.append(self._event("charge.dispute.closed", dispute))
            return events

    # -- what the app should show: computed from the world alone ----------------------------------

    def expected_payment(self, payment_intent_id: str) -> ExpectedPayment:
        with self.lock:
            intent = self.get("payment_intent", payment_intent_id)
            charges = {c["id"] for c in self.charges.values() if c["payment_intent"] == payment_intent_id}
            refunded = sum(r["amount"] for r in self.refunds.values()
                           if r["charge"] in charges and r["status"] == "succeeded")  # fmt: skip
            disputes = self.ordered(d for d in self.disputes.values() if d["charge"] in charges)
            dispute = None
            if disputes:
                dispute = disputes[0]["status"] if disputes[0]["status"] in ("won", "lost") else "open"
            return ExpectedPayment(intent.get("amount", 0), intent.get("currency", ""), refunded, dispute,
                                   self._paid_at.get(payment_intent_id))  # fmt: skip

    def expected_mrr(self, at: int, currency: str | None = None, *,
                     subscriptions: Iterable[str] | None = None) -> MRR:  # fmt: skip
        """Monthly revenue at ``at``: subscriptions whose first invoice was paid at or before ``at`` and
        that had not ended by then, each at the amount its price history had in effect at ``at``. Only
        ``subscriptions`` when given (an account shared with another installation has others)."""
        with self.lock:
            cents, supporters, seen = 0, 0, set()
            only = None if subscriptions is None else set(subscriptions)
            for subscription_id, history in self._history.items():
                if only is not None and subscription_id not in only:
                    continue
                paid = [h["at"] for h in history if h["what"] == "paid"]
                ended = [h["at"] for h in history if h["what"] == "ended"]
                if not paid or paid[0] > at or (ended and ended[0] <= at):
                    continue
                prices = [h for h in history if h["what"] in ("created", "price") and h["at"] <= at]
                if currency is not None and prices[-1]["currency"] != currency:
                    continue
                seen.add(prices[-1]["currency"])
                cents += prices[-1]["unit_amount"]
                supporters += 1
                if len(seen) > 1:
                    raise ValueError(f"subscriptions in several currencies ({subscription_id}): "
                                     "pass a currency")  # fmt: skip
            return MRR(cents, supporters)

    def receipts_expected(self) -> int:
        """Receipts a donor is owed: one per paid invoice and one per paid one-time payment."""
        with self.lock:
            invoices = sum(1 for i in self.invoices.values() if i["status"] == "paid")
            return invoices + sum(1 for p in self._one_time if p in self._paid_at)
