"""A donor of a newsroom that is a recognised charity asks for their Zuwendungsbestätigung in the
preference center: the settings link comes by mail, the form asks for name and postal address once, and
the receipt arrives as a PDF attached to the mail, numbered, with the amount in figures and words."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from pypdf import PdfReader

from tests.e2e.eyes import sees
from tests.e2e.journeys import links

DONOR = "paula.spenderin@example.org"

JOURNEY = "tax-receipt"  # the screenshots' prefix


def _gave_in_2025(e2e_app) -> None:
    """Behind the scenes: a reader who gave 42.50 EUR in June 2025."""
    from db import db
    from tests.payments.factories import make_donation, make_donor, make_payment
    from tests.readers.factories import make_reader

    when = datetime(2025, 6, 3, 10, tzinfo=UTC)
    with e2e_app.app_context():
        reader = make_reader(db, DONOR, locale="de")
        person = make_donor(db, DONOR, subscriber_id=reader.id)
        make_payment(db, make_donation(db, person, "one_time", 4250, when, "paid"), 4250, when)
        db.session.commit()
        db.session.remove()


def test_donor_gets_the_receipt_as_pdf_from_the_preference_center(eyes, stack, e2e_app):
    _gave_in_2025(e2e_app)
    page = eyes.page
    page.goto("/preferences")
    page.get_by_label("E-Mail-Adresse").fill(DONOR)
    page.get_by_role("button", name="Link zusenden").click()
    (link_mail,) = stack.mails_to(DONOR)
    (preferences_url,) = links(link_mail, stack.base_url, "/preferences/")
    page.goto(preferences_url)
    sees(page, "Zuwendungsbestätigung")
    page.get_by_label("Jahr").select_option("2025")
    page.get_by_label("Vor- und Nachname").fill("Paula Spenderin")
    page.get_by_label("Postanschrift").fill("Kastanienweg 7\n80331 München")
    eyes.look("preferences-receipt")
    page.get_by_role("button", name="Zuwendungsbestätigung zusenden").click()
    sees(page, "Ihre Zuwendungsbestätigung für 2025 ist unterwegs")
    eyes.look("receipt-requested", shots=False)

    receipt_mail = stack.mails_to(DONOR, count=2)[-1]
    assert "Zuwendungsbestätigung ZB-" in receipt_mail["Subject"]
    [attachment] = list(receipt_mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    pdf = PdfReader(io.BytesIO(attachment.get_content()))
    text = " ".join(" ".join(p.extract_text() for p in pdf.pages).split())
    for wanted in ("Bestätigung über Geldzuwendungen", "Paula Spenderin", "80331 München", "42,50 €",
                   "zweiundvierzig Euro und fünfzig Cent", "03.06.2025", "KI-Kompass gGmbH"):  # fmt: skip
        assert wanted in text, wanted
