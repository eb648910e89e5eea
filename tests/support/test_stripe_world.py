"""The Stripe world and its stand-in API, checked through the official SDK: the SDK must parse every answer
and every event into the classes and fields a real account gives it (API 2026-10-28), and the world's
expectations must match figures worked out here by hand. No database, no app."""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import stripe

from tests.support.stripe_api import SECRET_KEY, WEBHOOK_SECRET, StripeStandIn, sign
from tests.support.stripe_world import MRR, ExpectedPayment, StripeRefusal, StripeWorld, add_interval

T0 = 1_767_225_600  # 2026-01-01 00:00 UTC
DAY = 86400
MD = {"donation_id": "42", "donation_reference": "B-42"}


@pytest.fixture
def standin():
    server = StripeStandIn(world=StripeWorld(now=T0)).start()
    yield server
    server.stop()


@pytest.fixture
def world(standin) -> StripeWorld:
    return standin.world


@pytest.fixture
def client(standin) -> stripe.StripeClient:
    return stripe.StripeClient(SECRET_KEY, base_addresses={"api": standin.url}, max_network_retries=0)


def parsed(evt: dict) -> stripe.Event:
    """The event as the app's webhook sees it: signed JSON, checked and parsed by the SDK."""
    payload = json.dumps(evt)
    return stripe.Webhook.construct_event(payload, sign(payload.encode()), WEBHOOK_SECRET)


def types(events: list[dict]) -> list[str]:
    return [e["type"] for e in events]


def of_type(events: list[dict], kind: str) -> dict:
    (found,) = [e for e in events if e["type"] == kind]
    return found["data"]["object"]


def unknown_keys(obj: object, where: str = "") -> list[str]:
    """Keys of ``obj`` and of every object inside it that its SDK class does not declare."""
    found: list[str] = []
    if isinstance(obj, stripe.StripeObject):
        fields = obj.to_dict(recursive=False)
        declared = {k for klass in type(obj).__mro__ for k in getattr(klass, "__annotations__", {})}
        if type(obj) not in (stripe.StripeObject, stripe.ListObject):
            found += [f"{where}.{key}" for key in fields if key not in declared]
        for key, value in fields.items():
            found += unknown_keys(value, f"{where}.{key}")
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            found += unknown_keys(value, f"{where}[{i}]")
    return found


def monthly_price(client: stripe.StripeClient, amount: int, product: str = "beitrag-monthly") -> stripe.Price:
    try:
        client.v1.products.retrieve(product)
    except stripe.InvalidRequestError:
        client.v1.products.create(params={"id": product, "name": "Monatliche Spende"})
    return client.v1.prices.create(params={
        "product": product, "currency": "eur", "unit_amount": amount, "recurring": {"interval": "month"},
        "lookup_key": f"{product}-eur-{amount}", "transfer_lookup_key": True})  # fmt: skip


def subscribe(client: stripe.StripeClient, world: StripeWorld, price: str) -> tuple[str, list[dict]]:
    session = client.v1.checkout.sessions.create(params={
        "mode": "subscription", "line_items": [{"price": price, "quantity": 1}], "metadata": MD,
        "subscription_data": {"metadata": MD}, "success_url": "https://beitrag.test/danke",
        "locale": "de"})  # fmt: skip
    events = world.complete_session(session.id, email="monatlich@example.org")
    return of_type(events, "checkout.session.completed")["subscription"], events


# -- one-time payments ----------------------------------------------------------------------------


