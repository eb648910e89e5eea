"""Zuwendungsbestätigungen for a newsroom that is a recognised charity: a donor asks in the preference
center (behind their signed link), gives their name and postal address once, and gets the official receipt
as PDF: the BMF wording, the amount in figures and words, the day, a number never given twice; several
gifts of a year make a Sammelbestätigung listing each. Asking again gives the same receipt, a gift is never
confirmed twice, a refund after issue is flagged for the staff, January's run mails each donor of the past
year once, and erasing a donor keeps the receipts the law requires. A newsroom that is not a charity keeps
the giving statement that says it is not a tax receipt."""

from __future__ import annotations

import io
import threading
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from newsletter.platform.access import StaffRole
from newsletter.platform.settings import ConfigError
from newsletter.readers import links
from payments.models import Donation, DonationKind, Donor, DonorMail
from payments.receipts import issuing
from payments.receipts.charity import charity_from_config
from payments.receipts.models import ReceiptAddress, TaxReceipt
from payments.receipts.words import euros_in_words
from tests.payments.factories import donate, make_donation, make_donor, make_payment, open_donation
from tests.readers.factories import make_reader
from tests.staff.factories import sign_in, staff_user
from tests.support import stripe_api as s
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs

BERLIN = ZoneInfo("Europe/Berlin")
CHARITY = {
    "CHARITY_NAME": "KI-Kompass gGmbH",
    "CHARITY_ADDRESS": "Musterstraße 12, 10115 Berlin",
    "CHARITY_TAX_OFFICE": "Berlin für Körperschaften I",
    "CHARITY_TAX_NUMBER": "27/601/12345",
    "CHARITY_EXEMPTION_DATE": "2025-03-14",
    "CHARITY_PURPOSE": "Förderung der Bildung",
}


