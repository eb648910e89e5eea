"""Yearly gifts and the covered fee, through the donate page, the Stripe stand-in's Checkout and its signed
webhooks: a yearly gift is a yearly donation, counts a twelfth of its amount in the MRR (rounded per gift),
makes its giver a recurring supporter with the ask for recurring supporters, renews a year later once
however often or concurrently the renewal is reported, and ends when cancelled. The fee tick adds the fee
the page shows, kept apart from the gift; without the tick nothing is added. Bad input (a forged
interval, negative or huge amounts, a fee figure the page never showed, a fee not offered) is refused with
a clear message and writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from newsletter.editorial.models import Issue
from newsletter.platform.settings import ConfigError, load_config
from newsletter.readers import links
from newsletter.readers.models import Subscriber
from newsletter.sending.models import Delivery
from payments.models import Donation, DonationKind, DonationPayment, DonationStatus, DonorMail, PaymentStatus
from payments.reports import money
from payments.supporters import states
from tests.payments import ledger
from tests.payments.test_concurrent_events import deliver_at_once
from tests.readers.factories import make_reader
from tests.sending.factories import issue_with_readers, start_send
from tests.staff.factories import sign_in, staff_user
from tests.support import stripe_api as s
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


def _post(client, **fields):
    token = csrf_token(client, "/spenden")
    return client.post("/spenden", data={"csrf_token": token, "kind": "yearly", "preset": "500", **fields})


def _give(client, db, stripe_api, email: str = "jahr@example.org", **fields) -> Donation:
    """The reader fills the donate form, pays on the stand-in's Checkout, and Stripe's events arrive."""
    response = _post(client, **fields)
    assert response.status_code == 303, text_of(response)
    donation = db.session.scalars(select(Donation).order_by(Donation.id.desc())).first()
    for evt in stripe_api.world.complete_session(donation.stripe_session_id, email=email):
        assert s.post_event(client, evt).status_code == 200
    db.session.expire_all()
    return db.session.get(Donation, donation.id)


def _mrr(db, moment=None) -> dict:
    db.session.expire_all()
    return money.mrr_at(db.session, moment or datetime.now(UTC) + timedelta(seconds=5), "eur")


@pytest.fixture
def fee(app, monkeypatch):
    """The newsroom's fee estimate: 1.5 % plus 25 cents."""
    monkeypatch.setitem(app.config, "DONATION_FEE_PERCENT", Decimal("1.5"))
    monkeypatch.setitem(app.config, "DONATION_FEE_FIXED_CENTS", 25)


def test_a_yearly_gift_becomes_a_yearly_donation_and_a_twelfth_of_it_counts_in_the_mrr(
    client, db, stripe_api
):
    assert "Jährlich" in text_of(client.get("/spenden?kind=yearly"))
    donation = _give(client, db, stripe_api, preset="custom", custom_amount="50")
    assert (donation.kind, donation.status, donation.amount_cents) == (
        DonationKind.YEARLY,
        DonationStatus.ACTIVE,
        5000,
    )
    assert donation.fee_covered_cents == 0
    (payment,) = donation.payments
    assert (payment.amount_cents, payment.status, payment.fee_covered_cents) == (5000, PaymentStatus.PAID, 0)
    (product,) = stripe_api.calls("POST", "/v1/products")
    assert product.params["id"] == "beitrag-yearly-donation"
    assert product.params["name"] == "Jährliche Spende an KI-Kompass"
    (price,) = stripe_api.calls("POST", "/v1/prices")
    assert price.params["recurring[interval]"] == "year" and price.params["unit_amount"] == "5000"
    (call,) = stripe_api.calls("POST", "/v1/checkout/sessions")
    assert call.params["mode"] == "subscription" and "line_items[1][price]" not in call.params

    # 50.00 EUR a year is 4.1666 a month: 4.17. A second yearly gift of 20.00 adds 1.67 (1.666): rounded per
    # gift, 5.84, a cent more than a twelfth of the sum (5.83); a monthly 10.00 adds itself.
    assert _mrr(db) == {"mrr_cents": 417, "supporters": 1}
    _give(client, db, stripe_api, email="zwei@example.org", preset="custom", custom_amount="20")
    _give(client, db, stripe_api, email="drei@example.org", kind="monthly", preset="1000")
    assert _mrr(db) == {"mrr_cents": 417 + 167 + 1000, "supporters": 3}
    # Revenue counts what arrived: both yearly gifts whole, as recurring money.
    db.session.expire_all()
    received = db.session.scalar(select(func.sum(DonationPayment.amount_cents)))
    assert received == 5000 + 2000 + 1000
    ledger.assert_summaries_match(db.session)