def test_a_one_time_card_donation_as_the_app_asks_for_it(client, world):
    session = client.v1.checkout.sessions.create(
        params={
            "mode": "payment", "submit_type": "donate", "customer_creation": "always", "locale": "de",
            "line_items": [{"price_data": {"currency": "eur", "unit_amount": 2500,
                                           "product_data": {"name": "Spende"}}, "quantity": 1}],
            "metadata": MD, "payment_intent_data": {"metadata": MD}, "client_reference_id": "42",
            "customer_email": "leser@example.org", "success_url": "https://beitrag.test/danke?s={CHECKOUT_SESSION_ID}",
            "cancel_url": "https://beitrag.test/spenden",
        },
        options={"idempotency_key": "donation-42"},
    )  # fmt: skip
    assert isinstance(session, stripe.checkout.Session)
    assert (session.status, session.payment_status, session.amount_total) == ("open", "unpaid", 2500)
    assert session.url.endswith(f"/c/pay/{session.id}") and "line_items" not in session

    events = world.complete_session(session.id)
    assert types(events) == ["customer.created", "payment_intent.created", "charge.succeeded",
                             "payment_intent.succeeded", "checkout.session.completed"]  # fmt: skip
    assert len({e["id"] for e in events}) == 5 and all(e["created"] == T0 for e in events)
    done = parsed(events[-1]).data.object
    assert isinstance(done, stripe.checkout.Session)
    assert (done.status, done.payment_status) == ("complete", "paid")
    assert done.customer_details.email == "leser@example.org"

    intent = client.v1.payment_intents.retrieve(done.payment_intent)
    assert intent.status == "succeeded" and intent.metadata.to_dict() == MD and "invoice" not in intent
    charge = client.v1.charges.retrieve(intent.latest_charge)
    assert isinstance(charge, stripe.Charge)
    assert (charge.amount, charge.amount_refunded, charge.payment_intent) == (2500, 0, intent.id)
    assert charge.metadata.to_dict() == {} and "invoice" not in charge  # Stripe copies no metadata to charges
    found = client.v1.checkout.sessions.list(params={"payment_intent": intent.id})
    assert [s.id for s in found] == [session.id]
    with_items = client.v1.checkout.sessions.retrieve(session.id, params={"expand": ["line_items"]})
    assert with_items.line_items.data[0].amount_total == 2500

    assert world.expected_payment(intent.id) == ExpectedPayment(2500, "eur", 0, None, T0)
    assert world.receipts_expected() == 1


def test_sepa_completes_unpaid_then_succeeds_or_fails_days_later(world):
    ok, events = world.checkout(1000, method="sepa", metadata=MD)
    assert types(events)[-1] == "checkout.session.completed" and ok["payment_status"] == "unpaid"
    assert of_type(events, "charge.pending")["status"] == "pending"
    failing, _ = world.checkout(2000, method="sepa", metadata=MD)
    world.advance(3 * DAY)

    arrived = world.sepa_succeeds(ok["id"])
    assert types(arrived) == ["charge.succeeded", "payment_intent.succeeded",
                              "checkout.session.async_payment_succeeded"]  # fmt: skip
    assert parsed(arrived[-1]).data.object.payment_status == "paid"
    bounced = world.sepa_fails(failing["id"])
    assert types(bounced) == ["charge.failed", "payment_intent.payment_failed",
                              "checkout.session.async_payment_failed"]  # fmt: skip
    assert of_type(bounced, "charge.failed")["failure_code"] == "insufficient_funds"
    with pytest.raises(StripeRefusal):
        world.sepa_succeeds(failing["id"])

    assert world.expected_payment(ok["payment_intent"]).paid_at == T0 + 3 * DAY
    assert world.expected_payment(failing["payment_intent"]).paid_at is None
    assert world.receipts_expected() == 1


# -- monthly donations ----------------------------------------------------------------------------


