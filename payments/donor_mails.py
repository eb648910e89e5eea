"""Mails to donors: thank-you and receipt, "please update your card", "your monthly donation has ended".

A mail is first a ``DonorMail`` row, written in the transaction of the event that causes it and unique
per cause; :func:`queue_unsent` then puts it on the transactional queue after the commit. A redelivered or
concurrent event cannot write the row twice, and Redis being away only delays the mail (a sweep, also
``flask --app app payments sweep-mails``, queues what is left).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.dates import format_date
from babel.numbers import format_currency
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from db import utcnow
from newsletter import api as newsletter_api

from .models import Donation, DonationKind, DonationPayment, DonorMail

TEMPLATES = {
    "receipt": "donation_receipt",
    "card_failed": "donation_card_failed",
    "ended": "donation_ended",
    "statement": "giving_statement",  # see payments/statements.py
}
PORTAL_PURPOSE = "donation-portal"
PORTAL_LIFETIME = 30 * 24 * 3600


def portal_link(base_url: str, donation: Donation) -> str:
    token = newsletter_api.make_token(PORTAL_PURPOSE, donation.id)
    return f"{base_url}/spenden/verwalten/{token}"


def add_mail(session: Session, donation: Donation, kind: str, cause: str, context: dict[str, Any]) -> bool:
    """Write the mail unless this cause already has one (a savepoint keeps the caller's work)."""
    if session.scalar(select(DonorMail.id).where(DonorMail.cause == cause)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(DonorMail(donation_id=donation.id, kind=kind, cause=cause, context=context))
    except IntegrityError:
        return False
    return True


def _money(cents: int, currency: str, locale: str) -> str:
    return format_currency(Decimal(cents) / 100, currency.upper(), locale=locale)


def _base_context(donation: Donation, base_url: str) -> dict[str, Any]:
    return {
        "amount": _money(donation.amount_cents, donation.currency, donation.locale),
        "amount_cents": donation.amount_cents,
        "currency": donation.currency,
        "monthly": donation.kind is DonationKind.MONTHLY,
        "reference": donation.reference,
        "donate_url": f"{base_url}/spenden",
    }


def queue_receipt(session: Session, donation: Donation, payment: DonationPayment, *, base_url: str) -> bool:
    context = _base_context(donation, base_url) | {
        "amount": _money(payment.amount_cents, payment.currency, donation.locale),
        "amount_cents": payment.amount_cents,
        "currency": payment.currency,
        "paid_on": format_date((payment.paid_at or utcnow()).date(), "long", locale=donation.locale),
        "receipt_number": f"B-{donation.id}-{payment.id}",
        "first": len([p for p in donation.payments if p.paid_at is not None]) <= 1,
    }
    if donation.kind is DonationKind.MONTHLY:
        context["manage_url"] = portal_link(base_url, donation)
    return add_mail(session, donation, "receipt", f"receipt:payment:{payment.id}", context)


def queue_card_failed(
    session: Session, donation: Donation, payment: DonationPayment, *, base_url: str
) -> bool:
    context = _base_context(donation, base_url) | {"manage_url": portal_link(base_url, donation)}
    return add_mail(session, donation, "card_failed", f"card_failed:payment:{payment.id}", context)


def queue_ended(session: Session, donation: Donation, *, base_url: str) -> bool:
    return add_mail(
        session, donation, "ended", f"ended:donation:{donation.id}", _base_context(donation, base_url)
    )


def queue_unsent(session: Session, *, limit: int = 200) -> int:
    """Put written, not yet queued mails on the transactional queue; each row is claimed first, so two
    sweeps never queue one mail twice. Commits per mail. A mail whose donation has no address is dropped."""
    queued = 0
    rows = session.execute(
        select(DonorMail.id).where(DonorMail.enqueued_at.is_(None)).order_by(DonorMail.id).limit(limit)
    ).scalars().all()  # fmt: skip
    for mail_id in rows:
        claimed = session.execute(
            update(DonorMail).where(DonorMail.id == mail_id, DonorMail.enqueued_at.is_(None))
            .values(enqueued_at=utcnow())
        ).rowcount  # fmt: skip
        if not claimed:
            session.rollback()
            continue
        mail = session.get(DonorMail, mail_id)
        donation = session.get(Donation, mail.donation_id)
        address = (donation.donor.email if donation.donor else None) or donation.email
        if mail.kind == "statement":
            address = mail.context.get("address") or address
        if address:
            try:
                newsletter_api.send_transactional_mail(
                    TEMPLATES[mail.kind], address, dict(mail.context),
                    mail.context.get("locale") or donation.locale,
                    job_id=f"donor-mail-{mail.id}",
                )  # fmt: skip
            except Exception:
                session.rollback()  # Redis is away: the row stays unqueued for the next sweep
                raise
            queued += 1
        session.commit()
    return queued
