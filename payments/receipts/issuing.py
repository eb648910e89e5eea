"""Issuing Zuwendungsbestätigungen: once per gift, numbered without reuse, kept with their PDF, mailed.

A gift is a received payment in euros (``DonationPayment``) with something left after refunds, not in an
open or lost dispute. A receipt covers the donor's gifts of one calendar year (in the newsroom's time
zone) that no receipt covers yet: one gift gives a Bestätigung, several a Sammelbestätigung. Asking again
for the same year finds no gift left and mails the receipts already issued: the same number, the same PDF.

Numbers: ``receipt_counters`` holds the last number; :func:`issue_receipt` moves it on with one
``UPDATE ... RETURNING`` in the transaction that writes the receipt. The row stays locked until that
transaction ends, so numbers are handed out one after the other; the number is committed together with
its receipt or not at all (a rollback, for example a failed PDF, undoes both: the next receipt takes that
number, and no issued receipt ever shares it). The mail is an outbox row written in the same transaction
and sent afterwards: a mail that fails changes neither the receipt nor its number.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session, selectinload

from db import dialect_insert, utcnow
from payments.models import DisputeStatus, Donation, DonationPayment, Donor
from payments.receipts.charity import Charity
from payments.receipts.document import Gift, number_label, render_pdf
from payments.receipts.models import ReceiptAddress, ReceiptCounter, TaxReceipt, TaxReceiptItem
from payments.supporters import donors, mails

SERIES = "tax_receipt"


class AddressMissing(Exception):
    """The donor has gifts to confirm but no name and postal address on file."""


def save_address(session: Session, donor: Donor, name: str, address: str) -> None:
    """Keep (or replace) the name and postal address the donor's next receipts will state."""
    name, address = (
        " ".join(name.split())[:200],
        "\n".join(line.strip() for line in address.replace("\r", "").split("\n") if line.strip())[:500],
    )
    if not name or not address:
        return
    row = session.get(ReceiptAddress, donor.id)
    if row is None:
        session.add(ReceiptAddress(donor_id=donor.id, name=name, address=address, updated_at=utcnow()))
    else:
        row.name, row.address, row.updated_at = name, address, utcnow()
    session.flush()


def address_from_stripe(details: dict | None) -> tuple[str, str] | None:
    """Name and address from a Checkout Session's ``customer_details`` (``billing_address_collection``),
    or None when Stripe gave none."""
    details = details or {}
    place = details.get("address") or {}
    name = (details.get("name") or "").strip()
    street = ", ".join(part for part in (place.get("line1"), place.get("line2")) if part)
    town = " ".join(part for part in (place.get("postal_code"), place.get("city")) if part)
    country = place.get("country") if place.get("country") not in (None, "", "DE") else None
    lines = [line for line in (street, town, country) if line]
    return (name, "\n".join(lines)) if name and street and town else None