def test_a_yearly_supporter_is_recurring_and_gets_the_ask_for_recurring_supporters(
    app, client, db, stripe_api
):
    issue = issue_with_readers(db, readers=())
    news = issue.newsletters[0]
    make_reader(db, "jahr@example.org", newsletters=[news])
    make_reader(db, "nie@example.org", newsletters=[news])
    db.session.commit()
    _give(client, db, stripe_api, email="jahr@example.org")
    assert states.state_of_donations(states.donations_of_email(db.session, "jahr@example.org")) == "monthly"
    reader = db.session.scalar(select(Subscriber).where(Subscriber.email == "jahr@example.org"))
    settings = text_of(client.get(links.preferences_url("", app.config["SECRET_KEY"], reader.id)))
    assert "Sie unterstützen uns jedes Jahr" in settings and "/spenden/verwalten/" in settings
    start_send(db, db.session.get(Issue, issue.id))
    variants = dict(db.session.execute(
        select(Subscriber.email, Delivery.variant).join(Delivery, Delivery.subscriber_id == Subscriber.id)
    ).all())  # fmt: skip
    assert variants == {"jahr@example.org": "monthly", "nie@example.org": "never_gave"}


def test_the_renewal_a_year_later_is_recorded_once_however_often_it_arrives(app, client, db, stripe_api):
    donation = _give(client, db, stripe_api)
    first_paid = donation.paid_at
    events = stripe_api.world.renew(donation.stripe_subscription_id)
    paid = next(e for e in events if e["type"] == "invoice.paid")
    linked = next(e for e in events if e["type"] == "invoice_payment.paid")
    rest = [e for e in events if e not in (paid, linked)]
    for evt in rest:
        assert s.post_event(client, evt).status_code == 200
    # The same event twice, and Stripe's two reports of the one payment, at the same moment.
    assert deliver_at_once(app, [paid, paid, linked]) == [200, 200, 200]
    assert s.post_event(client, paid).status_code == 200  # and once more, later
    db.session.expire_all()
    donation = db.session.get(Donation, donation.id)
    assert donation.status is DonationStatus.ACTIVE and donation.kind is DonationKind.YEARLY
    payments = sorted(donation.payments, key=lambda p: p.paid_at)
    assert [p.amount_cents for p in payments] == [500, 500]
    assert all(p.status is PaymentStatus.PAID for p in payments)
    assert payments[1].paid_at - first_paid >= timedelta(days=365)
    receipts = db.session.scalar(
        select(func.count()).select_from(DonorMail).where(DonorMail.kind == "receipt")
    )
    assert receipts == 2
    assert _mrr(db, payments[1].paid_at + timedelta(days=1))["mrr_cents"] == 42  # 5.00 / 12 = 0.4166
    ledger.assert_summaries_match(db.session)


def test_cancelling_a_yearly_gift_ends_it(app, client, db, stripe_api, relay):
    donation = _give(client, db, stripe_api)
    assert _mrr(db)["supporters"] == 1
    for evt in stripe_api.world.cancel(donation.stripe_subscription_id):
        assert s.post_event(client, evt).status_code == 200
    db.session.expire_all()
    donation = db.session.get(Donation, donation.id)
    assert donation.status is DonationStatus.ENDED and donation.ended_at is not None
    assert _mrr(db) == {"mrr_cents": 0, "supporters": 0}
    # Not a recurring supporter any more (``one_time`` or ``lapsed``, by the rule for ended gifts).
    state = states.state_of_donations(states.donations_of_email(db.session, "jahr@example.org"))
    assert state not in ("monthly", "failing", "never")
    run_jobs(app)  # the receipt and the goodbye, which names the gift as the donor knew it
    subjects = [m["Subject"] for m in relay.wait_for(2)]
    assert "Ihre jährliche Spende ist beendet" in subjects
    assert not any("monatliche" in subject for subject in subjects)


