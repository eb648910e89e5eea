"""Gifts by bank transfer: the account and a personal reference on the donate page (with or without Stripe),
the GiroCode decoded as a banking app reads it, the bank's CSV export imported by staff (matched, unmatched,
already imported, going out, unreadable: a huge file, a huge line, another encoding, another newsroom's
reference), transfers assigned and recorded by hand, the receipt in the donor's language, and the gift in
every figure a Stripe gift is in. Bad input tried: editors and signed-out visitors, forms without their
CSRF token, a forged link, a wrong IBAN in the settings."""

from __future__ import annotations

import io
import re
import threading
from datetime import date

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import func, select

from db import utcnow
from newsletter.platform.audit import AuditEntry
from newsletter.platform.settings import ConfigError
from newsletter.readers.models import Subscriber
from newsletter.stats.periods import parse_period
from payments.models import Donation, DonationPayment, DonationStatus, Donor, DonorMail, PaymentStatus
from payments.reports import money
from payments.settings import bank_settings
from payments.supporters import donors, states
from payments.transfers import references, statements
from payments.transfers.models import BankImport, BankTransfer, TransferState
from tests.readers.factories import make_reader
from tests.staff.factories import sign_in
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs

IBAN = "DE89370400440532013000"
ACCOUNT = {
    "BANK_IBAN": "DE89 3704 0044 0532 0130 00",
    "BANK_RECIPIENT": "KI-Kompass gUG",
    "BANK_BIC": "COBADEFFXXX",
}
REFERENCE = re.compile(r"BT-[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}")


@pytest.fixture
def bank(app, monkeypatch):
    """The newsroom's account configured, as the start-up check leaves it."""
    for key, value in bank_settings(ACCOUNT, env={}).items():
        monkeypatch.setitem(app.config, key, value)
    return app


def ask_reference(client, **fields) -> tuple[str, str]:
    """A donor asks for a reference on the page; the details page's address and its reference."""
    token = csrf_token(client, "/spenden/ueberweisung")
    answer = client.post("/spenden/ueberweisung", data={"csrf_token": token, **fields})
    assert answer.status_code == 303, text_of(answer)
    page = text_of(client.get(answer.location))
    return answer.location, REFERENCE.search(page).group(0)


def decoded(client, url: str) -> str:
    """The GiroCode's text as a banking app scanning it reads it."""
    image = client.get(url)
    assert image.status_code == 200 and image.mimetype == "image/png"
    (found,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.data)))
    return found.text


# -- settings and the donate page --------------------------------------------------------------------


def test_a_wrong_iban_stops_the_start_and_a_right_one_is_kept_compact(make_app):
    with pytest.raises(ConfigError, match="BANK_IBAN"):
        make_app(BANK_IBAN="DE88370400440532013000", BANK_RECIPIENT="KI-Kompass gUG")
    with pytest.raises(ConfigError, match="BANK_RECIPIENT"):
        bank_settings({"BANK_IBAN": IBAN}, env={})
    with pytest.raises(ConfigError, match="BANK_BIC"):
        bank_settings({**ACCOUNT, "BANK_BIC": "nope"}, env={})
    assert bank_settings(ACCOUNT, env={})["BANK_IBAN"] == IBAN
    assert bank_settings({}, env={})["BANK_IBAN"] is None


def test_the_donate_page_offers_the_transfer_without_stripe_keys(bank, client):
    page = text_of(client.get("/spenden"))
    assert "DE89 3704 0044 0532 0130 00" in page and "KI-Kompass gUG" in page
    assert "Donations open soon" not in page and "Spenden sind bald möglich" not in page


def test_without_an_account_the_page_offers_no_transfer(client):
    page = text_of(client.get("/spenden"))
    assert "IBAN" not in page
    assert client.get("/spenden/ueberweisung").status_code == 404