def test_a_monthly_donation_and_the_shapes_of_api_2026_10_28(client, world):
    price = monthly_price(client, 1000)
    subscription_id, events = subscribe(client, world, price.id)
    assert types(events) == [
        "customer.created", "customer.subscription.created", "invoice.created", "payment_intent.created",
        "invoice.finalized", "charge.succeeded", "payment_intent.succeeded", "invoice.paid",
        "invoice.payment_succeeded", "invoice_payment.paid", "customer.subscription.updated",
        "checkout.session.completed",
    ]  # fmt: skip
    by_type = {e["type"]: parsed(e) for e in events}
    invoice = by_type["invoice.paid"].data.object
    assert isinstance(invoice, stripe.Invoice)
    assert not {"charge", "payment_intent", "subscription", "paid", "payments"} & set(invoice.to_dict())
    assert (invoice.billing_reason, invoice.status) == ("subscription_create", "paid")
    assert invoice.amount_paid == 1000
    assert invoice.status_transitions.paid_at == T0
    assert invoice.parent.subscription_details.subscription == subscription_id
    assert invoice.parent.subscription_details.metadata.to_dict() == MD
    assert by_type["invoice.created"].data.object.status == "draft"
    paid = by_type["invoice_payment.paid"].data.object
    assert isinstance(paid, stripe.InvoicePayment)
    assert (paid.invoice, paid.status, paid.amount_paid, paid.is_default) == (invoice.id, "paid", 1000, True)
    assert paid.payment.type == "payment_intent" and paid.status_transitions.paid_at == T0
    charge = by_type["charge.succeeded"].data.object
    assert isinstance(charge, stripe.Charge) and "invoice" not in charge
    assert charge.payment_intent == paid.payment.payment_intent
    intent = by_type["payment_intent.succeeded"].data.object
    assert "invoice" not in intent and intent.metadata.to_dict() == {}
    created = by_type["customer.subscription.created"].data.object
    assert isinstance(created, stripe.Subscription) and created.status == "incomplete"
    activated = by_type["customer.subscription.updated"]
    assert activated.data.object.status == "active"
    assert activated.data.previous_attributes.status == "incomplete"

    subscription = client.v1.subscriptions.retrieve(subscription_id)
    (item,) = subscription.items.data
    assert "current_period_end" not in subscription and subscription.metadata.to_dict() == MD
    assert isinstance(item, stripe.SubscriptionItem) and isinstance(item.price, stripe.Price)
    assert item.price.id == price.id
    assert (item.current_period_start, item.current_period_end) == (T0, T0 + 31 * DAY)
    assert subscription.start_date == T0 and subscription.status == "active"

    found = client.v1.invoice_payments.list(
        params={"payment": {"type": "payment_intent", "payment_intent": charge.payment_intent}})
    assert [p.invoice for p in found] == [invoice.id]
    expanded = client.v1.invoices.retrieve(invoice.id, params={"expand": ["payments"]})
    assert [p.payment.payment_intent for p in expanded.payments.data] == [charge.payment_intent]
    assert "payments" not in client.v1.invoices.retrieve(invoice.id)
    assert [i.id for i in client.v1.invoices.list(params={"subscription": subscription_id})] == [invoice.id]
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.invoice_payments.list(params={"payment": {"payment_intent": charge.payment_intent}})
    assert refused.value.param == "payment[type]"


def test_every_event_and_answer_has_only_keys_the_sdk_declares(client, world):
    """Each object's keys, nested ones included, are those of its SDK class: nothing the current API
    removed or never had. (The SDK leaves unknown keys alone; this is the only place they show.)"""
    subscription_id, _ = subscribe(client, world, monthly_price(client, 700).id)
    world.advance(31 * DAY)
    world.renew(subscription_id, fails=True)
    world.change_price(subscription_id, monthly_price(client, 900).id)
    session, _ = world.checkout(3000, metadata=MD)
    world.refund(session["payment_intent"], 1000)
    dispute = of_type(world.dispute(session["payment_intent"]), "charge.dispute.created")
    world.close_dispute(dispute["id"], won=False)
    world.cancel(subscription_id, reason="payment_failed")
    assert len({e["id"] for e in world.events}) == len(world.events) > 30
    for evt in world.events:
        event = parsed(evt)
        assert unknown_keys(event, evt["type"]) == []
        assert type(event.data.object).__name__ != "StripeObject", evt["type"]
    config = client.v1.billing_portal.configurations.list().data[0]
    assert unknown_keys(config) == [] and config.is_default


