"""The test checkout of ``make run`` without Stripe keys: the donate page leads to Beitrag's labelled test
checkout page, "pay" makes the stand-in (payments/demo_checkout/standin.py, on a real port) post Stripe's
signed events to the app's real webhook endpoint (the app served over HTTP), and the donor sees the
thank-you page and gets the receipt; the supporter state and the statistics move. Production refuses to
start with it, and Stripe keys turn it off."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from newsletter import ports
from newsletter.platform import devserver
from newsletter.platform.access import StaffRole
from newsletter.platform.settings import ConfigError, load_config
from newsletter.readers.models import Subscriber
from payments import demo_checkout, gateway
from payments.demo_checkout.standin import CheckoutStandIn
from payments.models import Donation, DonationStatus
from payments.settings import stripe_settings
from tests.readers.factories import make_reader
from tests.staff.factories import sign_in
from tests.support.smtp import free_port
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs

SECRET = "a-random-secret-for-the-test-checkout"


@pytest.fixture
def test_checkout(app, monkeypatch, tmp_path):
    """The app served over HTTP (for the webhooks), the stand-in on its own port, and the app's settings
    as ``make run`` gives them to every process (DEMO_CHECKOUT_URL and DEMO_CHECKOUT_SECRET)."""
    web = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = load_config(
        {"DEMO_CHECKOUT_URL": url, "DEMO_CHECKOUT_SECRET": SECRET, "BEITRAG_ENV": "testing"}, tmp_path
    )
    for key in (
        "DEMO_CHECKOUT",
        "DEMO_CHECKOUT_URL",
        "STRIPE_SECRET_KEY",
        "STRIPE_WEBHOOK_SECRET",
        "STRIPE_API_BASE",
    ):
        monkeypatch.setitem(app.config, key, config[key])
    monkeypatch.setitem(app.config, "STRIPE_MAX_NETWORK_RETRIES", 0)
    checkout = CheckoutStandIn(
        api_key=config["STRIPE_SECRET_KEY"], webhook_secret=config["STRIPE_WEBHOOK_SECRET"],
        page_base=app.config["BASE_URL"], webhook_url=f"http://127.0.0.1:{web.server_port}/webhooks/stripe",
        state_file=tmp_path / "test-checkout.json",
    )  # fmt: skip
    server = checkout.serve(port)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield checkout
    server.shutdown()
    server.server_close()
    web.shutdown()


def _donate(client, **fields) -> str:
    """Post the donate form; the address the reader is sent to."""
    data = {"csrf_token": csrf_token(client, "/spenden"), "kind": "one_time", "preset": "500", **fields}
    response = client.post("/spenden", data=data)
    assert response.status_code == 303, text_of(response)
    return response.headers["Location"]


def _pay(client, page_url: str, email: str):
    path = page_url.removeprefix("http://localhost")
    page = client.get(path)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text_of(page)).group(1)
    return page, client.post(path, data={"csrf_token": token, "email": email})


def _today_figures(client) -> str:
    today = datetime.now(ZoneInfo("Europe/Berlin")).date().isoformat()
    return text_of(client.get(f"/staff/stats/?period=custom&from={today}&to={today}"))


@pytest.mark.parametrize("kind", ["one_time", "monthly", "yearly"])
def test_a_gift_goes_through_the_test_checkout_end_to_end(app, client, db, relay, test_checkout, kind):
    reader = make_reader(db, "lea@example.org")
    db.session.commit()
    staff = app.test_client()
    sign_in(staff, StaffRole.ADMIN)
    assert "7,30\xa0€" not in _today_figures(staff)
    assert "Testkasse – es wird kein Geld bewegt" in text_of(client.get("/spenden"))

    target = _donate(client, kind=kind, preset="custom", custom_amount="7,30")
    assert target.startswith("http://localhost/spenden/testkasse/cs_test_demo")
    page, paid = _pay(client, target, "Lea@Example.org")
    shown = text_of(page)
    assert page.status_code == 200 and "Testkasse – es wird kein Geld bewegt" in shown
    assert {
        "monthly": "7,30\xa0€ monatlich",
        "yearly": "7,30\xa0€ jährlich",
        "one_time": "7,30\xa0€ einmalig",
    }[kind] in shown
    assert paid.status_code == 303 and paid.headers["Location"].startswith("http://localhost/spenden/danke?")

    # Every event Stripe sends for it reached the real webhook endpoint, signature checked, and was taken.
    assert test_checkout.webhook_answers and set(test_checkout.webhook_answers) == {200}
    thanks = text_of(client.get(paid.headers["Location"].removeprefix("http://localhost")))
    if kind == "monthly":
        assert "Ihre monatliche Spende von 7,30\xa0€ hat begonnen." in thanks
    elif kind == "yearly":
        assert "Ihre jährliche Spende von 7,30\xa0€ hat begonnen." in thanks
    else:
        assert "Ihre Spende von 7,30\xa0€ ist angekommen." in thanks

    donation = db.session.scalars(select(Donation)).one()
    assert donation.status is (DonationStatus.PAID if kind == "one_time" else DonationStatus.ACTIVE)
    # A yearly supporter is a recurring one: the same state as a monthly supporter.
    state = "monthly" if kind == "yearly" else kind
    assert ports.supporter_state(db.session, db.session.get(Subscriber, reader.id)) == state
    run_jobs(app)
    (receipt,) = relay.wait_for(1)
    assert receipt["To"].lower() == "lea@example.org" and receipt["Subject"].startswith("Danke für Ihre")
    assert "7,30" in receipt.get_body(("plain",)).get_content()
    assert "7,30\xa0€" in _today_figures(staff)

    # The back button after paying: the page sends the donor on to the thank-you page, nothing twice.
    delivered = len(test_checkout.webhook_answers)
    again = client.get(target.removeprefix("http://localhost"))
    assert again.status_code == 303 and "/spenden/danke" in again.headers["Location"]
    assert len(test_checkout.webhook_answers) == delivered


def test_a_forged_event_is_refused_with_the_test_checkout_on(client, db, test_checkout):
    response = client.post(
        "/webhooks/stripe", data=b'{"id": "evt_x", "type": "checkout.session.completed", "data": {}}',
        headers={"Stripe-Signature": "t=1,v1=00", "Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 400


def test_the_page_is_labelled_in_english_and_offers_the_way_back(client, db, test_checkout):
    target = _donate(client)
    page = text_of(client.get(target.removeprefix("http://localhost") + "?lang=en"))
    assert "Test checkout – no money moves" in page and "€5.00 once" in page
    assert 'href="http://localhost/spenden/abgebrochen?ref=' in page


def test_without_the_test_checkout_its_page_does_not_exist(client, db, stripe_api):
    assert client.get("/spenden/testkasse/cs_test_demo" + "0" * 32).status_code == 404
    assert "Testkasse" not in text_of(client.get("/spenden"))


def test_production_refuses_to_start_with_the_test_checkout(tmp_path):
    env = {"DEMO_CHECKOUT_URL": "http://127.0.0.1:5090", "DEMO_CHECKOUT_SECRET": SECRET,
           "SECRET_KEY": "x" * 40}  # fmt: skip
    with pytest.raises(ConfigError, match="DEMO_CHECKOUT_URL is set, and BEITRAG_ENV is production"):
        load_config({**env, "BEITRAG_ENV": "production"}, tmp_path)
    with pytest.raises(ConfigError, match="DEMO_CHECKOUT_URL"):
        load_config(env, tmp_path)  # production is the default


def test_stripe_keys_turn_the_test_checkout_off(tmp_path):
    env = {"DEMO_CHECKOUT_URL": "http://127.0.0.1:5090", "DEMO_CHECKOUT_SECRET": SECRET,
           "BEITRAG_ENV": "development", "STRIPE_SECRET_KEY": "sk_test_real"}  # fmt: skip
    config = load_config(env, tmp_path)
    assert config["DEMO_CHECKOUT"] is False and config["STRIPE_SECRET_KEY"] == "sk_test_real"
    assert config["STRIPE_API_BASE"] is None
    # `make run` starts the stand-in only in development without Stripe keys.
    dev = {**load_config({"BEITRAG_ENV": "development"}, tmp_path), "DEVELOPMENT": True}
    with_keys = {**dev, "STRIPE_SECRET_KEY": "sk_test_real"}
    for config, starts in ((dev, True), (with_keys, False), ({**dev, "DEVELOPMENT": False}, False)):
        flask_app = Flask(__name__)
        flask_app.config.update(config)
        devserver.register_companion(flask_app, demo_checkout.companion)
        found = devserver.companions(flask_app, "http://127.0.0.1:5000")
        assert bool(found) is starts
        if starts:
            assert found[0].env["DEMO_CHECKOUT_URL"].startswith("http://127.0.0.1:")
            assert found[0].args == ["payments", "test-checkout"]


def test_the_stand_in_answers_only_what_checkout_asks(app, db, test_checkout):
    settings = stripe_settings()
    with pytest.raises(gateway.GatewayError, match="Unrecognized request URL"):
        gateway.retrieve_payment_intent(settings, "pi_demo_unknown")
    wrong_key = replace(settings, secret_key="sk_test_demo_guessed")
    with pytest.raises(gateway.GatewayError, match="Invalid API Key"):
        gateway.retrieve_checkout_session(wrong_key, "cs_test_demo" + "0" * 32)
