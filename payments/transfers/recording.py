"""A transfer becomes a gift: a paid one-time donation (``payment_method`` ``bank_transfer``) with its one
payment, received on the day the bank booked it, and the donor's receipt in their language. From then on it
counts wherever a Stripe gift counts: revenue, donors, supporter state, statistics (the summaries are kept
in the same flush, ``payments.reports.summaries``).

The donor asked for a reference on the donate page, which made a waiting donation (``open``). The first
transfer with that reference pays it; later ones (a standing order) become new donations of the same donor,
in the same language.
"""

from __future__ import annotations

import secrets
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from db import utcnow
from payments.models import Donation, DonationKind, DonationPayment, DonationStatus, PaymentStatus
from payments.supporters import identity, mails
from payments.transfers import references
from payments.transfers.models import BankTransfer, TransferState

BANK_TRANSFER = "bank_transfer"


def start_waiting_donation(
    session: Session, *, amount_cents: int | None, currency: str, locale: str, email: str | None,
    attribution,
) -> Donation:  # fmt: skip
    """The donation a donor's reference names until their transfer arrives (flushed). ``amount_cents`` is
    what they meant to give, 0 when they left it open; the transfer's amount is what counts."""
    code = references.new_code()
    while session.scalar(select(Donation.id).where(Donation.reference == code)) is not None:
        code = references.new_code()
    donation = Donation(
        reference=code, kind=DonationKind.ONE_TIME, amount_cents=amount_cents or 0, currency=currency,
        locale=locale, email=email or None, status=DonationStatus.OPEN, payment_method=BANK_TRANSFER,
        issue_id=attribution.issue_id, source_link=attribution.link, utm_source=attribution.utm_source,
        utm_medium=attribution.utm_medium, utm_campaign=attribution.utm_campaign,
        article_slug=attribution.article,
    )  # fmt: skip
    session.add(donation)
    session.flush()
    return donation


def waiting_donation(session: Session, code: str | None, *, lock: bool = False) -> Donation | None:
    """The bank-transfer donation that a reference names, or None (another newsroom's, a typo)."""
    if not code:
        return None
    query = select(Donation).where(Donation.reference == code, Donation.payment_method == BANK_TRANSFER)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return session.scalars(query).first()


def received_at(day: date, zone: str) -> datetime:
    """Noon of the booking day in the newsroom's time zone: the gift lands on that day and in that month
    wherever the statistics read it."""
    return datetime.combine(day, time(12), tzinfo=ZoneInfo(zone))


def record_transfer(
    session: Session, transfer: BankTransfer, *, code: str | None, email: str | None, base_url: str,
    zone: str, staff_id: int | None = None,
) -> Donation:  # fmt: skip
    """Make ``transfer`` (flushed, not matched yet) a paid donation: the waiting donation of ``code``
    if it still waits, else a new one (of that reference's donor, or of ``email``). The caller commits."""
    if transfer.state is TransferState.MATCHED or transfer.amount_cents <= 0:
        raise ValueError("only an unmatched incoming transfer can be recorded")
    waiting = waiting_donation(session, code, lock=True)
    email = (email or "").strip() or None
    if waiting is not None and waiting.status is DonationStatus.OPEN:
        donation = waiting
        donation.amount_cents, donation.currency = transfer.amount_cents, transfer.currency
    else:
        donation = Donation(
            reference=secrets.token_urlsafe(18), kind=DonationKind.ONE_TIME,
            amount_cents=transfer.amount_cents, currency=transfer.currency,
            locale=waiting.locale if waiting else "de", email=waiting.email if waiting else None,
            donor_id=waiting.donor_id if waiting else None, status=DonationStatus.OPEN,
            payment_method=BANK_TRANSFER,
        )  # fmt: skip
        session.add(donation)
    if email and not donation.email:
        donation.email = email
    paid_at = received_at(transfer.booked_on, zone)
    donation.status = DonationStatus.PAID
    donation.paid_at = paid_at
    if donation.donor_id is None and donation.email:
        donation.donor = identity.donor_for(
            session, email=donation.email, customer_id=None, locale=donation.locale
        )
    payment = DonationPayment(
        donation=donation, amount_cents=transfer.amount_cents, currency=transfer.currency,
        status=PaymentStatus.PAID, paid_at=paid_at, stripe_created=int(paid_at.timestamp()),
        refunded_cents=0, failure_count=0,
    )  # fmt: skip
    session.add(payment)
    session.flush()
    transfer.state = TransferState.MATCHED
    transfer.donation_id = donation.id
    transfer.reference = code
    transfer.recorded_at = utcnow()
    transfer.recorded_by = staff_id
    mails.queue_receipt(session, donation, payment, base_url=base_url, first=True)
    session.flush()
    return donation