def test_renewal_a_declined_card_smart_retries_and_the_way_back(client, world):
    subscription_id, first = subscribe(client, world, monthly_price(client, 1500).id)
    customer = of_type(first, "customer.created")["id"]

    renewed = world.renew(subscription_id)
    assert world.now == T0 + 31 * DAY  # the clock moved to the period's end
    cycle = of_type(renewed, "invoice.paid")
    assert (cycle["billing_reason"], cycle["period_start"], cycle["period_end"]) == (
        "subscription_cycle", T0, T0 + 31 * DAY)  # fmt: skip
    moved = next(e for e in renewed if e["type"] == "customer.subscription.updated")
    assert moved["data"]["previous_attributes"]["items"]["data"][0]["current_period_end"] == T0 + 31 * DAY
    assert moved["data"]["object"]["items"]["data"][0]["current_period_end"] == T0 + 59 * DAY  # 1 Mar

    failed = world.renew(subscription_id, fails=True)
    assert types(failed)[-3:] == ["payment_intent.payment_failed", "invoice.payment_failed",
                                  "customer.subscription.updated"]  # fmt: skip
    invoice = parsed(failed[-2]).data.object
    assert (invoice.status, invoice.attempt_count, invoice.amount_paid) == ("open", 1, 0)
    past_due = parsed(failed[-1]).data
    assert past_due.object.status == "past_due" and past_due.previous_attributes.status == "active"

    world.advance(3 * DAY)
    again = world.retry_invoice(invoice.id, succeeds=False)
    assert types(again)[-1] == "invoice.payment_failed" and again[-1]["data"]["object"]["attempt_count"] == 2
    world.advance(5 * DAY)
    recovered = world.retry_invoice(invoice.id, succeeds=True)
    assert types(recovered)[-4:] == ["invoice.paid", "invoice.payment_succeeded", "invoice_payment.paid",
                                     "customer.subscription.updated"]  # fmt: skip
    assert recovered[-1]["data"]["previous_attributes"] == {"status": "past_due"}
    assert client.v1.invoices.retrieve(invoice.id).status_transitions.paid_at == T0 + 67 * DAY
    intents = client.v1.payment_intents.list(params={"customer": customer})
    assert len(intents.data) == 3 and all(i.status == "succeeded" for i in intents)
    charges = client.v1.charges.list(params={"payment_intent": invoice_intent(client, invoice.id)})
    assert [c.status for c in charges] == ["succeeded", "failed", "failed"]  # newest first
    with pytest.raises(StripeRefusal):
        world.retry_invoice(invoice.id, succeeds=True)
    assert world.receipts_expected() == 3


def invoice_intent(client: stripe.StripeClient, invoice_id: str) -> str:
    (payment,) = client.v1.invoice_payments.list(params={"invoice": invoice_id}).data
    return payment.payment.payment_intent


def test_cancellation_now_and_at_the_periods_end(client, world):
    now_id, _ = subscribe(client, world, monthly_price(client, 500).id)
    later_id, _ = subscribe(client, world, monthly_price(client, 800).id)
    world.advance(10 * DAY)

    (ended,) = world.cancel(now_id)
    assert ended["type"] == "customer.subscription.deleted"
    gone = parsed(ended).data.object
    assert (gone.status, gone.ended_at, gone.canceled_at, gone.cancellation_details.reason) == (
        "canceled", T0 + 10 * DAY, T0 + 10 * DAY, "cancellation_requested")  # fmt: skip
    (scheduled,) = world.cancel(later_id, at_period_end=True)
    assert scheduled["type"] == "customer.subscription.updated"
    assert scheduled["data"]["object"]["status"] == "active"
    assert scheduled["data"]["object"]["cancel_at_period_end"] is True
    assert scheduled["data"]["previous_attributes"]["cancel_at_period_end"] is False
    (at_end,) = world.renew(later_id)
    assert at_end["type"] == "customer.subscription.deleted"
    assert at_end["data"]["object"]["ended_at"] == T0 + 31 * DAY
    assert at_end["data"]["object"]["canceled_at"] == T0 + 10 * DAY

    assert client.v1.subscriptions.list().data == []  # Stripe leaves canceled ones out by default
    assert {s.id for s in client.v1.subscriptions.list(params={"status": "all"})} == {now_id, later_id}
    newest = client.v1.subscriptions.list(params={"status": "canceled", "limit": 1})
    assert [s.id for s in newest] == [later_id] and newest.has_more
    with pytest.raises(StripeRefusal):
        world.cancel(now_id)


# -- refunds and disputes -------------------------------------------------------------------------


