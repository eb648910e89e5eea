"""Yearly giving statements: what a donor gave in a calendar year, mailed on request from the preference
center (through the provider ``app.py`` registers; the newsletter side never imports this module).

A year is a calendar year in the newsroom's time zone (``TIMEZONE``): a gift at 23:30 UTC on 31 December
belongs to the next year in Berlin. A payment counts as in the donor list (``donors.net_cents``): once
received, less refunds, nothing when lost in a dispute; payments that count nothing are left out.

One statement mail per donor, year and day: the mail is a ``DonorMail`` whose cause names the three, so a
second request that day (or two at once) finds the cause taken and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from db import utcnow
from payments.amounts import money_in
from payments.models import Donation, DonationKind, Donor
from payments.supporters import donors, mails


@dataclass(frozen=True)
class Line:
    paid_at: datetime  # in the newsroom's time zone
    cents: int
    currency: str
    monthly: bool
    donation_id: int
    yearly: bool = False


def _donor(session: Session, email: str) -> Donor | None:
    return session.scalar(select(Donor).where(func.lower(Donor.email) == email.strip().lower()))


def _lines(session: Session, donor: Donor, zone: ZoneInfo) -> list[Line]:
    gifts = session.scalars(
        select(Donation).where(Donation.donor_id == donor.id).options(selectinload(Donation.payments))
    )
    lines = [
        Line(payment.paid_at.astimezone(zone), donors.net_cents(payment), payment.currency,
             gift.kind is DonationKind.MONTHLY, gift.id, yearly=gift.kind is DonationKind.YEARLY)
        for gift in gifts for payment in gift.payments if donors.net_cents(payment) > 0
    ]  # fmt: skip
    return sorted(lines, key=lambda line: line.paid_at)


def statement_years(session: Session, email: str, zone: ZoneInfo) -> list[int]:
    """The years in which the donor with this address gave something that counts, newest first."""
    donor = _donor(session, email)
    if donor is None:
        return []
    return sorted({line.paid_at.year for line in _lines(session, donor, zone)}, reverse=True)


def statement_lines(session: Session, email: str, year: int, zone: ZoneInfo) -> list[Line]:
    donor = _donor(session, email)
    if donor is None:
        return []
    return [line for line in _lines(session, donor, zone) if line.paid_at.year == year]


def request_statement(
    session: Session, email: str, year: int, *, zone: ZoneInfo, locale: str, note: str,
    today: date | None = None,
) -> str:  # fmt: skip
    """Write the statement mail for the donor with this address and year (the caller commits, then queues
    it with ``mails.queue_unsent``). Returns ``"written"``, ``"no_gifts"`` (no such year for this
    donor) or ``"already_today"`` (one was asked for today)."""
    donor = _donor(session, email)
    lines = statement_lines(session, email, year, zone) if donor is not None else []
    if donor is None or not lines:
        return "no_gifts"
    today = today or utcnow().astimezone(zone).date()
    currency = lines[0].currency
    total = sum(line.cents for line in lines)
    context: dict[str, Any] = {
        "year": year,
        "address": donor.email,
        "locale": locale,
        "lines": [
            {"date": format_date(line.paid_at.date(), "medium", locale=locale), "cents": line.cents,
             "amount": money_in(line.cents, line.currency, locale), "monthly": line.monthly,
             "yearly": line.yearly}
            for line in lines
        ],
        "total_cents": total,
        "total": money_in(total, currency, locale),
        "currency": currency,
        "note": note,
    }  # fmt: skip
    donation = session.get(Donation, lines[-1].donation_id)
    cause = f"statement:donor:{donor.id}:{year}:{today.isoformat()}"
    written = mails.add_mail(session, donation, "statement", cause, context)
    return "written" if written else "already_today"

