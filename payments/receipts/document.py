"""A Zuwendungsbestätigung as PDF: the page ``payments/tax_receipt.html`` (after the official BMF model,
in German) drawn by WeasyPrint with Debian's DejaVu fonts (pango must be installed: see .ci/run)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app

from payments.amounts import money_in
from payments.receipts.charity import Charity
from payments.receipts.words import euros_in_words


@dataclass(frozen=True)
class Gift:
    given_on: date
    cents: int


def number_label(number: int) -> str:
    """How a receipt's number is printed: ``ZB-000042``."""
    return f"ZB-{number:06d}"


def _day(value: date) -> str:
    return value.strftime("%d.%m.%Y")


def _purpose_object(purpose: str) -> str:
    # The model reads "wegen Förderung (Zweck)": a setting "Förderung der Bildung" is printed once.
    text = purpose.strip()
    return text[len("Förderung ") :] if text.lower().startswith("förderung ") else text


def render_pdf(charity: Charity, *, number: int, year: int, donor_name: str, donor_address: str,
               gifts: list[Gift], issued_on: date) -> bytes:  # fmt: skip
    """The receipt for ``gifts`` (one: a Bestätigung with the day of the gift; several: a Sammelbestätigung
    for the calendar year with the list of each gift attached)."""
    from weasyprint import HTML  # loads pango: only where a receipt is drawn

    total = sum(gift.cents for gift in gifts)
    collective = len(gifts) > 1
    # The app's Jinja environment without its request context processors: a job draws receipts too.
    html = current_app.jinja_env.get_template("payments/tax_receipt.html").render(
        charity={"name": charity.name, "address": charity.address, "tax_office": charity.tax_office,
                 "tax_number": charity.tax_number, "exemption_date": _day(charity.exemption_date),
                 "assessment_period": charity.assessment_period, "place": charity.place,
                 "purpose_object": _purpose_object(charity.purpose)},
        number=number_label(number), collective=collective, donor_name=donor_name,
        donor_address=donor_address,
        total_figures=money_in(total, "eur", "de"), total_words=euros_in_words(total),
        when=f"01.01.{year} – 31.12.{year}" if collective else _day(gifts[0].given_on),
        items=[{"date": _day(g.given_on), "figures": money_in(g.cents, "eur", "de")} for g in gifts],
        issued_on=_day(issued_on),
    )  # fmt: skip
    return HTML(string=html).write_pdf()