def test_partial_then_full_refund_and_a_lost_dispute(client, world):
    session, _ = world.checkout(5000, metadata=MD)
    intent = session["payment_intent"]
    world.advance(DAY)
    first = world.refund(intent, 2000)
    assert types(first) == ["charge.refunded", "refund.created"]
    charge = parsed(first[0]).data.object
    assert isinstance(charge, stripe.Charge) and (charge.amount_refunded, charge.refunded) == (2000, False)
    assert isinstance(parsed(first[1]).data.object, stripe.Refund)
    rest = world.refund(intent)
    refunded = rest[0]["data"]["object"]
    assert (refunded["amount_refunded"], refunded["refunded"]) == (5000, True)
    assert [r["amount"] for r in refunded["refunds"]["data"]] == [3000, 2000]
    with pytest.raises(StripeRefusal) as refused:
        world.refund(intent, 1)
    assert refused.value.code == "charge_already_refunded"
    assert [r.amount for r in client.v1.refunds.list(params={"payment_intent": intent})] == [3000, 2000]
    assert world.expected_payment(intent) == ExpectedPayment(5000, "eur", 5000, None, T0)

    other, _ = world.checkout(4000, metadata=MD)
    opened = world.dispute(other["payment_intent"])
    assert types(opened) == ["charge.dispute.created", "charge.dispute.funds_withdrawn"]
    dispute = parsed(opened[0]).data.object
    assert isinstance(dispute, stripe.Dispute)
    assert (dispute.status, dispute.amount) == ("needs_response", 4000)
    assert dispute.payment_intent == other["payment_intent"]
    assert world.expected_payment(other["payment_intent"]).dispute == "open"
    with pytest.raises(StripeRefusal) as refused:
        world.refund(other["payment_intent"], 100)
    assert refused.value.code == "charge_disputed"
    (closed,) = world.close_dispute(dispute.id, won=False)
    assert closed["type"] == "charge.dispute.closed" and closed["data"]["object"]["status"] == "lost"
    assert world.expected_payment(other["payment_intent"]).dispute == "lost"
    assert [d.id for d in client.v1.disputes.list(params={"payment_intent": other["payment_intent"]})] == [
        dispute.id]  # fmt: skip


def test_a_won_dispute_gives_the_money_back(world):
    session, _ = world.checkout(1200)
    dispute = of_type(world.dispute(session["payment_intent"]), "charge.dispute.created")
    won = world.close_dispute(dispute["id"], won=True)
    assert types(won) == ["charge.dispute.funds_reinstated", "charge.dispute.closed"]
    assert [t["amount"] for t in won[-1]["data"]["object"]["balance_transactions"]] == [-1200, 1200]
    assert world.expected_payment(session["payment_intent"]).dispute == "won"


def test_refunds_through_the_api(client, world):
    session, _ = world.checkout(3000)
    charge = client.v1.payment_intents.retrieve(session["payment_intent"]).latest_charge
    refund = client.v1.refunds.create(params={"charge": charge, "amount": 500})
    assert isinstance(refund, stripe.Refund) and (refund.amount, refund.charge) == (500, charge)
    assert world.events[-1]["type"] == "refund.created"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.refunds.create(params={"payment_intent": session["payment_intent"], "amount": 2600})
    assert refused.value.param == "amount"


# -- what the app should show ---------------------------------------------------------------------


