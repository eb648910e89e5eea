"""Mails to donors: thank-you and receipt, "please update your card", "your monthly donation has ended".

A mail is first a ``DonorMail`` row, written in the transaction of the event that causes it and unique
per cause; :func:`queue_unsent` puts it on the transactional queue, up to 200 per round trip, from the
clock's sweep every 2 s (``payments.supporters.tasks``; also ``flask --app app payments sweep-mails``).
A redelivered or concurrent event cannot write the row twice, and Redis being away only delays the mail
until it is back.
"""

from __future__ import annotations

import base64
from typing import Any

from babel.dates import format_date
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from db import dialect_insert, utcnow
from newsletter import api as newsletter_api
from newsletter.platform.queues import donor_mail_id
from payments.amounts import money_in
from payments.models import Donation, DonationKind, DonationPayment, DonorMail
from payments.receipts.models import TaxReceipt

TEMPLATES = {
    "receipt": "donation_receipt",
    "card_failed": "donation_card_failed",
    "ended": "donation_ended",
    "statement": "giving_statement",  # see statements.py
    "tax_receipt": "tax_receipt",  # a Zuwendungsbestätigung, its PDF attached (payments.receipts)
}
PORTAL_PURPOSE = "donation-portal"
PORTAL_LIFETIME = 30 * 24 * 3600


def portal_link(base_url: str, donation: Donation) -> str:
    token = newsletter_api.make_token(PORTAL_PURPOSE, donation.id)
    return f"{base_url}/spenden/verwalten/{token}"


def add_mail(session: Session, donation: Donation, kind: str, cause: str, context: dict[str, Any]) -> bool:
    """Write the mail unless this cause already has one: one ``INSERT ... ON CONFLICT DO NOTHING``, which
    waits for a concurrent writer of the same cause and then leaves its row alone."""
    insert = dialect_insert(session, DonorMail.__table__).values(
        donation_id=donation.id, kind=kind, cause=cause, context=context, created_at=utcnow()
    )
    written = session.execute(insert.on_conflict_do_nothing(index_elements=["cause"]).returning(DonorMail.id))
    return written.first() is not None


def _base_context(donation: Donation, base_url: str) -> dict[str, Any]:
    return {
        "amount": money_in(donation.amount_cents, donation.currency, donation.locale),
        "amount_cents": donation.amount_cents,
        "currency": donation.currency,
        "monthly": donation.kind.recurring,  # renewed until it ends: the templates offer the portal link
        "yearly": donation.kind is DonationKind.YEARLY,
        "reference": donation.reference,
        "donate_url": f"{base_url}/spenden",
    }


def queue_receipt(session: Session, donation: Donation, payment: DonationPayment, *, base_url: str,
                  first: bool = True) -> bool:  # fmt: skip
    """The thank-you and receipt for one payment; ``first`` for a one-time gift and a monthly donation's
    first billing period."""
    context = _base_context(donation, base_url) | {
        "amount": money_in(payment.amount_cents, payment.currency, donation.locale),
        "amount_cents": payment.amount_cents,
        "currency": payment.currency,
        "paid_on": format_date((payment.paid_at or utcnow()).date(), "long", locale=donation.locale),
        "receipt_number": f"B-{donation.id}-{payment.id}",
        "fee": money_in(payment.fee_covered_cents, payment.currency, donation.locale)
        if payment.fee_covered_cents else None,
        "first": first,
    }
    if donation.kind.recurring:
        context["manage_url"] = portal_link(base_url, donation)
        reader_id = donation.donor.subscriber_id if donation.donor is not None else None
        if reader_id is not None:  # "tell a friend": the supporter's own share link, counted for them
            context["share_url"] = newsletter_api.share_url(reader_id, base_url=base_url, via="supporters")
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


def _messages(session: Session, claimed) -> list[newsletter_api.Message]:
    """The claimed rows ``(id, donation_id, kind, context)`` as messages; a mail whose donation has no
    address is dropped (a statement goes to the address it was asked for)."""
    wanted = (select(Donation).where(Donation.id.in_({row.donation_id for row in claimed}))
              .options(joinedload(Donation.donor)))  # fmt: skip
    donations = {donation.id: donation for donation in session.scalars(wanted).unique()}
    messages = []
    for mail_id, donation_id, kind, context in claimed:
        donation = donations.get(donation_id)
        if donation is None:
            continue
        address = (donation.donor.email if donation.donor else None) or donation.email
        if kind == "statement":
            address = context.get("address") or address
        if address:
            locale = context.get("locale") or donation.locale
            context = dict(context)
            if kind == "tax_receipt" and not _attach_receipt(session, context):
                continue
            messages.append(((TEMPLATES[kind], address, context, locale), donor_mail_id(mail_id)))
    return messages


def _attach_receipt(session: Session, context: dict[str, Any]) -> bool:
    """The receipt's PDF as the mail's attachment (the job takes plain values: base64 text)."""
    receipt = session.get(TaxReceipt, context.get("receipt_id"))
    if receipt is None:
        return False
    data = base64.b64encode(receipt.pdf).decode("ascii")
    context["attachments"] = [
        {"filename": context["filename"], "content_type": "application/pdf", "data": data}
    ]
    return True


def queue_unsent(session: Session, *, limit: int = 200) -> int:
    """Put written, not yet queued donor mails on the transactional queue, through the outbox every mail of
    Beitrag shares (``newsletter.api.sweep_outbox``: claimed, queued in one round trip, undone when Redis is
    away). Returns how many were queued; the caller commits."""
    return newsletter_api.sweep_outbox(
        session, DonorMail.__table__, _messages, returning=("id", "donation_id", "kind", "context"),
        limit=limit,
    )