def _at(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _pdf_text(data: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())


def _attachments(message) -> list[tuple[str, bytes]]:
    return [(part.get_filename(), part.get_content()) for part in message.iter_attachments()]


@pytest.fixture
def charity(app, monkeypatch):
    for key, value in CHARITY.items():
        monkeypatch.setitem(app.config, key, value)
    return charity_from_config(app.config)


@pytest.fixture
def jonas(db):
    """A reader who gave 25.50 EUR once in 2025, and 10 EUR on 1 January 2026 (Berlin)."""
    reader = make_reader(db, "jonas@example.org", locale="de")
    person = make_donor(db, "jonas@example.org", subscriber_id=reader.id)
    once = make_donation(db, person, "one_time", 2550, _at(2025, 5, 8, 10), "paid")
    make_payment(db, once, 2550, _at(2025, 5, 8, 10))
    later = make_donation(db, person, "one_time", 1000, _at(2025, 12, 31, 23, 30), "paid")
    make_payment(db, later, 1000, _at(2025, 12, 31, 23, 30))
    db.session.commit()
    return reader


def _url(app, reader) -> str:
    return links.preferences_url("", app.config["SECRET_KEY"], reader.id)


def _ask(client, app, reader, year, **fields):
    url = _url(app, reader)
    data = {"year": str(year), "csrf_token": csrf_token(client, url), **fields}
    return client.post(f"{url}/statement", data=data)


ADDRESS = {"name": "Jonas Beispiel", "address": "Lindenallee 3\n50667 Köln"}


@pytest.mark.parametrize(("cents", "words"), [
    (2500, "fünfundzwanzig Euro"),
    (2550, "fünfundzwanzig Euro und fünfzig Cent"),
    (100, "ein Euro"),
    (1, "ein Cent"),
    (10001, "einhundert Euro und ein Cent"),
    (123456, "eintausendzweihundertvierunddreißig Euro und sechsundfünfzig Cent"),
    (100000000, "eine Million Euro"),
])  # fmt: skip
def test_amounts_in_german_words(cents, words):
    assert euros_in_words(cents) == words


def test_the_settings_are_all_or_none(make_app):
    with pytest.raises(ConfigError, match="CHARITY_TAX_NUMBER"):
        make_app(**{k: v for k, v in CHARITY.items() if k != "CHARITY_TAX_NUMBER"})
    with pytest.raises(ConfigError, match="CHARITY_EXEMPTION_DATE"):
        make_app(**(CHARITY | {"CHARITY_EXEMPTION_DATE": "14.03.2025"}))


def test_a_receipt_needs_the_name_and_address_then_arrives_as_pdf(app, client, db, relay, charity, jonas):
    page = text_of(client.get(_url(app, jonas)))
    assert "Zuwendungsbestätigung" in page
    missing = _ask(client, app, jonas, 2025)
    assert missing.status_code == 400
    assert "Namen und Ihre Postanschrift" in text_of(missing) or "name and postal address" in text_of(missing)
    assert db.session.scalar(select(TaxReceipt)) is None

    response = _ask(client, app, jonas, 2025, **ADDRESS)
    assert response.status_code == 200
    run_jobs(app)
    [message] = relay.wait_for(1)
    assert message["To"] == "jonas@example.org"
    assert "ZB-000001" in message["Subject"]
    [(filename, data)] = _attachments(message)
    assert filename == "Zuwendungsbestaetigung-ZB-000001.pdf"
    text = _pdf_text(data)
    for wording in (
        "Bestätigung über Geldzuwendungen",
        "§ 10b des Einkommensteuergesetzes",
        "KI-Kompass gGmbH",
        "Jonas Beispiel",
        "Lindenallee 3",
        "50667 Köln",
        "25,50 €",
        "fünfundzwanzig Euro und fünfzig Cent",
        "08.05.2025",
        "Nr. ZB-000001",
        "Geldzuwendung",
        "Es handelt sich nicht um den Verzicht auf Erstattung von Aufwendungen",
        "Wir sind wegen Förderung der Bildung",
        "Finanzamtes Berlin für Körperschaften I",
        "StNr. 27/601/12345",
        "vom 14.03.2025",
        "Es wird bestätigt, dass die Zuwendung nur zur Förderung der Bildung verwendet wird",
        "Wer vorsätzlich oder grob fahrlässig eine unrichtige Zuwendungsbestätigung erstellt",
    ):
        assert wording in text, wording
    assert "10,00" not in text  # the 1 January gift belongs to 2026 in Berlin
    assert "Sammelbestätigung" not in text


def test_asking_again_gives_the_same_receipt_not_a_new_number(app, client, db, relay, charity, jonas):
    assert _ask(client, app, jonas, 2025, **ADDRESS).status_code == 200
    again = _ask(client, app, jonas, 2025)
    assert again.status_code == 429  # the same day: one mail
    donor = db.session.scalar(select(TaxReceipt)).donor_id
    # Another day: the same receipt mailed again, with its number and PDF.
    person = db.session.get(Donation, db.session.scalar(select(Donation.id))).donor
    assert person.id == donor
    outcome = issuing.request_receipts(db.session, person, 2025, charity, zone=BERLIN, locale="de",
                                       today=date(2026, 3, 2))  # fmt: skip
    db.session.commit()
    assert outcome == "written"
    run_jobs(app)
    first, second = relay.wait_for(2)
    assert _attachments(first) == _attachments(second)
    assert [r.number for r in db.session.scalars(select(TaxReceipt))] == [1]


def test_a_gift_is_never_confirmed_twice_and_numbers_go_on(app, client, db, relay, charity, jonas):
    assert _ask(client, app, jonas, 2025, **ADDRESS).status_code == 200
    assert _ask(client, app, jonas, 2026).status_code == 200  # the address is on file now
    person = db.session.get(Donation, db.session.scalar(select(Donation.id))).donor
    more = make_donation(db, person, "one_time", 700, _at(2025, 7, 1, 10), "paid")
    make_payment(db, more, 700, _at(2025, 7, 1, 10))
    db.session.commit()
    issuing.request_receipts(
        db.session, person, 2025, charity, zone=BERLIN, locale="de", today=date(2026, 3, 2)
    )
    db.session.commit()
    receipts = list(db.session.scalars(select(TaxReceipt).order_by(TaxReceipt.number)))
    assert [(r.number, r.year, r.total_cents) for r in receipts] == [
        (1, 2025, 2550),
        (2, 2026, 1000),
        (3, 2025, 700),
    ]
    run_jobs(app)
    pdfs = [_pdf_text(data) for m in relay.wait_for(4) for _, data in _attachments(m)]
    assert sum("ZB-000003" in t for t in pdfs) == 1 and "sieben Euro" in next(
        t for t in pdfs if "ZB-000003" in t
    )


def test_a_sammelbestaetigung_lists_each_gift(app, client, db, relay, charity):
    reader = make_reader(db, "mara@example.org")
    person = make_donor(db, "mara@example.org", subscriber_id=reader.id)
    monthly = make_donation(db, person, "monthly", 500, _at(2025, 10, 15, 9), "active")
    for month in (10, 11, 12):
        make_payment(db, monthly, 500, _at(2025, month, 15, 9))
    once = make_donation(db, person, "one_time", 2000, _at(2025, 3, 10, 9), "paid")
    make_payment(db, once, 2000, _at(2025, 3, 10, 9), refunded=500)  # 15.00 EUR remain
    lost = make_donation(db, person, "one_time", 1000, _at(2025, 6, 1, 9), "paid")
    make_payment(db, lost, 1000, _at(2025, 6, 1, 9), dispute="lost")  # confirms nothing
    db.session.commit()
    assert (
        _ask(client, app, reader, 2025, name="Mara Muster", address="Hauptstr. 1\n10115 Berlin").status_code
        == 200
    )
    run_jobs(app)
    [message] = relay.wait_for(1)
    [(_, data)] = _attachments(message)
    text = _pdf_text(data)
    assert "Sammelbestätigung über Geldzuwendungen" in text and "Anlage zur Sammelbestätigung" in text
    assert "01.01.2025 – 31.12.2025" in text
    assert "30,00 €" in text and "dreißig Euro" in text
    for day, amount in (
        ("10.03.2025", "15,00 €"),
        ("15.10.2025", "5,00 €"),
        ("15.11.2025", "5,00 €"),
        ("15.12.2025", "5,00 €"),
    ):
        assert f"{day} Geldzuwendung nein {amount}" in text
    assert "01.06.2025" not in text
    assert "keine weiteren Bestätigungen" in text


def test_a_refund_after_issue_is_flagged_for_the_staff(app, client, db, relay, charity, stripe_api):
    donation = open_donation(db, DonationKind.ONE_TIME, 4000, email="lea@example.org")
    session = s.completed_session(donation, email="lea@example.org")
    session["customer_details"]["address"] = {"line1": "Am Markt 5", "line2": None, "postal_code": "04109",
                                              "city": "Leipzig", "country": "DE", "state": None}  # fmt: skip
    assert s.post_event(client, s.event("checkout.session.completed", session)).status_code == 200
    db.session.expire_all()
    person = db.session.get(Donation, donation.id).donor
    address = db.session.get(ReceiptAddress, person.id)
    assert (address.name, address.address) == ("Lea Leserin", "Am Markt 5\n04109 Leipzig")
    year = datetime.now(BERLIN).year
    receipt = issuing.issue_receipt(db.session, person, year, charity, zone=BERLIN, today=date.today())
    db.session.commit()
    admin = staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    sign_in(client, admin)
    page = text_of(client.get("/staff/donations/receipts/"))
    assert "ZB-000001" in page and "Lea Leserin" in page
    refund = s.charge(donation, amount_refunded=1500, payment_intent=f"pi_test_for_{donation.id}")
    assert s.post_event(client, s.event("charge.refunded", refund)).status_code == 200
    db.session.expire_all()
    flagged = issuing.flagged_receipts(db.session)
    assert [(r.number, excess) for r, excess in flagged] == [(receipt.number, 1500)]
    page = text_of(client.get("/staff/donations/receipts/"))
    assert "15,00" in page
    pdf = client.get(f"/staff/donations/receipts/{receipt.id}.pdf")
    assert pdf.mimetype == "application/pdf" and "40,00 €" in _pdf_text(pdf.data)  # as issued


def test_the_staff_list_is_for_admins(app, client, db, charity):
    sign_in(client, StaffRole.EDITOR)
    assert client.get("/staff/donations/receipts/").status_code == 403


def test_january_mails_each_donor_of_the_past_year_once(app, db, relay, charity):
    people = []
    for n, email in enumerate(("a@example.org", "b@example.org", "ohne@example.org")):
        person = make_donor(db, email)
        gift = make_donation(db, person, "monthly", 500, _at(2025, 2, 1, 9), "active")
        make_payment(db, gift, 500, _at(2025, 2, 1, 9))
        make_payment(db, gift, 500, _at(2025, 3, 1, 9))
        if n < 2:
            issuing.save_address(db.session, person, f"Person {n}", f"Weg {n}\n1000{n} Berlin")
        people.append(person)
    db.session.commit()
    first = issuing.send_year_receipts(db.session, charity, zone=BERLIN, today=date(2026, 1, 2))
    second = issuing.send_year_receipts(db.session, charity, zone=BERLIN, today=date(2026, 1, 3))
    assert first == {"issued": 2, "without_address": 1}
    assert second == {"issued": 0, "without_address": 1}
    run_jobs(app)
    messages = relay.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["a@example.org", "b@example.org"]
    assert all("Sammelbestätigung" in _pdf_text(_attachments(m)[0][1]) for m in messages)
    assert db.session.query(DonorMail).filter(DonorMail.kind == "tax_receipt").count() == 2


def test_erasure_keeps_the_receipts_the_law_requires(app, client, db, relay, charity, jonas):
    assert _ask(client, app, jonas, 2025, **ADDRESS).status_code == 200
    url = _url(app, jonas)
    token = csrf_token(client, url)
    assert client.post(f"{url}/erase", data={"csrf_token": token, "confirm": "y"}).status_code in (
        200,
        302,
        303,
    )
    assert db.session.scalar(select(ReceiptAddress)) is None  # not kept for future receipts
    [receipt] = db.session.scalars(select(TaxReceipt))
    assert receipt.donor_name == "Jonas Beispiel" and "Lindenallee 3" in _pdf_text(receipt.pdf)


def test_a_newsroom_that_is_no_charity_keeps_the_summary(app, client, db, relay, jonas):
    page = text_of(client.get(_url(app, jonas)))
    assert "Zuwendungsbestätigung" not in page and 'name="address"' not in page
    assert _ask(client, app, jonas, 2025).status_code == 200
    run_jobs(app)
    [message] = relay.wait_for(1)
    assert _attachments(message) == []
    text = message.get_body(("plain",)).get_content()
    assert "not a receipt for tax purposes" in text or "keine Zuwendungsbestätigung" in text
    assert db.session.scalar(select(TaxReceipt)) is None


def test_checkout_asks_a_charitys_donors_for_their_address(app, client, db, stripe_api, monkeypatch):
    donate(client, db)
    assert "billing_address_collection" not in stripe_api.calls("POST", "/v1/checkout/sessions")[0].params
    for key, value in CHARITY.items():
        monkeypatch.setitem(app.config, key, value)
    donate(client, db, preset="1000")
    assert (
        stripe_api.calls("POST", "/v1/checkout/sessions")[1].params["billing_address_collection"]
        == "required"
    )


def test_two_requests_at_once_issue_one_receipt(app, db, charity, jonas):
    """Two requests for the same gifts at the same moment (two tabs, two hosts): one receipt, number 1; the
    other finds the gifts confirmed once it gets the counter, and takes no number."""
    person = db.session.get(Donation, db.session.scalar(select(Donation.id))).donor
    issuing.save_address(db.session, person, "Jonas Beispiel", "Lindenallee 3\n50667 Köln")
    db.session.commit()
    donor_id = person.id
    start = threading.Barrier(2)
    outcomes: list = []

    def ask() -> None:
        with app.app_context():
            try:
                donor = db.session.get(Donor, donor_id)
                start.wait(timeout=10)
                receipt = issuing.issue_receipt(db.session, donor, 2025, charity, zone=BERLIN,
                                                today=date(2026, 1, 10))  # fmt: skip
                db.session.commit()
                outcomes.append(receipt.number if receipt is not None else None)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes, key=str) == [1, None]
    db.session.expire_all()
    assert [(r.number, r.total_cents) for r in db.session.scalars(select(TaxReceipt))] == [(1, 2550)]
    later = issuing.issue_receipt(db.session, person, 2026, charity, zone=BERLIN, today=date(2026, 1, 10))
    assert later.number == 2  # no number was lost to the request that issued nothing


def test_the_january_run_is_on_the_clock_only_when_chosen(make_app):
    from newsletter.platform import clock, queues

    chosen = make_app(**CHARITY, CHARITY_RECEIPTS_JANUARY=True)
    assert queues.YEAR_RECEIPTS in [p.kind for p in clock.periodic_jobs(chosen)]
    not_chosen = make_app(**CHARITY)
    assert queues.YEAR_RECEIPTS not in [p.kind for p in clock.periodic_jobs(not_chosen)]