def test_expected_mrr_follows_price_changes_and_ends(client, world):
    a, _ = subscribe(client, world, monthly_price(client, 1000).id)  # from 1 Jan
    world.advance(5 * DAY)
    b, _ = subscribe(client, world, monthly_price(client, 500).id)  # from 6 Jan
    world.advance(5 * DAY)
    (changed,) = world.change_price(a, monthly_price(client, 2500).id)  # 11 Jan: 10 -> 25 EUR
    assert changed["data"]["previous_attributes"]["items"]["data"][0]["price"]["unit_amount"] == 1000
    assert changed["data"]["object"]["items"]["data"][0]["price"]["unit_amount"] == 2500
    world.advance(10 * DAY)
    world.cancel(a)  # 21 Jan
    world.advance(20 * DAY)  # 10 Feb: B's renewal (6 Feb) is declined, B is past due
    world.renew(b, fails=True)
    assert world.now == T0 + 40 * DAY

    assert world.expected_mrr(T0 - 1) == MRR(0, 0)
    assert world.expected_mrr(T0) == MRR(1000, 1)
    assert world.expected_mrr(T0 + 5 * DAY) == MRR(1500, 2)
    assert world.expected_mrr(T0 + 10 * DAY - 1) == MRR(1500, 2)
    assert world.expected_mrr(T0 + 10 * DAY) == MRR(3000, 2)
    assert world.expected_mrr(T0 + 20 * DAY - 1) == MRR(3000, 2)
    assert world.expected_mrr(T0 + 20 * DAY) == MRR(500, 1)
    assert world.expected_mrr(T0 + 40 * DAY) == MRR(500, 1)  # past due still counts until it ends
    assert world.expected_mrr(T0 + 40 * DAY, currency="usd") == MRR(0, 0)
    assert world.receipts_expected() == 2  # two first invoices; the renewal was not paid
    assert [h["what"] for h in world.history(a)] == ["created", "paid", "status", "price", "ended"]
    new_price = changed["data"]["object"]["items"]["data"][0]["price"]["id"]
    assert world.history(a)[3] == {"at": T0 + 10 * DAY, "what": "price", "price": new_price,
                                   "unit_amount": 2500, "currency": "eur", "quantity": 1}  # fmt: skip


def test_billing_periods_keep_the_day_of_the_month():
    jan31 = 1_769_817_600  # 2026-01-31 00:00 UTC
    assert [add_interval(jan31, "month", 1, k) - jan31 for k in (1, 2, 3)] == [28 * DAY, 59 * DAY, 89 * DAY]
    assert add_interval(T0, "year", 1, 1) - T0 == 365 * DAY
    assert add_interval(T0, "week", 2, 1) - T0 == 14 * DAY


# -- catalogue, portal, validation ----------------------------------------------------------------


def test_products_and_prices_with_lookup_keys(client, world):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.products.retrieve("beitrag-monthly")
    assert missing.value.http_status == 404 and missing.value.code == "resource_missing"
    product = client.v1.products.create(params={"id": "beitrag-monthly", "name": "Spende",
                                                "metadata": {"a": "1"}})  # fmt: skip
    assert (product.id, product.metadata.a) == ("beitrag-monthly", "1")
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.products.create(params={"id": "beitrag-monthly", "name": "again"})

    five_a_month = {"product": product.id, "currency": "eur", "unit_amount": 500,
                    "recurring": {"interval": "month"}, "lookup_key": "m-5"}  # fmt: skip
    five = client.v1.prices.create(params=five_a_month)
    with pytest.raises(stripe.InvalidRequestError) as taken:
        client.v1.prices.create(params=five_a_month)
    assert taken.value.param == "lookup_key" and five.id in taken.value.user_message
    newer = client.v1.prices.create(params={**five_a_month, "transfer_lookup_key": True})
    once = client.v1.prices.create(params={"product": product.id, "currency": "eur", "unit_amount": 900})
    assert [p.id for p in client.v1.prices.list(params={"lookup_keys": ["m-5", "nope"]})] == [newer.id]
    assert client.v1.prices.retrieve(five.id).lookup_key is None
    monthly = client.v1.prices.list(params={"recurring": {"interval": "month"}})
    assert [p.id for p in monthly] == [newer.id, five.id]
    one_time = client.v1.prices.list(params={"type": "one_time", "product": product.id})
    assert [p.id for p in one_time] == [once.id]
    client.v1.prices.update(five.id, params={"active": False})
    assert [p.id for p in client.v1.prices.list(params={"active": False})] == [five.id]
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.prices.create(params={"product": "prod_missing", "currency": "eur", "unit_amount": 1})
    assert (unknown.value.http_status, unknown.value.code) == (400, "resource_missing")


