"""The donate page: amounts in integer cents within bounds, a Stripe Checkout Session made through the SDK
(against the stand-in over real HTTP), 303 to Stripe, success and cancel pages, attribution, refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from payments.models import Donation, DonationKind, DonationStatus
from tests.support.web import csrf_token, text_of


def _count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(Donation))


def _post(client, url="/spenden", **fields):
    token = csrf_token(client, url)
    data = {"csrf_token": token, "kind": "one_time", "preset": "500", **fields}
    return client.post("/spenden", data=data)


def test_page_in_german_and_english(client, stripe_api):
    page = text_of(client.get("/spenden"))
    assert "Unterstützen Sie unseren Journalismus" in page
    assert "3,00\xa0€" in page and "25,00\xa0€" in page  # the presets, in German number format
    english = text_of(client.get("/donate?lang=en"))
    assert "Support our journalism" in english and "€25.00" in english


def test_one_time_preset_goes_to_stripe_checkout(client, db, stripe_api):
    response = _post(client, email="Leser@Example.org", message="Weiter so!")
    assert response.status_code == 303
    donation = db.session.scalars(select(Donation)).one()
    assert response.headers["Location"] == f"{stripe_api.url}/c/pay/{donation.stripe_session_id}"
    assert (donation.kind, donation.amount_cents, donation.currency) == (DonationKind.ONE_TIME, 500, "eur")
    assert donation.status is DonationStatus.OPEN and donation.message == "Weiter so!"
    (call,) = stripe_api.calls("POST", "/v1/checkout/sessions")
    p = call.params
    assert p["mode"] == "payment"
    assert p["line_items[0][price_data][unit_amount]"] == "500"
    assert p["line_items[0][price_data][currency]"] == "eur"
    assert p["client_reference_id"] == str(donation.id)
    assert p["metadata[donation_id]"] == str(donation.id)
    assert p["payment_intent_data[metadata][donation_id]"] == str(donation.id)
    assert p["customer_email"] == "Leser@Example.org"
    assert p["success_url"] == "http://localhost/spenden/danke?session_id={CHECKOUT_SESSION_ID}"
    assert "line_items[0][price_data][recurring][interval]" not in p
    assert call.idempotency_key == f"beitrag-donation-{donation.id}-{donation.reference}-checkout"
    assert call.stripe_version and call.stripe_version.startswith("2026-")


def test_monthly_gifts_start_on_prices_of_one_product_made_once(client, db, stripe_api):
    response = _post(client, kind="monthly", preset="custom", custom_amount="12,50")
    assert response.status_code == 303
    donation = db.session.scalars(select(Donation)).one()
    assert (donation.kind, donation.amount_cents) == (DonationKind.MONTHLY, 1250)
    (product,) = stripe_api.calls("POST", "/v1/products")
    assert product.params["id"] == "beitrag-monthly-donation"
    assert product.params["name"] == "Monatliche Spende an KI-Kompass"  # one, in the newsroom's language
    (price,) = stripe_api.calls("POST", "/v1/prices")
    assert price.params["product"] == "beitrag-monthly-donation" and price.params["unit_amount"] == "1250"
    assert price.params["recurring[interval]"] == "month" and price.params["currency"] == "eur"
    assert price.params["lookup_key"] == "beitrag-monthly-donation:eur:month:1250"
    p = stripe_api.calls("POST", "/v1/checkout/sessions")[0].params
    assert p["mode"] == "subscription" and p["line_items[0][quantity]"] == "1"
    assert p["line_items[0][price]"] == donation.stripe_price_id
    assert donation.stripe_price_id.startswith("price_")
    assert not any(key.startswith("line_items[0][price_data]") for key in p)  # never an ad-hoc price
    assert p["subscription_data[metadata][donation_id]"] == str(donation.id)
    assert p["subscription_data[metadata][donation_reference]"] == donation.reference
    # The next reader with the same amount starts on the same Price, without asking Stripe for it again.
    before = len(stripe_api.requests)
    assert _post(client, kind="monthly", preset="custom", custom_amount="12,50").status_code == 303
    assert [r.path for r in stripe_api.requests[before:]] == ["/v1/checkout/sessions"]
    second = stripe_api.calls("POST", "/v1/checkout/sessions")[1].params
    assert second["line_items[0][price]"] == p["line_items[0][price]"]


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("0", "Der kleinste Betrag"),
        ("-5", "Bitte geben Sie den Betrag in Euro an"),
        ("1e9", "Bitte geben Sie den Betrag in Euro an"),
        ("abc", "Bitte geben Sie den Betrag in Euro an"),
        ("3.999", "Bitte geben Sie den Betrag in Euro an"),
        ("0,99", "Der kleinste Betrag"),
        ("1000000", "höchstens"),
        ("1000,01", "höchstens"),
        ("", "Bitte wählen Sie einen Betrag"),
    ],
)
def test_bad_custom_amounts_are_refused_and_change_nothing(client, db, stripe_api, typed, says):
    response = _post(client, preset="custom", custom_amount=typed)
    assert response.status_code == 400
    assert says in text_of(response)
    assert _count(db) == 0 and stripe_api.requests == []


def test_bounds_are_inclusive(client, db, stripe_api):
    assert _post(client, preset="custom", custom_amount="1").status_code == 303
    assert _post(client, preset="custom", custom_amount="1000,00").status_code == 303
    assert sorted(db.session.scalars(select(Donation.amount_cents))) == [100, 100_000]


def test_a_forged_preset_or_kind_is_refused(client, db, stripe_api):
    assert _post(client, preset="1").status_code == 400
    assert _post(client, kind="weekly").status_code == 400
    assert _count(db) == 0 and stripe_api.requests == []


def test_without_csrf_token_nothing_happens(client, db, stripe_api):
    response = client.post("/spenden", data={"kind": "one_time", "preset": "500"})
    assert response.status_code == 400
    assert _count(db) == 0 and stripe_api.requests == []


def test_stripe_unreachable_says_nothing_was_charged(client, db, stripe_api):
    stripe_api.fail_next.append((500, {"error": {"type": "api_error", "message": "boom"}}))
    response = _post(client)
    assert response.status_code == 502
    assert "Es wurde nichts abgebucht" in text_of(response)
    assert db.session.scalars(select(Donation.status)).one() is DonationStatus.START_FAILED


def test_attribution_from_the_issue_link_is_kept(client, db, stripe_api):
    url = "/spenden?issue=999&link=ask-bottom&utm_source=newsletter&utm_medium=email"
    response = _post(client, url=url, issue="999", link="ask-bottom", utm_source="newsletter",
                     utm_medium="email",
                     utm_campaign="herbst<script>", article="ki-und-recht")  # fmt: skip
    assert response.status_code == 303
    donation = db.session.scalars(select(Donation)).one()
    assert donation.issue_id is None  # no issue 999: dropped, not refused
    assert (donation.source_link, donation.utm_source, donation.utm_medium) == (
        "ask-bottom",
        "newsletter",
        "email",
    )
    assert donation.utm_campaign == "herbstscript" and donation.article_slug == "ki-und-recht"


def test_the_form_carries_attribution_from_the_address(client, stripe_api):
    page = text_of(client.get("/spenden?issue=3&link=ask-top&utm_source=newsletter"))
    assert 'name="link" type="hidden" value="ask-top"' in page
    assert 'name="utm_source" type="hidden" value="newsletter"' in page


def test_public_name_only_when_chosen(client, db, stripe_api):
    _post(client, public_name="Lea")  # box not ticked
    _post(client, public_name="Max", show_publicly="y")
    assert set(db.session.scalars(select(Donation.public_name))) == {None, "Max"}


def test_rate_limit_on_the_form(app, client, db, stripe_api, monkeypatch):
    monkeypatch.setitem(app.config, "DONATE_RATE_LIMIT", "3 per minute")
    statuses = [_post(client).status_code for _ in range(4)]
    assert statuses == [303, 303, 303, 429]
    assert _count(db) == 3


def test_success_page_confirms_from_the_session(client, db, stripe_api):
    _post(client)
    donation = db.session.scalars(select(Donation)).one()
    stripe_api.sessions[donation.stripe_session_id]["payment_status"] = "paid"
    page = text_of(client.get(f"/spenden/danke?session_id={donation.stripe_session_id}"))
    assert "Ihre Spende von 5,00\xa0€ ist angekommen" in page
    stripe_api.sessions[donation.stripe_session_id]["payment_status"] = "unpaid"  # SEPA: on its way
    page = text_of(client.get(f"/spenden/danke?session_id={donation.stripe_session_id}"))
    assert "wird bearbeitet" in page
    # A made-up session says thanks without telling anything about anyone.
    page = text_of(client.get("/spenden/danke?session_id=cs_test_made_up"))
    assert "5,00" not in page and "Danke" in page


def test_cancel_page_invites_back(client, db, stripe_api):
    _post(client, kind="monthly")
    donation = db.session.scalars(select(Donation)).one()
    page = text_of(client.get(f"/spenden/abgebrochen?ref={donation.reference}"))
    assert "Es wurde nichts bezahlt" in page and "/spenden?kind=monthly" in page


def test_without_stripe_keys_readers_see_soon_and_staff_see_how(app, client, db):
    assert not app.config["STRIPE_SECRET_KEY"]
    page = text_of(client.get("/spenden"))
    assert "Spenden sind bald möglich" in page and "STRIPE_SECRET_KEY" not in page
    response = client.post("/spenden", data={"kind": "one_time", "preset": "500"})
    assert response.status_code in (400, 503) and _count(db) == 0
    from tests.staff.factories import sign_in, staff_user

    sign_in(client, staff_user(db, "chefin@example.org"))
    page = text_of(client.get("/spenden"))
    assert "STRIPE_SECRET_KEY" in page and "sk_test_" in page and "/webhooks/stripe" in page


def test_donate_form_may_continue_to_checkout_and_nowhere_else(client, stripe_api):
    """Browsers apply form-action to the redirect after the POST: the donate page names Stripe's pages (and
    the stand-in the SDK is pointed at); other pages keep form-action 'self'. Tried: a forged STRIPE_API_BASE
    with a quote and a semicolon never reaches the header."""
    csp = client.get("/spenden").headers["Content-Security-Policy"]
    form_action = next(d.strip() for d in csp.split(";") if d.strip().startswith("form-action"))
    stripe_pages = f"https://checkout.stripe.com https://billing.stripe.com {stripe_api.url}"
    assert form_action == f"form-action 'self' {stripe_pages}"
    assert "form-action 'self';" in client.get("/").headers["Content-Security-Policy"]
    client.application.config["STRIPE_API_BASE"] = "http://x.example';script-src *;"
    csp = client.get("/spenden").headers["Content-Security-Policy"]
    assert "x.example" not in csp and csp.count("script-src") == 1