def test_the_fee_tick_adds_the_fee_the_page_shows_and_keeps_it_apart(client, db, stripe_api, fee):
    page = text_of(client.get("/spenden"))
    assert "1,5 % des Betrags zuzüglich 0,25\xa0€" in page
    assert "10,00\xa0€ zuzüglich 0,40\xa0€ Gebühr" in page  # 1.5 % of 10.00 is 0.15, plus 0.25
    english = text_of(client.get("/donate?lang=en"))
    assert "€10.00 plus €0.40 fee" in english

    donation = _give(client, db, stripe_api, kind="one_time", preset="1000", cover_fee="y", fee_cents="40")
    assert (donation.amount_cents, donation.fee_covered_cents) == (1000, 40)
    (payment,) = donation.payments
    assert (payment.amount_cents, payment.fee_covered_cents) == (1040, 40)
    (call,) = stripe_api.calls("POST", "/v1/checkout/sessions")
    assert call.params["line_items[0][price_data][unit_amount]"] == "1000"
    assert call.params["line_items[1][price_data][unit_amount]"] == "40"
    assert (
        call.params["line_items[1][price_data][product_data][name]"] == "Payment fee, covered by you"
    )  # in English, as asked


def test_a_yearly_gift_with_the_fee_bills_both_every_year_and_the_mrr_counts_the_gift(
    client, db, stripe_api, fee
):
    # 3.33 EUR: 1.5 % is 4.995 cents, rounded to 5, plus 25: 30 cents.
    donation = _give(client, db, stripe_api, preset="custom", custom_amount="3,33", cover_fee="y")
    assert (donation.kind, donation.amount_cents, donation.fee_covered_cents) == (
        DonationKind.YEARLY,
        333,
        30,
    )
    (call,) = stripe_api.calls("POST", "/v1/checkout/sessions")
    assert call.params["line_items[1][price_data][recurring][interval]"] == "year"
    assert [p.amount_cents for p in donation.payments] == [363]
    assert _mrr(db)["mrr_cents"] == 28  # 333 / 12 = 27.75: the gift, not the fee
    for evt in stripe_api.world.renew(donation.stripe_subscription_id):
        assert s.post_event(client, evt).status_code == 200
    db.session.expire_all()
    donation = db.session.get(Donation, donation.id)
    assert [(p.amount_cents, p.fee_covered_cents) for p in donation.payments] == [(363, 30), (363, 30)]
    assert donation.amount_cents == 333  # a renewal of two items changes no amount


def test_without_the_tick_nothing_is_added(client, db, stripe_api, fee):
    donation = _give(client, db, stripe_api, kind="monthly", preset="500")
    assert donation.fee_covered_cents == 0 and [p.amount_cents for p in donation.payments] == [500]
    (call,) = stripe_api.calls("POST", "/v1/checkout/sessions")
    assert not any(key.startswith("line_items[1]") for key in call.params)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"kind": "weekly"}, "Bitte prüfen Sie die markierten Felder."),
        ({"preset": "custom", "custom_amount": "-5"}, "Bitte geben Sie den Betrag in Euro an"),
        ({"preset": "custom", "custom_amount": "99999999"}, "höchstens 1.000,00"),
        ({"preset": "777"}, "Bitte prüfen Sie die markierten Felder."),
        (
            {"preset": "1000", "cover_fee": "y", "fee_cents": "1"},
            "Die Gebühr für 10,00\xa0€ beträgt 0,40\xa0€",
        ),
    ],
)
def test_bad_input_is_refused_clearly_and_writes_nothing(client, db, stripe_api, fee, fields, message):
    response = _post(client, **fields)
    assert response.status_code == 400
    assert message in text_of(response)
    assert db.session.scalar(select(func.count()).select_from(Donation)) == 0
    assert stripe_api.calls("POST", "/v1/checkout/sessions") == []


def test_the_fee_tick_is_refused_where_no_fee_is_offered(client, db, stripe_api):
    assert "Zahlungsgebühr" not in text_of(client.get("/spenden"))
    response = _post(client, cover_fee="y")
    assert response.status_code == 400
    assert "Die Übernahme der Zahlungsgebühr wird nicht angeboten" in text_of(response)
    assert db.session.scalar(select(func.count()).select_from(Donation)) == 0


