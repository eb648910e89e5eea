"""A reader asks for a bank-transfer reference on the donate page and sees the account, the reference and
the GiroCode; an admin imports the bank's CSV export: the preview says what becomes a donation, recording
it sends the donor's receipt, and the line without a reference is assigned by hand from the list of
unmatched transfers."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.eyes import sees

JOURNEY = "bank-transfer"  # the screenshots' prefix

HEADER = ";".join(["Buchungstag", "Valutadatum", "Name Zahlungsbeteiligter", "IBAN Zahlungsbeteiligter",
                   "Verwendungszweck", "Betrag", "Waehrung"])  # fmt: skip


def test_a_transfer_with_its_reference_becomes_a_donation_by_import(eyes, stack, staff, sign_in):
    page = eyes.page
    donor = "ueberweisung@example.org"
    page.goto("/spenden")
    sees(page, "Per Überweisung spenden")
    eyes.look("donate")
    page.get_by_role("link", name="Meinen Code und den GiroCode holen").click()
    page.get_by_label("Betrag in Euro (freiwillig)").fill("30")
    page.get_by_label("E-Mail-Adresse für die Quittung (freiwillig)").fill(donor)
    page.get_by_role("button", name="Konto und meinen Verwendungszweck zeigen").click()
    sees(page, "DE89 3704 0044 0532 0130 00")
    reference = page.locator(".reference").inner_text().strip()
    assert reference.startswith("BT-") and len(reference) == 12
    expect(page.get_by_role("img", name="GiroCode")).to_be_visible()
    eyes.look("reference")

    sign_in(eyes, staff["admin"])
    page.goto("/staff/donations/")
    page.get_by_role("link", name="Überweisungen").click()
    export = "\r\n".join([
        '"Umsätze Spendenkonto"', "", HEADER,
        f"12.11.2026;12.11.2026;Erika Muster;DE02120300000000202051;Spende {reference};30,00;EUR",
        "13.11.2026;13.11.2026;Max Ohnecode;;Fuer eure Arbeit;15,00;EUR",
        "13.11.2026;13.11.2026;Stadtwerke;;Strom;-80,00;EUR", "",
    ]).encode("cp1252")  # fmt: skip
    page.locator("input[type=file]").set_input_files(
        files=[{"name": "umsaetze.csv", "mimeType": "text/csv", "buffer": export}]
    )
    page.get_by_role("button", name="Hochladen").click()
    sees(page, "Vorschau von umsaetze.csv")
    sees(page, "Erika Muster")
    eyes.look("preview")
    page.get_by_role("button", name="1 Spenden verbuchen").click()
    sees(page, "1 Überweisungen als Spenden verbucht.")
    eyes.look("report", shots=False)

    page.get_by_role("link", name="Nicht zugeordnete Überweisungen").first.click()
    row = page.locator("tr", has_text="Max Ohnecode")
    row.get_by_label("oder die E-Mail-Adresse der spendenden Person").fill("max@example.org")
    row.get_by_role("button", name="Als Spende verbuchen").click()
    sees(page, "Die Überweisung ist als Spende verbucht.")
    expect(page.locator("tr", has_text="Max Ohnecode")).to_have_count(0)
    eyes.look("unmatched", shots=False)

    (receipt,) = stack.mails_to(donor)
    assert receipt["Subject"].startswith("Danke für Ihre Spende")
    assert "30,00" in receipt.get_body(preferencelist=("plain",)).get_content()