def _year_bounds(year: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(date(year, 1, 1), time(), tzinfo=zone)
    end = datetime.combine(date(year + 1, 1, 1), time(), tzinfo=zone)
    return start, end


def open_gifts(session: Session, donor_id: int, year: int, zone: ZoneInfo) -> list[DonationPayment]:
    """The donor's gifts of ``year`` that no receipt covers yet, oldest first."""
    start, end = _year_bounds(year, zone)
    covered = exists().where(TaxReceiptItem.payment_id == DonationPayment.id)
    found = session.scalars(
        select(DonationPayment).join(Donation, Donation.id == DonationPayment.donation_id)
        .where(Donation.donor_id == donor_id, DonationPayment.currency == "eur",
               DonationPayment.paid_at >= start, DonationPayment.paid_at < end, ~covered)
        .order_by(DonationPayment.paid_at, DonationPayment.id)
    )  # fmt: skip
    return [p for p in found if donors.net_cents(p) > 0 and p.dispute_status is not DisputeStatus.OPEN]


def _next_number(session: Session) -> int:
    counter = ReceiptCounter.__table__
    session.execute(
        dialect_insert(session, counter).values(series=SERIES, last_number=0)
        .on_conflict_do_nothing(index_elements=["series"])
    )  # fmt: skip
    moved = (update(counter).where(counter.c.series == SERIES)
             .values(last_number=counter.c.last_number + 1).returning(counter.c.last_number))  # fmt: skip
    return session.execute(moved).scalar_one()


def issue_receipt(session: Session, donor: Donor, year: int, charity: Charity, *, zone: ZoneInfo,
                  today: date) -> TaxReceipt | None:  # fmt: skip
    """Issue the receipt for the donor's gifts of ``year`` not yet confirmed, in the caller's transaction
    (the caller commits). None when there is none; :class:`AddressMissing` when there are gifts but no
    name and address to state."""
    if not open_gifts(session, donor.id, year, zone):
        return None
    address = session.get(ReceiptAddress, donor.id)
    if address is None:
        raise AddressMissing(donor.id)
    with session.begin_nested() as savepoint:
        number = _next_number(session)
        # Read again after the counter's lock: a concurrent request may have confirmed them meanwhile.
        gifts = open_gifts(session, donor.id, year, zone)
        if not gifts:
            savepoint.rollback()
            return None
        confirmed = [Gift(p.paid_at.astimezone(zone).date(), donors.net_cents(p)) for p in gifts]
        pdf = render_pdf(charity, number=number, year=year, donor_name=address.name,
                         donor_address=address.address, gifts=confirmed, issued_on=today)  # fmt: skip
        receipt = TaxReceipt(
            number=number, year=year, donor_id=donor.id, collective=len(gifts) > 1,
            total_cents=sum(g.cents for g in confirmed), currency="eur", donor_name=address.name,
            donor_address=address.address, issued_on=today, issued_at=utcnow(), pdf=pdf,
            items=[TaxReceiptItem(payment_id=p.id, given_on=g.given_on, cents=g.cents)
                   for p, g in zip(gifts, confirmed, strict=True)],
        )  # fmt: skip
        session.add(receipt)
        session.flush()
    return receipt


def receipts_of(session: Session, donor_id: int, year: int | None = None) -> list[TaxReceipt]:
    query = select(TaxReceipt).where(TaxReceipt.donor_id == donor_id).order_by(TaxReceipt.number)
    if year is not None:
        query = query.where(TaxReceipt.year == year)
    return list(session.scalars(query))


def _mail_receipt(session: Session, receipt: TaxReceipt, cause: str, locale: str) -> bool:
    payment_id = next((item.payment_id for item in reversed(receipt.items) if item.payment_id), None)
    payment = session.get(DonationPayment, payment_id) if payment_id else None
    if payment is None:
        return False
    context = {
        "receipt_id": receipt.id, "number": number_label(receipt.number), "year": receipt.year,
        "collective": receipt.collective, "locale": locale,
        "filename": f"Zuwendungsbestaetigung-{number_label(receipt.number)}.pdf",
    }  # fmt: skip
    return mails.add_mail(session, payment.donation, "tax_receipt", cause, context)


def request_receipts(session: Session, donor: Donor, year: int, charity: Charity, *, zone: ZoneInfo,
                     locale: str, today: date) -> str:  # fmt: skip
    """The preference center's request: issue the receipt for the year's gifts not yet confirmed and mail
    the donor every receipt of that year (one mail a receipt and day). The caller commits, then queues.
    ``written``, ``no_gifts``, ``needs_address`` or ``already_today``."""
    try:
        issue_receipt(session, donor, year, charity, zone=zone, today=today)
    except AddressMissing:
        return "needs_address"
    issued = receipts_of(session, donor.id, year)
    if not issued:
        return "no_gifts"
    written = [_mail_receipt(session, r, f"tax_receipt:{r.id}:{today.isoformat()}", locale) for r in issued]
    return "written" if any(written) else "already_today"


def receipt_years(session: Session, donor: Donor) -> set[int]:
    """Years with a receipt already issued (their gifts may all be refunded since)."""
    return {r.year for r in receipts_of(session, donor.id)}


def _donors_who_gave(session: Session, year: int, zone: ZoneInfo) -> list[int]:
    start, end = _year_bounds(year, zone)
    return list(session.scalars(
        select(Donation.donor_id).join(DonationPayment, DonationPayment.donation_id == Donation.id)
        .where(Donation.donor_id.is_not(None), DonationPayment.paid_at >= start,
               DonationPayment.paid_at < end,
               DonationPayment.currency == "eur")
        .distinct().order_by(Donation.donor_id)
    ))  # fmt: skip


def send_year_receipts(session: Session, charity: Charity, *, zone: ZoneInfo, today: date) -> dict[str, int]:
    """January's run: a receipt for every donor of the past year whose gifts are not yet confirmed, mailed
    once (the mail's cause is the receipt). Commits donor by donor. Running it again issues and mails
    nothing more; donors without a name and address are counted and left out."""
    year = today.year - 1
    counts = {"issued": 0, "without_address": 0}
    for donor_id in _donors_who_gave(session, year, zone):
        donor = session.get(Donor, donor_id)
        if donor is None:
            continue
        try:
            receipt = issue_receipt(session, donor, year, charity, zone=zone, today=today)
        except AddressMissing:
            counts["without_address"] += 1
            continue
        if receipt is not None:
            _mail_receipt(session, receipt, f"tax_receipt:{receipt.id}:issued", donor.locale)
            counts["issued"] += 1
        session.commit()
    return counts


def flagged_receipts(session: Session) -> list[tuple[TaxReceipt, int]]:
    """Receipts that confirm more than the gifts now give (refunded, or lost in a dispute, after issue),
    with the cents confirmed too much: the staff must correct them with the tax office (§ 10b Abs. 4 EStG)."""
    receipts = session.scalars(
        select(TaxReceipt).order_by(TaxReceipt.number).options(selectinload(TaxReceipt.items))
    )
    flagged = []
    for receipt in receipts:
        payment_ids = [item.payment_id for item in receipt.items if item.payment_id]
        payments = {p.id: p for p in session.scalars(
            select(DonationPayment).where(DonationPayment.id.in_(payment_ids)))}  # fmt: skip
        excess = sum(
            max(item.cents - (donors.net_cents(payments[item.payment_id])
                              if item.payment_id in payments else 0), 0)
            for item in receipt.items
        )  # fmt: skip
        if excess:
            flagged.append((receipt, excess))
    return flagged


def forget_address(session: Session, donor_ids: list[int]) -> None:
    """Erasure: the name and address kept for future receipts go; issued receipts stay (see README)."""
    for donor_id in donor_ids:
        row = session.get(ReceiptAddress, donor_id)
        if row is not None:
            session.delete(row)
    session.flush()


def year_today(zone: ZoneInfo) -> date:
    return utcnow().astimezone(zone).date()