@pytest.mark.parametrize(
    ("percent", "fixed", "word"),
    [("abc", "0", "DONATION_FEE_PERCENT"), ("12", "0", "DONATION_FEE_PERCENT"),
     ("-1", "0", "DONATION_FEE_PERCENT"), ("1.5", "900", "DONATION_FEE_FIXED_CENTS"),
     ("1.5", "zehn", "DONATION_FEE_FIXED_CENTS")],
)  # fmt: skip
def test_a_bad_fee_setting_stops_the_start(tmp_path, percent, fixed, word):
    env = {"BEITRAG_ENV": "development", "DONATION_FEE_PERCENT": percent, "DONATION_FEE_FIXED_CENTS": fixed}
    with pytest.raises(ConfigError, match=word):
        load_config(env, tmp_path)


def test_good_fee_settings_are_read(tmp_path):
    env = {"BEITRAG_ENV": "development", "DONATION_FEE_PERCENT": "1,4", "DONATION_FEE_FIXED_CENTS": "25"}
    config = load_config(env, tmp_path)
    assert (config["DONATION_FEE_PERCENT"], config["DONATION_FEE_FIXED_CENTS"]) == (Decimal("1.4"), 25)


def test_the_statistics_say_how_yearly_gifts_and_covered_fees_count(client, db, stripe_api, fee):
    _give(client, db, stripe_api, kind="one_time", preset="1000", cover_fee="y")
    _give(client, db, stripe_api, email="ohne@example.org", kind="one_time", preset="500")
    sign_in(client, staff_user(db, "chefin-jahr@example.org", role="admin"))
    page = text_of(client.get("/staff/stats/"))
    assert "Eine jährliche Spende zählt mit einem Zwölftel ihres Betrags, auf den Cent gerundet." in page
    assert "Die Einnahmen enthalten die Zahlungsgebühren, die Spender*innen übernommen haben." in page
    shown = page.index("Davon von Spender*innen übernommene Zahlungsgebühren")
    assert "0,40\xa0€" in page[shown : shown + 80]


def _with_interval(donation, interval: str) -> dict:
    obj = s.subscription(donation, status="active")
    obj["items"]["data"][0]["price"] = {
        "id": f"price_{interval}", "unit_amount": donation.amount_cents, "currency": "eur",
        "recurring": {"interval": interval, "interval_count": 1},
    }  # fmt: skip
    return obj


def test_the_subscriptions_interval_decides_and_an_unknown_one_changes_nothing(client, db, stripe_api):
    donation = _give(client, db, stripe_api)
    weekly = s.event("customer.subscription.updated", _with_interval(donation, "week"))
    assert s.post_event(client, weekly).status_code == 200
    db.session.expire_all()
    assert db.session.get(Donation, donation.id).kind is DonationKind.YEARLY
    monthly = s.event("customer.subscription.updated", _with_interval(donation, "month"))
    assert s.post_event(client, monthly).status_code == 200
    db.session.expire_all()
    assert db.session.get(Donation, donation.id).kind is DonationKind.MONTHLY
    assert _mrr(db)["mrr_cents"] == 500  # now a month's amount


def test_staff_see_a_yearly_gift_and_its_covered_fee(client, db, stripe_api, fee):
    _give(client, db, stripe_api, preset="1000", cover_fee="y")
    sign_in(client, staff_user(db, "chefin-spenden@example.org", role="admin"))
    page = text_of(client.get("/staff/donations/"))
    assert "jährliche Spende" in page and "10,00\xa0€ + 0,40\xa0€ Gebühr übernommen" in page


def test_the_receipt_names_the_yearly_gift_and_the_fee_covered(app, client, db, stripe_api, fee, relay):
    _give(
        client,
        db,
        stripe_api,
        email="quittung@example.org",
        preset="custom",
        custom_amount="3,33",
        cover_fee="y",
    )
    run_jobs(app)
    (receipt,) = relay.wait_for(1)
    assert receipt["Subject"].startswith("Danke für Ihre jährliche Spende – Quittung")
    body = receipt.get_body(("plain",)).get_content()
    assert "Ihre jährliche Spende von 3,63\xa0€ hat begonnen." in body
    assert "Davon von Ihnen übernommene Zahlungsgebühr: 0,30\xa0€" in body
    assert "Art: jährliche Spende" in body and "/spenden/verwalten/" in body
