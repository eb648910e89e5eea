"""Stripe's webhook: signatures on the raw body, livemode, the event store, duplicates, unknown types,
failures, and each handled event type, with the mail it causes checked as it arrives over SMTP."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from db import db as _db
from newsletter import api as newsletter_api
from newsletter import ports
from newsletter.readers.models import Subscriber
from payments.events import webhooks
from payments.models import (
    DisputeStatus,
    Donation,
    DonationPayment,
    DonationStatus,
    Donor,
    DonorMail,
    PaymentStatus,
    StripeEvent,
)
from tests.payments.factories import donate
from tests.readers.factories import make_reader
from tests.support import stripe_api as s
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


def _fresh(db, donation_id: int) -> Donation:
    db.session.expire_all()
    return db.session.get(Donation, donation_id)


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# -- signature, livemode, store ------------------------------------------------------------------


def test_a_bad_signature_is_refused_and_changes_nothing(client, db, stripe_api):
    donation = donate(client, db)
    evt = s.event("checkout.session.completed", s.completed_session(donation))
    assert s.post_event(client, evt, secret="whsec_someone_else").status_code == 400
    assert s.post_event(client, evt, header="").status_code == 400
    assert s.post_event(client, evt, header="t=1,v1=00").status_code == 400
    # Tampered body: signed, then the amount changed.
    payload = json.dumps(evt).encode()
    header = s.sign(payload)
    tampered = payload.replace(b'"amount_total": 500', b'"amount_total": 5')
    response = client.post("/webhooks/stripe", data=tampered, headers={"Stripe-Signature": header})
    assert response.status_code == 400
    assert _fresh(db, donation.id).status is DonationStatus.OPEN and _count(db, StripeEvent) == 0


def test_a_stale_signature_is_refused_a_fresh_one_taken(client, db, stripe_api):
    donation = donate(client, db)
    evt = s.event("checkout.session.completed", s.completed_session(donation))
    assert s.post_event(client, evt, timestamp=int(time.time()) - 301).status_code == 400
    assert _fresh(db, donation.id).status is DonationStatus.OPEN
    assert s.post_event(client, evt, timestamp=int(time.time()) - 290).status_code == 200
    assert _fresh(db, donation.id).status is DonationStatus.PAID


def test_livemode_must_match_the_key(client, db, stripe_api):
    donation = donate(client, db)
    evt = s.event("checkout.session.completed", s.completed_session(donation), livemode=True)
    response = s.post_event(client, evt)
    assert response.status_code == 400 and "livemode" in response.get_json()["error"]
    assert _fresh(db, donation.id).status is DonationStatus.OPEN and _count(db, StripeEvent) == 0


def test_unknown_event_types_are_answered_200_and_ignored(client, db, stripe_api):
    response = s.post_event(client, s.event("customer.tax_id.created", {"id": "txi_1", "object": "tax_id"}))
    assert response.status_code == 200 and "ignored" in response.get_json()["status"]
    assert _count(db, StripeEvent) == 0


def test_events_of_other_products_on_the_account_are_ignored(client, db, stripe_api):
    other = {"id": "cs_other", "object": "checkout.session", "mode": "payment", "payment_status": "paid",
             "metadata": {}, "client_reference_id": None, "customer": "cus_x",
             "payment_intent": "pi_x"}  # fmt: skip
    response = s.post_event(client, s.event("checkout.session.completed", other))
    assert response.status_code == 200 and _count(db, Donation) == 0


# -- one-time ------------------------------------------------------------------------------------


def test_paid_checkout_thanks_the_donor_by_mail_and_links_the_reader(app, client, db, stripe_api, relay):
    reader = make_reader(db, "Leser@Example.org")
    db.session.commit()
    donation = donate(client, db)
    response = s.post_event(client, s.event("checkout.session.completed", s.completed_session(donation)))
    assert response.status_code == 200
    donation = _fresh(db, donation.id)
    assert donation.status is DonationStatus.PAID and donation.paid_at is not None
    donor = db.session.scalars(select(Donor)).one()
    assert donor.subscriber_id == reader.id and donor.stripe_customer_id == "cus_test_1"
    assert ports.supporter_state(db.session, db.session.get(Subscriber, reader.id)) == "one_time"
    run_jobs(app)
    (message,) = relay.wait_for(1)
    assert message["To"] == "leser@example.org"
    assert message["Subject"].startswith("Danke für Ihre Spende – Quittung B-")
    text = message.get_body(("plain",)).get_content()
    assert "Ihre Spende von 5,00\xa0€ ist angekommen" in text and "einmalige Spende" in text
    html = message.get_body(("html",)).get_content()
    assert "5,00" in html and "Quittung" in html


def test_english_donors_get_their_receipt_in_english(app, client, db, stripe_api, relay):
    donation = donate(client, db, lang="en", preset="1000")
    s.post_event(client, s.event("checkout.session.completed", s.completed_session(donation)))
    run_jobs(app)
    (message,) = relay.wait_for(1)
    assert message["Subject"].startswith("Thank you for your donation – receipt")
    assert "Your donation of €10.00 has arrived" in message.get_body(("plain",)).get_content()


def test_the_same_event_ten_times_at_once_makes_one_donation_and_one_receipt(
    app, client, db, stripe_api, relay
):
    donation = donate(client, db)
    evt = s.event("checkout.session.completed", s.completed_session(donation))
    payload = json.dumps(evt).encode()
    statuses: list[int] = []
    barrier = threading.Barrier(10)

    def deliver():
        c = app.test_client()
        barrier.wait()
        r = c.post("/webhooks/stripe", data=payload, headers={"Stripe-Signature": s.sign(payload)})
        statuses.append(r.status_code)

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 10
    assert _count(db, StripeEvent) == 1 and _count(db, DonationPayment) == 1 and _count(db, DonorMail) == 1
    run_jobs(app)
    time.sleep(0.2)
    assert len(relay.wait_for(1)) == 1


def test_redelivery_is_answered_200_and_mails_nothing_more(app, client, db, stripe_api, relay):
    donation = donate(client, db)
    evt = s.event("checkout.session.completed", s.completed_session(donation))
    assert s.post_event(client, evt).status_code == 200
    second = s.post_event(client, evt)
    assert second.status_code == 200 and second.get_json()["status"] == "duplicate"
    run_jobs(app)
    assert len(relay.wait_for(1)) == 1 and _count(db, DonorMail) == 1


def test_a_database_error_inside_the_handler_answers_500_and_leaves_nothing(
    app, client, db, stripe_api, relay
):
    donation = donate(client, db)
    evt = s.event("checkout.session.completed", s.completed_session(donation))
    engine = _db.engine

    def fail_on_mail_insert(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO DONOR_MAILS"):
            raise OperationalError(statement, parameters, Exception("the database went away"))

    sa_event.listen(engine, "before_cursor_execute", fail_on_mail_insert)
    try:
        assert s.post_event(client, evt).status_code == 500
    finally:
        sa_event.remove(engine, "before_cursor_execute", fail_on_mail_insert)
    # Nothing half-written: no event id, no payment, no donor, the donation as it was.
    assert _count(db, StripeEvent) == 0 and _count(db, DonationPayment) == 0 and _count(db, Donor) == 0
    assert _fresh(db, donation.id).status is DonationStatus.OPEN
    # Stripe's redelivery is applied once.
    assert s.post_event(client, evt).status_code == 200
    assert s.post_event(client, evt).get_json()["status"] == "duplicate"
    assert _fresh(db, donation.id).status is DonationStatus.PAID
    run_jobs(app)
    assert len(relay.wait_for(1)) == 1


def test_sepa_payment_that_fails_two_days_later(app, client, db, stripe_api, relay):
    donation = donate(client, db)
    now = int(time.time())
    completed = s.completed_session(donation, payment_status="unpaid")
    assert (
        s.post_event(client, s.event("checkout.session.completed", completed, created=now)).status_code == 200
    )
    assert _fresh(db, donation.id).status is DonationStatus.PENDING
    failed = s.completed_session(donation, payment_status="unpaid")
    evt = s.event("checkout.session.async_payment_failed", failed, created=now + 2 * 86400)
    assert s.post_event(client, evt).status_code == 200
    donation = _fresh(db, donation.id)
    assert donation.status is DonationStatus.FAILED and donation.paid_at is None
    assert db.session.scalars(select(DonationPayment.status)).one() is PaymentStatus.FAILED
    run_jobs(app)
    assert relay.messages == []  # no receipt for money that never came


def test_sepa_payment_that_succeeds_later_sends_the_receipt_then(app, client, db, stripe_api, relay):
    donation = donate(client, db)
    s.post_event(
        client, s.event("checkout.session.completed", s.completed_session(donation, payment_status="unpaid"))
    )
    run_jobs(app)
    assert relay.messages == []
    s.post_event(client, s.event("checkout.session.async_payment_succeeded", s.completed_session(donation)))
    assert _fresh(db, donation.id).status is DonationStatus.PAID
    run_jobs(app)
    assert len(relay.wait_for(1)) == 1


def test_partial_then_full_refund(client, db, stripe_api):
    donation = donate(client, db, preset="2500")
    s.post_event(client, s.event("checkout.session.completed", s.completed_session(donation)))
    assert (
        s.post_event(client, s.event("charge.refunded", s.charge(donation, amount_refunded=1000))).status_code
        == 200
    )
    payment = db.session.scalars(select(DonationPayment)).one()
    assert (payment.status, payment.refunded_cents) == (PaymentStatus.PAID, 1000)
    assert _fresh(db, donation.id).status is DonationStatus.PAID
    s.post_event(client, s.event("charge.refunded", s.charge(donation, amount_refunded=2500)))
    db.session.expire_all()
    payment = db.session.scalars(select(DonationPayment)).one()
    assert (payment.status, payment.refunded_cents) == (PaymentStatus.REFUNDED, 2500)
    assert _fresh(db, donation.id).status is DonationStatus.REFUNDED
    # An older partial refund arriving late does not shrink the total.
    s.post_event(client, s.event("charge.refunded", s.charge(donation, amount_refunded=1000)))
    db.session.expire_all()
    assert db.session.scalars(select(DonationPayment.refunded_cents)).one() == 2500


def test_a_full_refund_before_its_checkout_waits_for_it_and_then_counts(client, db, stripe_api):
    donation = donate(client, db)
    paid_at = int(time.time()) - 3600
    refunded = s.post_event(client, s.event("charge.refunded", s.charge(donation, amount_refunded=500)))
    assert refunded.status_code == 200 and refunded.get_json()["status"].startswith("parked")
    assert stripe_api.calls("GET", "/v1/") == []  # the webhook never waits on Stripe
    parked = db.session.scalars(select(StripeEvent)).one()
    assert parked.waits_for == f"pi:pi_test_for_{donation.id}" and parked.payload["type"] == "charge.refunded"
    assert _count(db, DonationPayment) == 0
    completed = s.event("checkout.session.completed", s.completed_session(donation), created=paid_at)
    assert s.post_event(client, completed).status_code == 200
    donation = _fresh(db, donation.id)
    payment = db.session.scalars(select(DonationPayment)).one()
    # As if the events had come in order: paid at Stripe's time, then refunded in full.
    assert donation.status is DonationStatus.REFUNDED and payment.status is PaymentStatus.REFUNDED
    assert payment.paid_at == datetime.fromtimestamp(paid_at, UTC) == donation.paid_at
    assert payment.refunded_cents == 500 and payment.refunded_at is not None
    assert db.session.scalars(select(StripeEvent.state)).all() == ["applied", "applied"]
    assert _count(db, DonorMail) == 1  # the receipt of the natural order, once


def test_dispute_opened_then_lost(client, db, stripe_api):
    donation = donate(client, db)
    s.post_event(client, s.event("checkout.session.completed", s.completed_session(donation)))
    s.post_event(client, s.event("charge.dispute.created", s.dispute(donation, status="needs_response")))
    assert db.session.scalars(select(DonationPayment.dispute_status)).one() is DisputeStatus.OPEN
    s.post_event(client, s.event("charge.dispute.closed", s.dispute(donation, status="lost")))
    db.session.expire_all()
    assert db.session.scalars(select(DonationPayment.dispute_status)).one() is DisputeStatus.LOST
    # A late "created" does not reopen it.
    s.post_event(client, s.event("charge.dispute.created", s.dispute(donation, status="needs_response")))
    db.session.expire_all()
    assert db.session.scalars(select(DonationPayment.dispute_status)).one() is DisputeStatus.LOST


# -- monthly -------------------------------------------------------------------------------------


def test_monthly_renewals_a_failed_card_and_the_end(app, client, db, stripe_api, relay):
    reader = make_reader(db, "leser@example.org")
    db.session.commit()
    donation = donate(client, db, kind="monthly")
    t0 = int(time.time()) - 90 * 86400
    s.post_event(client, s.event("checkout.session.completed", s.completed_session(donation), created=t0))
    s.post_event(client, s.event("invoice.paid", s.invoice(donation, "in_1", created=t0), created=t0))
    assert _fresh(db, donation.id).status is DonationStatus.ACTIVE
    state = lambda: ports.supporter_state(db.session, db.session.get(Subscriber, reader.id))  # noqa: E731
    assert state() == "monthly"
    t1 = t0 + 30 * 86400
    failed = s.invoice(donation, "in_2", created=t1, paid=False)
    s.post_event(client, s.event("invoice.payment_failed", failed, created=t1))
    s.post_event(
        client, s.event("invoice.payment_failed", {**failed, "attempt_count": 2}, created=t1 + 3 * 86400)
    )
    db.session.expire_all()
    assert state() == "failing"
    run_jobs(app)
    messages = relay.wait_for(2)
    assert [m["Subject"] for m in messages] == [
        f"Danke für Ihre monatliche Spende – Quittung B-{donation.id}-1",
        "Ihre monatliche Spende ist nicht durchgegangen",
    ]  # one reminder per invoice, however often Stripe retries it
    text = messages[1].get_body(("plain",)).get_content()
    manage = next(line for line in text.splitlines() if "/spenden/verwalten/" in line).strip()
    # The link opens Stripe's customer portal (a button first: mail scanners open links).
    path = manage.removeprefix("http://localhost")
    assert "Meine Spende verwalten" in text_of(client.get(path))
    response = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert response.status_code == 303 and response.headers["Location"].startswith(
        "https://billing.stripe.test/"
    )
    (portal,) = stripe_api.calls("POST", "/v1/billing_portal/sessions")
    assert portal.params["customer"] == "cus_test_1" and portal.idempotency_key
    # The card is updated, Stripe collects: no longer failing.
    s.post_event(
        client, s.event("invoice.paid", s.invoice(donation, "in_2", created=t1), created=t1 + 4 * 86400)
    )
    db.session.expire_all()
    assert state() == "monthly"
    # Ended by the reader in the portal.
    ended = s.subscription(donation, status="canceled", reason="cancellation_requested")
    s.post_event(client, s.event("customer.subscription.deleted", ended, created=t1 + 10 * 86400))
    donation = _fresh(db, donation.id)
    assert donation.status is DonationStatus.ENDED and donation.cancel_reason == "cancellation_requested"
    assert state() == "lapsed"  # a monthly donation that ended: asked to come back
    run_jobs(app)
    subjects = [m["Subject"] for m in relay.wait_for(4)]
    assert subjects[2:] == [f"Danke für Ihre monatliche Spende – Quittung B-{donation.id}-2",
                            "Ihre monatliche Spende ist beendet"]  # fmt: skip


def test_forged_or_expired_manage_links_are_refused(app, client, db, stripe_api, monkeypatch):
    assert client.get("/spenden/verwalten/not-a-token").status_code == 400
    token = newsletter_api.make_token("donation-portal", 1)
    monkeypatch.setattr(time, "time", lambda: 10**10)  # itsdangerous reads the clock through time.time
    assert client.get(f"/spenden/verwalten/{token}").status_code == 400
    assert stripe_api.calls("POST", "/v1/billing_portal/sessions") == []


def test_subscription_updates_older_than_the_last_are_ignored(client, db, stripe_api):
    donation = donate(client, db, kind="monthly")
    now = int(time.time())
    s.post_event(
        client,
        s.event("customer.subscription.updated", s.subscription(donation, status="past_due"), created=now),
    )
    s.post_event(
        client,
        s.event("customer.subscription.updated", s.subscription(donation, status="active"), created=now - 60),
    )
    assert _fresh(db, donation.id).subscription_status == "past_due"


@pytest.mark.parametrize("lang", ["de"])
def test_the_wall_shows_only_names_chosen_public(client, db, stripe_api, lang):
    token = csrf_token(client, "/spenden")
    client.post("/spenden", data={"csrf_token": token, "kind": "one_time", "preset": "500",
                                  "show_publicly": "y", "public_name": "Erika M."})  # fmt: skip
    client.post(
        "/spenden", data={"csrf_token": token, "kind": "one_time", "preset": "500", "public_name": "Geheim"}
    )
    for donation in db.session.scalars(select(Donation)).all():
        s.post_event(
            client,
            s.event(
                "checkout.session.completed",
                s.completed_session(
                    donation, customer=f"cus_{donation.id}", email=f"d{donation.id}@example.org"
                ),
            ),
        )
    page = text_of(client.get("/spenden/unterstuetzer"))
    assert "Erika M." in page and "Geheim" not in page


# -- bodies --------------------------------------------------------------------------------------


def test_a_body_over_one_megabyte_is_refused_before_it_is_read(client, db, stripe_api):
    donation = donate(client, db)
    evt = s.event("checkout.session.completed", s.completed_session(donation))
    evt["padding"] = "x" * (1024 * 1024)
    payload = json.dumps(evt).encode()
    answer = client.post("/webhooks/stripe", data=payload, headers={"Stripe-Signature": s.sign(payload)})
    assert answer.status_code == 413 and answer.headers["Connection"] == "close"
    assert _count(db, StripeEvent) == 0 and _fresh(db, donation.id).status is DonationStatus.OPEN
    # Just under the limit, signed: taken.
    evt["padding"] = "x" * (1024 * 1024 - len(payload) + len(evt["padding"]) - 10)
    payload = json.dumps(evt).encode()
    assert len(payload) <= 1024 * 1024
    answer = client.post("/webhooks/stripe", data=payload, headers={"Stripe-Signature": s.sign(payload)})
    assert answer.status_code == 200 and _fresh(db, donation.id).status is DonationStatus.PAID


class _Endless:
    """A request body of unknown length that never ends (a chunked upload), counting what was read."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        size = 65536 if size is None or size < 0 else size
        self.read_bytes += size
        return b"x" * size


def test_a_body_of_unknown_length_is_read_only_up_to_the_limit():
    body = _Endless()
    with pytest.raises(webhooks.TooLarge):
        webhooks.read_body(body, None)
    assert body.read_bytes == webhooks.MAX_BODY_BYTES + 1  # not a byte more than needed to know
    declared = _Endless()
    with pytest.raises(webhooks.TooLarge):
        webhooks.read_body(declared, 200 * 1024 * 1024)
    assert declared.read_bytes == 0