def test_the_reference_page_shows_account_reference_and_a_girocode_with_the_amount(bank, client, db):
    url, shown = ask_reference(client, amount="25", email="Lea@Example.org")
    assert not set(shown[3:].replace("-", "")) & set("0O1I")
    page = text_of(client.get(url))
    assert IBAN[:4] in page and "KI-Kompass gUG" in page and "COBADEFFXXX" in page and "25,00" in page
    assert decoded(client, url + "/girocode.png") == "\n".join(
        ["BCD", "002", "1", "SCT", "COBADEFFXXX", "KI-Kompass gUG", IBAN, "EUR25.00", "", "", shown]
    )
    svg = client.get(url + "/girocode.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    waiting = db.session.scalars(select(Donation)).one()
    assert waiting.status is DonationStatus.OPEN and waiting.payment_method == "bank_transfer"
    assert references.shown(waiting.reference) == shown and waiting.email == "Lea@Example.org"


def test_the_amount_is_left_to_the_donor_when_not_given(bank, client):
    url, shown = ask_reference(client)
    lines = decoded(client, url + "/girocode.png").split("\n")
    assert lines[7] == "" and lines[10] == shown


def test_every_request_gets_its_own_reference_and_a_forged_link_shows_nothing(bank, client):
    first = ask_reference(client, email="same@example.org")
    second = ask_reference(client, email="same@example.org")
    assert first[1] != second[1]
    assert client.get("/spenden/ueberweisung/forged").status_code == 400
    assert client.get("/spenden/ueberweisung/forged/girocode.png").status_code == 400


def test_the_request_needs_its_csrf_token_a_real_amount_and_is_rate_limited(bank, app, client, db,
                                                                            monkeypatch):  # fmt: skip
    assert client.post("/spenden/ueberweisung", data={"amount": "5"}).status_code == 400
    token = csrf_token(client, "/spenden/ueberweisung")
    for amount in ("-5", "1e9", "0,001", "abc"):
        answer = client.post("/spenden/ueberweisung", data={"csrf_token": token, "amount": amount})
        assert answer.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(Donation)) == 0
    monkeypatch.setitem(app.config, "BANK_REFERENCE_RATE_LIMIT", "2 per minute")
    statuses = [
        client.post("/spenden/ueberweisung", data={"csrf_token": token}).status_code for _ in range(3)
    ]
    assert statuses == [303, 303, 429]


# -- the import ------------------------------------------------------------------------------------

HEADER = ("Bezeichnung Auftragskonto;IBAN Auftragskonto;BIC Auftragskonto;Bankname Auftragskonto;"
          "Buchungstag;Valutadatum;Name Zahlungsbeteiligter;IBAN Zahlungsbeteiligter;"
          "BIC (SWIFT-Code) Zahlungsbeteiligter;"
          "Buchungstext;Verwendungszweck;Betrag;Waehrung;Saldo nach Buchung;Bemerkung")  # fmt: skip


def line(day: str, name: str, purpose: str, amount: str, currency: str = "EUR", iban: str = "") -> str:
    return (
        f"Spendenkonto;{IBAN};COBADEFFXXX;Commerzbank;{day};{day};{name};{iban};;Gutschrift;{purpose};"
        f"{amount};{currency};12.345,67;"
    )


def export(*lines: str, encoding: str = "cp1252", preamble: bool = True) -> bytes:
    head = ['"Kontoumsätze";', f'"Konto";"{IBAN}"', ""] if preamble else []
    return "\r\n".join([*head, HEADER, *lines, ""]).encode(encoding)


