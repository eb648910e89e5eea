"""The yearly giving statement: a reader asks for it in the preference center behind their signed link,
picks one of the years of their own gifts, and gets one mail listing each payment of that year (in the
newsroom's time zone) net of refunds, with the total, to the cent. Bad input tried: a year without gifts,
a forged year ("abc", another reader's year), a request without the CSRF token, an expired link, a forged
link, the same request twice on one day, a reader who never gave."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest

from newsletter.readers import links
from payments.models import DonorMail
from tests.payments.factories import make_donation, make_donor, make_payment
from tests.readers.factories import make_reader
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs

AMOUNT = re.compile(r"(\d{1,3}(?:\.\d{3})*,\d{2})\s€")


def _cents(text: str) -> int:
    return int(text.replace(".", "").replace(",", ""))


def _at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def mara(db):
    """A reader whose gifts cross year boundaries, with a refund, a lost dispute, a failure and a full
    refund in 2025; 25.00 EUR count in 2025."""
    reader = make_reader(db, "mara@example.org", locale="de")
    person = make_donor(db, "Mara@Example.org", subscriber_id=reader.id)
    once = make_donation(db, person, "one_time", 2000, _at(2025, 3, 10, 9), "paid")
    make_payment(db, once, 2000, _at(2025, 3, 10, 9), refunded=500)  # 15.00 remain
    lost = make_donation(db, person, "one_time", 1000, _at(2025, 6, 1, 9), "paid")
    make_payment(db, lost, 1000, _at(2025, 6, 1, 9), dispute="lost")  # counts nothing
    back = make_donation(db, person, "one_time", 3000, _at(2025, 9, 1, 9), "refunded")
    make_payment(db, back, 3000, _at(2025, 9, 1, 9), status="refunded", refunded=3000)  # counts nothing
    monthly = make_donation(db, person, "monthly", 500, _at(2025, 11, 15, 9), "active")
    make_payment(db, monthly, 500, _at(2025, 11, 15, 9))
    make_payment(db, monthly, 500, _at(2025, 12, 15, 9))
    make_payment(db, monthly, 500, _at(2025, 12, 20, 9), status="failed", failures=1)  # never paid
    # 23:30 UTC on New Year's Eve is 00:30 on 1 January in Berlin: a 2026 gift.
    make_payment(db, monthly, 777, _at(2025, 12, 31, 23, 30))
    old = make_donation(db, person, "one_time", 1234, _at(2024, 5, 5, 12), "paid")
    make_payment(db, old, 1234, _at(2024, 5, 5, 12))
    db.session.commit()
    return reader


def _url(app, reader) -> str:
    return links.preferences_url("", app.config["SECRET_KEY"], reader.id)


def _ask(client, app, reader, year, token=None):
    url = _url(app, reader)
    data = {"year": str(year)}
    if token is not False:
        data["csrf_token"] = token or csrf_token(client, url)
    return client.post(f"{url}/statement", data=data)


def test_the_page_offers_only_the_readers_own_years(app, client, db, mara):
    page = text_of(client.get(_url(app, mara)))
    offered = re.findall(r'<option[^>]*value="(\d{4})"', page)
    assert offered == ["2026", "2025", "2024"]
    never = make_reader(db, "nie@example.org")
    db.session.commit()
    assert "/statement" not in text_of(client.get(_url(app, never)))


def test_statement_lists_each_payment_of_the_year_net_of_refunds(app, client, db, relay, mara, monkeypatch):
    note = "Die KI-Kompass gUG ist als gemeinnützig anerkannt."
    monkeypatch.setitem(app.config, "GIVING_STATEMENT_NOTE", note)
    response = _ask(client, app, mara, 2025)
    assert response.status_code == 200
    assert "2025" in text_of(response) and "mara@example.org" in text_of(response)
    run_jobs(app)
    [message] = relay.wait_for(1)
    assert message["To"] == "Mara@Example.org"
    assert "2025" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    amounts = [_cents(a) for a in AMOUNT.findall(text)]
    *lines, total = amounts
    assert lines == [1500, 500, 500]  # 20.00 - 5.00; the lost dispute, the refunded gift, the failure: none
    assert total == sum(lines) == 2500
    for day in ("10.03.2025", "15.11.2025", "15.12.2025"):
        assert day in text
    assert "31.12.2025" not in text and "01.01.2026" not in text and "7,77" not in text
    assert "25,00" in html and "15,00" in html
    assert "gemeinnützig anerkannt" in text and "gemeinnützig anerkannt" in html
    assert "not a receipt for tax purposes" not in text


def test_new_years_eve_gift_belongs_to_the_next_year_in_berlin(app, client, db, relay, mara):
    assert _ask(client, app, mara, 2026).status_code == 200
    run_jobs(app)
    [message] = relay.wait_for(1)
    text = message.get_body(("plain",)).get_content()
    assert [_cents(a) for a in AMOUNT.findall(text)] == [777, 777]
    assert "01.01.2026" in text
    assert "not a receipt for tax purposes" in text or "keine Zuwendungsbestätigung" in text  # no note set


def test_one_statement_per_year_and_day(app, client, db, relay, mara):
    """The same request twice (a double click, a replayed form): one mail; another year still works."""
    token = csrf_token(client, _url(app, mara))
    assert _ask(client, app, mara, 2025, token).status_code == 200
    again = _ask(client, app, mara, 2025, token)
    assert again.status_code == 429
    assert "already on its way" in text_of(again) or "bereits unterwegs" in text_of(again)
    assert _ask(client, app, mara, 2024, token).status_code == 200
    run_jobs(app)
    time.sleep(0.3)
    subjects = sorted(m["Subject"] for m in relay.wait_for(2))
    assert len(relay.messages) == 2
    assert "2024" in subjects[0] and "2025" in subjects[1]
    assert db.session.query(DonorMail).filter(DonorMail.kind == "statement").count() == 2


@pytest.mark.parametrize("year", ["2023", "1999", "abc", "2025; DROP TABLE donors", ""])
def test_years_without_gifts_and_forged_years_send_nothing(app, client, db, relay, mara, year):
    response = _ask(client, app, mara, year)
    assert response.status_code == 400
    assert "choose one of the years" in text_of(response) or "Jahre" in text_of(response)
    run_jobs(app)
    assert relay.messages == []


def test_another_readers_link_cannot_ask_for_the_donors_statement(app, client, db, relay, mara):
    other = make_reader(db, "nachbar@example.org")
    db.session.commit()
    response = _ask(client, app, other, 2025)
    assert response.status_code == 400
    run_jobs(app)
    assert relay.messages == []


def test_bad_links_and_missing_csrf_send_nothing(app, client, db, relay, mara):
    secret = app.config["SECRET_KEY"]
    expired = links.preferences_token(secret, mara.id, now=time.time() - 31 * 86400)
    token = csrf_token(client, _url(app, mara))
    response = client.post(f"/preferences/{expired}/statement", data={"year": "2025", "csrf_token": token})
    assert response.status_code == 400
    assert "expired" in text_of(response) or "abgelaufen" in text_of(response)
    forged = links.preferences_token(secret, mara.id)[:-2] + "xx"
    response = client.post(f"/preferences/{forged}/statement", data={"year": "2025", "csrf_token": token})
    assert response.status_code == 400
    assert _ask(client, app, mara, 2025, token=False).status_code == 400  # no CSRF token
    run_jobs(app)
    assert relay.messages == []
    assert db.session.query(DonorMail).count() == 0


def test_a_yearly_gift_is_named_a_yearly_donation_on_the_statement(app, client, db, relay, mara):
    person = make_donor(db, "jahr@example.org", subscriber_id=make_reader(db, "jahr@example.org").id)
    yearly = make_donation(db, person, "yearly", 6000, _at(2025, 2, 1, 9), "active")
    make_payment(db, yearly, 6000, _at(2025, 2, 1, 9))
    db.session.commit()
    reader = person.subscriber_id
    url = links.preferences_url("", app.config["SECRET_KEY"], reader)
    token = csrf_token(client, url)
    assert client.post(f"{url}/statement", data={"year": "2025", "csrf_token": token}).status_code == 200
    run_jobs(app)
    [message] = relay.wait_for(1)
    text = message.get_body(("plain",)).get_content()
    assert "jährliche Spende" in text and "60,00" in text
    assert "monatliche Spende" not in text and "einmalige Spende" not in text