def test_checkout_refuses_what_stripe_refuses(client, world):
    product = client.v1.products.create(params={"name": "Spende"})
    once = client.v1.prices.create(params={"product": product.id, "currency": "eur", "unit_amount": 900})
    monthly = client.v1.prices.create(params={"product": product.id, "currency": "eur", "unit_amount": 900,
                                              "recurring": {"interval": "month"}})  # fmt: skip

    def refused(**params) -> stripe.InvalidRequestError:
        with pytest.raises(stripe.InvalidRequestError) as caught:
            client.v1.checkout.sessions.create(params={"success_url": "https://x.test/", **params})
        return caught.value

    once_item, monthly_item = [{"price": once.id, "quantity": 1}], [{"price": monthly.id, "quantity": 1}]
    assert "recurring price" in refused(mode="subscription", line_items=once_item).user_message
    assert "`payment` mode" in refused(mode="payment", line_items=monthly_item).user_message
    missing = refused(mode="subscription", line_items=[{"price": "price_nope", "quantity": 1}])
    assert (missing.http_status, missing.code) == (400, "resource_missing")
    assert missing.param == "line_items[0][price]"
    assert refused(mode="subscription", line_items=[{"price": monthly.id}]).param == "line_items[0][quantity]"
    wrong = refused(mode="subscription", line_items=monthly_item, payment_intent_data={"metadata": MD})
    assert wrong.param == "payment_intent_data"
    typo = refused(mode="payment", line_items=once_item, paymnet_method_types=["card"])
    assert (typo.code, typo.param) == ("parameter_unknown", "paymnet_method_types")

    fine = client.v1.checkout.sessions.create(params={
        "mode": "subscription", "success_url": "https://x.test/",
        "line_items": [{"price": monthly.id, "quantity": 2}]})  # fmt: skip
    assert fine.amount_total == 1800 and fine.customer_creation is None
    (expired,) = world.expire_session(fine.id)
    assert expired["type"] == "checkout.session.expired" and world.now == T0 + DAY
    with pytest.raises(StripeRefusal):
        world.complete_session(fine.id)
    inline = {"price_data": {"currency": "eur", "unit_amount": 500, "product_data": {"name": "Spende"}},
              "quantity": 1}  # fmt: skip
    assert refused(mode="payment", line_items=[inline, {"price": "price_nope", "quantity": 1}]
                   ).param == "line_items[1][price]"  # fmt: skip
    assert [p.id for p in client.v1.prices.list()] == [monthly.id, once.id]  # refusals made nothing
    assert [p.id for p in client.v1.products.list()] == [product.id]




def test_the_portal_configuration_is_checked_like_stripe(client, world):
    product = client.v1.products.create(params={"id": "beitrag-monthly", "name": "Spende"})
    other = client.v1.products.create(params={"id": "other", "name": "Anderes"})
    five = client.v1.prices.create(params={"product": product.id, "currency": "eur", "unit_amount": 500,
                                           "recurring": {"interval": "month"}})  # fmt: skip
    foreign = client.v1.prices.create(params={"product": other.id, "currency": "eur", "unit_amount": 500,
                                              "recurring": {"interval": "month"}})  # fmt: skip
    once = client.v1.prices.create(params={"product": product.id, "currency": "eur", "unit_amount": 500})

    def features(*prices: str) -> dict:
        return {"subscription_update": {"enabled": True, "default_allowed_updates": ["price"],
                                        "proration_behavior": "none",
                                        "products": [{"product": product.id, "prices": list(prices)}]},
                "subscription_cancel": {"enabled": True},
                "payment_method_update": {"enabled": True}}  # fmt: skip

    for bad in (foreign.id, once.id, "price_nope"):
        with pytest.raises(stripe.InvalidRequestError) as refused:
            client.v1.billing_portal.configurations.create(params={"features": features(five.id, bad)})
        assert refused.value.param == "features[subscription_update][products][0][prices][1]"
    config = client.v1.billing_portal.configurations.create(params={"features": features(five.id)})
    again = client.v1.billing_portal.configurations.retrieve(config.id)
    assert isinstance(again, stripe.billing_portal.Configuration) and not again.is_default
    update = again.features.subscription_update
    assert update.enabled and update.products[0].prices == [five.id] and update.proration_behavior == "none"

    portal = client.v1.billing_portal.sessions.create(params={
        "customer": "cus_x", "configuration": config.id, "return_url": "https://beitrag.test/"})  # fmt: skip
    assert portal.configuration == config.id and portal.url.startswith("https://billing.stripe.test/")
    default = client.v1.billing_portal.sessions.create(params={"customer": "cus_x"})
    assert default.configuration != config.id
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.billing_portal.sessions.create(params={"customer": "cus_x", "configuration": "bpc_nope"})
    assert refused.value.param == "configuration"