def upload(client, data: bytes, name: str = "umsaetze.csv"):
    token = csrf_token(client, "/staff/donations/bank/")
    return client.post("/staff/donations/bank/", data={"csrf_token": token, "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")  # fmt: skip


def record(client, answer) -> str:
    """From the preview the upload led to: record, and the report's text."""
    assert answer.status_code == 303, text_of(answer)
    preview = answer.location
    token = csrf_token(client, preview)
    done = client.post(preview + "/record", data={"csrf_token": token})
    assert done.status_code == 303
    return text_of(client.get(done.location))


@pytest.fixture
def admin(client, db):
    return sign_in(client, "admin")


def test_an_export_becomes_donations_and_a_list_of_what_did_not_match(bank, client, db, admin, relay):
    _url, lea = ask_reference(client, email="lea@example.org", amount="20")
    english = bank.test_client()
    english.get("/spenden?lang=en")  # the reader chose English; the cookie keeps it
    _url, tom = ask_reference(english, email="tom@example.org")
    spread = lea[:6] + " " + lea[6:].lower()  # the bank broke the purpose where it pleased
    data = export(
        line("03.11.2026", "Lea Müller", f"Spende {spread}", "1.234,56", iban="DE02120300000000202051"),
        line("04.11.2026", "Tom Baker", f"Danke {tom}", "25,00"),
        line("04.11.2026", "Ohne Zeichen", "Spende für euch", "10,00"),
        line("05.11.2026", "Anderes Blatt", "Spende BT-ABCD-EFGH", "15,00"),  # another newsroom's
        line("05.11.2026", "Stadtwerke", "Strom November", "-89,90"),  # going out
        line("06.11.2026", "Kaputt", "Spende", "zwölf Euro"),
        line("31.02.2026", "Kaputt", "Spende", "12,00"),
        "x" * 5000,
        line("07.11.2026", "Ohne Zeichen", "Spende für euch", "10,00"),
        line("07.11.2026", "Ohne Zeichen", "Spende für euch", "10,00"),  # the same twice: two gifts
        line("08.11.2026", "Pound", f"Spende {tom}", "10,00", currency="GBP"),
    )
    answer = upload(client, data)
    preview = text_of(client.get(answer.location))
    assert "Lea Müller" in preview  # Windows-1252 read as such
    assert "der Code ist nicht von uns" in preview and "kein Code im Verwendungszweck" in preview
    assert "nicht in Euro" in preview and "Ausgang: bleibt unberührt" in preview
    report = record(client, answer)
    got = db.session.get(BankImport, 1)
    assert got.counts == {"match": 2, "unmatched": 5, "duplicate": 0, "outgoing": 1, "problems": 3}
    assert got.content is None and [n for n, _code in got.problems] == [10, 11, 12]
    assert "die Zeile ist zu lang" in report

    paid = db.session.scalars(select(Donation).where(Donation.status == DonationStatus.PAID)
                              .order_by(Donation.id)).all()  # fmt: skip
    assert [(d.email, d.amount_cents, d.payment_method) for d in paid] == [
        ("lea@example.org", 123456, "bank_transfer"),
        ("tom@example.org", 2500, "bank_transfer"),
    ]
    payment = db.session.scalars(
        select(DonationPayment).where(DonationPayment.donation_id == paid[0].id)
    ).one()
    assert payment.status is PaymentStatus.PAID and payment.paid_at.date() == date(2026, 11, 3)
    unmatched = client.get("/staff/donations/bank/unmatched")
    page = text_of(unmatched)
    assert "Ohne Zeichen" in page and "Anderes Blatt" in page and "Pound" in page
    assert page.count("Spende für euch") == 3 and "Stadtwerke" not in page

    run_jobs(bank)
    messages = {m["To"]: m for m in relay.wait_for(2)}
    assert messages["lea@example.org"]["Subject"].startswith("Danke für Ihre Spende – Quittung B-")
    assert "1.234,56" in messages["lea@example.org"].get_body(("plain",)).get_content()
    assert messages["tom@example.org"]["Subject"].startswith("Thank you for your donation – receipt")
    assert "€25.00" in messages["tom@example.org"].get_body(("plain",)).get_content()


def test_the_same_export_again_adds_nothing(bank, client, db, admin):
    _url, lea = ask_reference(client, email="lea@example.org")
    data = export(
        line("03.11.2026", "Lea", f"Spende {lea}", "20,00"), line("03.11.2026", "X", "Spende", "5,00")
    )
    record(client, upload(client, data))
    again = upload(client, data)
    assert text_of(client.get(again.location)).count("bereits importiert") == 2
    record(client, again)
    assert db.session.get(BankImport, 2).counts == {"match": 0, "unmatched": 0, "duplicate": 2, "outgoing": 0,
                                                    "problems": 0}  # fmt: skip
    assert db.session.scalar(select(func.count()).select_from(BankTransfer)) == 2
    assert db.session.scalar(select(func.count()).select_from(DonationPayment)) == 1
    assert db.session.scalar(select(func.count()).select_from(DonorMail)) == 1


def test_a_standing_order_makes_a_new_gift_of_the_same_donor_each_month(bank, client, db, admin):
    _url, ref = ask_reference(client, email="dauer@example.org")
    record(client, upload(client, export(line("01.10.2026", "D", f"Dauerauftrag {ref}", "10,00"))))
    record(client, upload(client, export(line("01.11.2026", "D", f"Dauerauftrag {ref}", "10,00"))))
    gifts = db.session.scalars(select(Donation).where(Donation.status == DonationStatus.PAID)).all()
    assert len(gifts) == 2 and len({g.donor_id for g in gifts}) == 1
    donor = db.session.get(Donor, gifts[0].donor_id)
    assert donors.donor_profile(db.session, donor.id).total_cents == 2000


def test_unknown_column_names_are_mapped_by_hand(bank, client, db, admin):
    _url, ref = ask_reference(client, email="map@example.org")
    data = f'Tag,Wert,Text,Wer\n03.11.2026,"7,50",Spende {ref},Maria\n'.encode()
    answer = upload(client, data)
    page = text_of(client.get(answer.location))
    assert 'name="field-amount"' in page
    token = csrf_token(client, answer.location)
    wrong = client.post(
        answer.location, data={"csrf_token": token, "field-booked_on": "0", "field-amount": "0"}
    )
    assert wrong.status_code == 422
    mapped = client.post(answer.location, data={
        "csrf_token": token, "field-booked_on": "0", "field-amount": "1", "field-purpose": "2",
        "field-payer_name": "3"})  # fmt: skip
    record(client, mapped)
    gift = db.session.scalars(select(Donation).where(Donation.status == DonationStatus.PAID)).one()
    assert gift.amount_cents == 750 and gift.email == "map@example.org"


@pytest.mark.parametrize("data, reason", [
    (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" * 20, "binär"),
    (b"", "leer"),
    (b"just one line without columns\n", "Tabelle"),
    (b"Buchungstag;Betrag;Verwendungszweck\n01.11.2026;5,00;Spende \x81\x8d\n", "weder UTF-8"),
])  # fmt: skip
def test_files_that_are_not_exports_are_refused_and_nothing_kept(bank, client, db, admin, data, reason):
    answer = upload(client, data)
    assert answer.status_code == 422 and reason in text_of(answer)
    assert db.session.scalar(select(func.count()).select_from(BankImport)) == 0


def test_a_huge_file_is_refused_before_it_is_read(bank, app, client, db, admin, monkeypatch):
    monkeypatch.setitem(app.config, "BANK_IMPORT_MAX_BYTES", 64 * 1024)
    data = export(*[line("03.11.2026", "Viele", f"Spende {n}", "1,00") for n in range(2000)])
    assert upload(client, data).status_code == 413
    assert db.session.scalar(select(func.count()).select_from(BankImport)) == 0


def test_utf8_with_bom_and_utf16_exports_read_alike(bank, client, db, admin):
    for encoding in ("utf-8-sig", "utf-16"):
        answer = upload(client, export(line("03.11.2026", "Jörg Weiß", "Spende", "5,00"), encoding=encoding))
        assert "Jörg Weiß" in text_of(client.get(answer.location)), encoding


# -- by hand, and who may ----------------------------------------------------------------------------


def test_an_unmatched_transfer_is_assigned_by_address_or_reference_or_set_aside(bank, client, db, admin):
    _url, ref = ask_reference(client, email="ref@example.org")
    record(client, upload(client, export(
        line("03.11.2026", "A", "Spende", "5,00"), line("04.11.2026", "B", "Danke", "6,00"),
        line("05.11.2026", "C", "Rückzahlung Lieferant", "7,00"))))  # fmt: skip
    a, b, c = db.session.scalars(select(BankTransfer).order_by(BankTransfer.booked_on)).all()
    token = csrf_token(client, "/staff/donations/bank/unmatched")
    base = "/staff/donations/bank/transfers"
    assert client.post(f"{base}/{a.id}/assign", data={"email": "a@example.org"}).status_code == 400
    unknown = client.post(f"{base}/{a.id}/assign", data={"csrf_token": token, "reference": "BT-ZZZZ-ZZZZ"},
                          follow_redirects=True)  # fmt: skip
    assert "nicht unsere" in text_of(unknown)
    client.post(f"{base}/{a.id}/assign", data={"csrf_token": token, "email": "a@example.org"})
    client.post(
        f"{base}/{b.id}/assign", data={"csrf_token": token, "reference": ref.lower().replace("-", " ")}
    )
    client.post(f"{base}/{c.id}/set-aside", data={"csrf_token": token})
    again = client.post(f"{base}/{a.id}/assign", data={"csrf_token": token, "email": "x@example.org"},
                        follow_redirects=True)  # fmt: skip
    assert "bereits" in text_of(again)
    db.session.expire_all()
    assert [t.state for t in (a, b, c)] == [
        TransferState.MATCHED,
        TransferState.MATCHED,
        TransferState.SET_ASIDE,
    ]
    paid = {d.email: d.amount_cents for d in db.session.scalars(
        select(Donation).where(Donation.status == DonationStatus.PAID))}  # fmt: skip
    assert paid == {"a@example.org": 500, "ref@example.org": 600}
    assert "Rückzahlung" not in text_of(client.get("/staff/donations/bank/unmatched"))


def test_a_transfer_recorded_by_hand_counts_everywhere_a_stripe_gift_does(bank, client, db, admin):
    reader = make_reader(db, "hand@example.org")
    db.session.commit()
    token = csrf_token(client, "/staff/donations/bank/new")
    form = {
        "booked_on": "2026-11-12",
        "amount": "40,00",
        "payer_name": "Hanna",
        "email": "hand@example.org",
        "note": "Barscheck",
        "csrf_token": token,
    }
    assert client.post("/staff/donations/bank/new", data={**form, "amount": "viel"}).status_code == 422
    assert client.post("/staff/donations/bank/new", data={**form, "csrf_token": ""}).status_code == 400
    answer = client.post("/staff/donations/bank/new", data=form)
    assert answer.status_code == 303 and "/staff/donations/donors/" in answer.location
    assert "40,00" in text_of(client.get(answer.location))
    assert states.supporter_state(db.session, db.session.get(Subscriber, reader.id)) == "one_time"
    period = parse_period("custom", "2026-11-01", "2026-11-30", zone="Europe/Berlin", now=utcnow())
    shown = money.dashboard(db.session, period, currency="eur")
    assert shown["revenue"]["total"]["net_cents"] == 4000
    assert shown == money.dashboard(db.session, period, currency="eur", from_ledger=True)
    assert "40,00" in text_of(client.get("/staff/donations/"))
    assert db.session.get(Subscriber, reader.id).first_gift_at.date() == date(2026, 11, 12)


@pytest.mark.parametrize("path", ["/staff/donations/bank/", "/staff/donations/bank/unmatched",
                                  "/staff/donations/bank/new"])  # fmt: skip
def test_editors_and_visitors_cannot_reach_the_bank_pages(bank, app, client, db, path):
    assert client.get(path).status_code in (302, 401)
    sign_in(client, "editor")
    assert client.get(path).status_code == 403
    assert client.post("/staff/donations/bank/new", data={}).status_code in (400, 403)


def test_every_change_needs_the_csrf_token(bank, client, db, admin):
    answer = upload(client, export(line("03.11.2026", "A", "Spende", "5,00")))
    assert client.post(answer.location, data={"field-booked_on": "4"}).status_code == 400
    assert client.post(answer.location + "/record", data={}).status_code == 400
    assert client.post("/staff/donations/bank/", data={"file": (io.BytesIO(b"x;y;z"), "a.csv")},
                       content_type="multipart/form-data").status_code == 400  # fmt: skip
    record(client, answer)
    (transfer,) = db.session.scalars(select(BankTransfer)).all()
    assert client.post(f"/staff/donations/bank/transfers/{transfer.id}/set-aside").status_code == 400
    by_hand = {"booked_on": "2026-11-01", "amount": "5", "email": "a@example.org"}
    assert client.post("/staff/donations/bank/new", data=by_hand).status_code == 400
    db.session.expire_all()
    assert transfer.state is TransferState.UNMATCHED
    assert db.session.scalar(select(func.count()).select_from(DonationPayment)) == 0


# -- what banks write ------------------------------------------------------------------------------


@pytest.mark.parametrize("written, cents", [
    ("1.234,56", 123456), ("-20,00", -2000), ("20,00-", -2000), ("12,50 S", -1250), ("12,50 H", 1250),
    ("1234.56", 123456), ("1,234.56", 123456), ("25", 2500), ("+15,00", 1500), ("30,00 €", 3000),
])  # fmt: skip
def test_amounts_as_banks_write_them(written, cents):
    assert statements.parse_amount(written) == cents


@pytest.mark.parametrize("written", ["zwölf", "1e5", "--5", "-5-", "12,345", "", "9" * 20])
def test_what_is_not_an_amount(written):
    with pytest.raises(ValueError):
        statements.parse_amount(written)


def test_an_export_with_credit_and_debit_apart_and_commas_between(bank, client, db, admin):
    _url, ref = ask_reference(client, email="haben@example.org")
    data = "\n".join([
        "Buchungstag,Wert,Begünstigter / Auftraggeber,Verwendungszweck,Soll,Haben,Währung",
        f'03.11.26,03.11.26,Hanna Haben,"Spende, {ref}",,"1.000,00",EUR',
        '04.11.26,04.11.26,Vermieter,"Miete, November","-950,00",,EUR',
        '05.11.26,05.11.26,Offen,"Spende mit "Anführung, die nie endet,,"5,00",EUR',
    ]).encode()  # fmt: skip
    report = record(client, upload(client, data))
    got = db.session.get(BankImport, 1)
    assert got.counts["match"] == 1 and got.counts["outgoing"] == 1 and got.counts["problems"] == 1
    assert got.problems == [[4, "amount"]] and "<td>4</td><td>der Betrag ist nicht lesbar</td>" in report
    gift = db.session.scalars(select(Donation).where(Donation.status == DonationStatus.PAID)).one()
    assert gift.amount_cents == 100000 and gift.email == "haben@example.org"


def test_a_quote_that_never_closes_is_reported_where_it_starts(bank, client, db, admin):
    data = export(
        line("03.11.2026", "Vorher", "Spende", "5,00"),
        line("04.11.2026", "Kaputt", '"Spende ohne Ende', "6,00"),
        line("05.11.2026", "Danach", "Spende", "7,00"),
        line("06.11.2026", "Danach", "Spende", "8,00"),
    )
    report = record(client, upload(client, data))
    got = db.session.get(BankImport, 1)
    assert got.counts["unmatched"] == 1 and got.problems == [[6, "row_too_long"]]
    assert "ein Anführungszeichen wird nie geschlossen" in report


def test_two_admins_recording_the_same_export_at_once_record_each_line_once(bank, app, db):
    first, second = app.test_client(), app.test_client()
    admin = sign_in(first, "admin")
    sign_in(second, admin)
    _url, ref = ask_reference(first, email="zwei@example.org")
    data = export(line("03.11.2026", "Z", f"Spende {ref}", "9,00"), line("04.11.2026", "Y", "Spende", "4,00"))
    pages = [upload(first, data).location, upload(second, data).location]
    tokens = [csrf_token(first, pages[0]), csrf_token(second, pages[1])]
    statuses = [0, 0]
    barrier = threading.Barrier(2)

    def record_at_once(i: int, client) -> None:
        barrier.wait()
        statuses[i] = client.post(pages[i] + "/record", data={"csrf_token": tokens[i]}).status_code

    threads = [threading.Thread(target=record_at_once, args=(i, c)) for i, c in enumerate((first, second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [303, 303]
    db.session.expire_all()
    counts = [db.session.get(BankImport, n).counts for n in (1, 2)]
    assert sum(c["match"] for c in counts) == 1 and sum(c["duplicate"] for c in counts) == 2
    assert db.session.scalar(select(func.count()).select_from(BankTransfer)) == 2
    assert db.session.scalar(select(func.count()).select_from(DonationPayment)) == 1
    assert db.session.scalar(select(func.count()).select_from(DonorMail)) == 1


def test_a_line_recorded_by_hand_is_left_to_the_staff_not_counted_twice(bank, client, db, admin):
    """Staff recorded 40,00 EUR of 12 November by hand; the export later holds that line: it waits in the
    unmatched list (with why) instead of becoming a second gift. Another line of that day is recorded."""
    _url, ref = ask_reference(client, email="hand@example.org")
    token = csrf_token(client, "/staff/donations/bank/new")
    form = {"booked_on": "2026-11-12", "amount": "40,00", "payer_name": "Hanna", "email": "",
            "reference": ref, "note": "", "csrf_token": token}  # fmt: skip
    assert client.post("/staff/donations/bank/new", data=form).status_code == 303
    _url, other = ask_reference(client, email="other@example.org")
    data = export(
        line("12.11.2026", "Hanna", f"Spende {ref}", "40,00"),
        line("12.11.2026", "Otto", f"Spende {other}", "40,00"),
    )
    answer = upload(client, data)
    assert "von Hand erfasst" in text_of(client.get(answer.location))
    record(client, answer)
    assert db.session.get(BankImport, 1).counts["match"] == 1
    paid = db.session.scalars(select(Donation.email).where(Donation.status == DonationStatus.PAID)).all()
    assert sorted(paid) == ["hand@example.org", "other@example.org"]  # Hanna's 40 EUR once
    waiting = text_of(client.get("/staff/donations/bank/unmatched"))
    assert "Hanna" in waiting
    # Both staff actions are in the audit log, with the figures and no reader's address.
    entries = dict(db.session.execute(select(AuditEntry.action, AuditEntry.detail)
                                      .where(AuditEntry.action.like("bank.%"))).all())  # fmt: skip
    assert entries["bank.by_hand"] == {"cents": 4000}
    assert entries["bank.import_record"]["match"] == 1 and entries["bank.import_record"]["unmatched"] == 1