# -- lists, pagination, a slow Stripe -------------------------------------------------------------


def test_two_hundred_and_fifty_charges_page_by_page(client, world):
    for i in range(250):
        world.checkout(100 + i)
        world.advance(60)
    charges = list(client.v1.charges.list(params={"limit": 100}).auto_paging_iter())
    assert [c.amount for c in charges] == list(range(349, 99, -1))  # newest first, each once
    first = client.v1.charges.list()
    assert len(first.data) == 10 and first.has_more and first.url == "/v1/charges"
    window = client.v1.charges.list(params={"created": {"gte": T0 + 600, "lt": T0 + 1200}, "limit": 100})
    assert [c.amount for c in window] == list(range(119, 109, -1)) and not window.has_more
    newer = client.v1.charges.list(params={"ending_before": charges[-1].id, "limit": 3})
    assert [c.amount for c in newer] == [103, 102, 101] and newer.has_more
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.charges.list(params={"limit": 101})
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.charges.list(params={"starting_after": "ch_nope"})
    assert unknown.value.code == "resource_missing"
    events = client.v1.events.list(params={"type": "charge.*", "limit": 100})
    assert {e.type for e in events} == {"charge.succeeded"} and events.has_more


def test_a_hanging_stripe_and_failures_on_demand(standin, client, world):
    standin.fail_next.append((500, {"error": {"type": "api_error", "message": "boom"}}))
    with pytest.raises(stripe.APIError):
        client.v1.prices.list()
    assert client.v1.prices.list().data == []

    world.hang()
    answers: list[object] = []
    thread = threading.Thread(target=lambda: answers.append(client.v1.prices.list()))
    thread.start()
    assert world.wait_until_hung(1, timeout=5)
    assert answers == []
    impatient = stripe.StripeClient(SECRET_KEY, base_addresses={"api": standin.url}, max_network_retries=0,
                                    http_client=stripe.RequestsClient(timeout=0.3))  # fmt: skip
    with pytest.raises(stripe.APIConnectionError):
        impatient.v1.prices.list()
    world.release()
    thread.join(5)
    assert len(answers) == 1 and answers[0].data == []
    assert [r.path for r in standin.calls("GET", "/v1/prices")] == ["/v1/prices"] * 4


def test_the_checkout_page_pays_and_delivers_the_signed_events_in_order(standin, client, world):
    received: list[stripe.Event] = []

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self):
            payload = self.rfile.read(int(self.headers["Content-Length"])).decode()
            signature = self.headers["Stripe-Signature"]
            received.append(stripe.Webhook.construct_event(payload, signature, WEBHOOK_SECRET))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    app = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=app.serve_forever, args=(0.02,), daemon=True).start()
    try:
        standin.webhook_url = f"http://127.0.0.1:{app.server_address[1]}/webhooks/stripe"
        price = monthly_price(client, 1000)
        session = client.v1.checkout.sessions.create(params={
            "mode": "subscription", "line_items": [{"price": price.id, "quantity": 1}],
            "success_url": "https://beitrag.test/danke?s={CHECKOUT_SESSION_ID}"})  # fmt: skip
        with urllib.request.urlopen(session.url) as page:  # noqa: S310 (the stand-in's own page)
            assert "10.00 EUR / month" in page.read().decode()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        opener = urllib.request.build_opener(NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(urllib.request.Request(f"{session.url}/pay", data=b"", method="POST"))  # noqa: S310

        assert redirect.value.code == 303
        assert redirect.value.headers["Location"] == f"https://beitrag.test/danke?s={session.id}"
    finally:
        app.shutdown()
        app.server_close()
    assert [e.type for e in received] == [e["type"] for e in world.events if e["created"] == T0][-12:]
    assert received[-1].type == "checkout.session.completed" and standin.webhook_answers == [200] * 12
