"""The donations side's tables: donors, donations, their payments, Stripe's events and the donor mail outbox.

Money is an integer number of minor units (cents) plus an ISO currency code, everywhere. Models hold data
and small invariants only; they never touch ``current_app``, queues, SMTP or Stripe.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db import Base, enum_column, utcnow


class DonationKind(enum.StrEnum):
    ONE_TIME = "one_time"
    MONTHLY = "monthly"
    YEARLY = "yearly"

    @property
    def recurring(self) -> bool:
        """Monthly and yearly gifts are subscriptions at Stripe: renewed until they end."""
        return self in RECURRING

    @property
    def interval(self) -> str | None:
        """Stripe's ``recurring.interval`` of a recurring kind's Price."""
        return {"monthly": "month", "yearly": "year"}.get(self.value)


RECURRING = (DonationKind.MONTHLY, DonationKind.YEARLY)
# A subscription's Price interval as Stripe reports it, and the kind it makes.
KIND_OF_INTERVAL = {"month": DonationKind.MONTHLY, "year": DonationKind.YEARLY}


class DonationStatus(enum.StrEnum):
    """Where a donation stands. States only move forward (see ``RANK``): an event that arrives late and
    speaks of an earlier state changes nothing."""

    OPEN = "open"  # the reader was sent to Stripe's checkout
    START_FAILED = "start_failed"  # Stripe could not be reached; nothing was charged
    PENDING = "pending"  # checkout completed, the money is on its way (SEPA debit and other slow methods)
    PAID = "paid"  # one-time: the money arrived
    ACTIVE = "active"  # monthly: running
    FAILED = "failed"  # one-time: a delayed payment failed
    REFUNDED = "refunded"  # one-time: all of it given back
    ENDED = "ended"  # monthly: the subscription was cancelled (by the reader, staff or failed payments)


RANK = {
    DonationStatus.OPEN: 0,
    DonationStatus.START_FAILED: 1,
    DonationStatus.PENDING: 1,
    DonationStatus.PAID: 2,
    DonationStatus.ACTIVE: 2,
    DonationStatus.FAILED: 3,
    DonationStatus.REFUNDED: 4,
    DonationStatus.ENDED: 4,
}


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    FAILED = "failed"  # may still be paid later (Stripe retries an invoice)
    PAID = "paid"
    REFUNDED = "refunded"  # all of it given back


PAYMENT_RANK = {
    PaymentStatus.PENDING: 0,
    PaymentStatus.FAILED: 1,
    PaymentStatus.PAID: 2,
    PaymentStatus.REFUNDED: 3,
}


class DisputeStatus(enum.StrEnum):
    OPEN = "open"
    WON = "won"
    LOST = "lost"


class Donor(Base):
    """A person who gave, known by e-mail (unique regardless of case) and Stripe customer. Linked to the
    reader with the same address when there is one."""

    __tablename__ = "donors"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscribers.id", ondelete="SET NULL"), index=True
    )
    stripe_customer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    locale: Mapped[str] = mapped_column(String(8), default="de")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The earliest paid_at of the donor's donations in any currency: kept by payments.reports.first_gifts in
    # the flush that pays a donation (readers who give are the donors with one, without reading the
    # donations).
    first_gift_at: Mapped[datetime | None]

    donations: Mapped[list[Donation]] = relationship(back_populates="donor")


# Unique regardless of case; on PostgreSQL with the pattern operator class, so that the same index serves
# the staff donor list's prefix search (``lower(email) LIKE 'abc%'``) under any collation.
Index(
    "uq_donors_email_lower",
    func.lower(Donor.email).label("email_lower"),
    unique=True,
    postgresql_ops={"email_lower": "text_pattern_ops"},
)


class Donation(Base):
    """One gift as the reader chose it on the donate page: once, or monthly or yearly until it ends."""

    __tablename__ = "donations"
    __table_args__ = (
        Index("ix_donations_status_kind", "status", "kind"),
        # The statistics: monthly donations running at a month's end, and donations per issue.
        # Covering on PostgreSQL (INCLUDE): the month-end MRR, starts, ends and churn, and the donations per
        # issue, are read from the index alone, without visiting the table.
        Index("ix_donations_kind_paid_at", "kind", "paid_at",
              postgresql_include=["currency", "status", "amount_cents", "ended_at"]),
        Index("ix_donations_kind_ended_at", "kind", "ended_at",
              postgresql_include=["currency", "status", "amount_cents", "paid_at", "cancel_reason"]),
        Index("ix_donations_issue_id", "issue_id",
              postgresql_include=["paid_at", "currency", "kind", "amount_cents", "source_link"]),
        Index("ix_donations_donor_id_paid_at", "donor_id", "paid_at"),  # first gifts, donors who gave
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Random, public: names the donation in return addresses and idempotency keys (ids may be guessed).
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    # active_history on what the payment tallies sum: the old value is at hand in the flush that changes it
    donor_id: Mapped[int | None] = mapped_column(
        ForeignKey("donors.id", ondelete="SET NULL"), index=True, active_history=True
    )
    kind: Mapped[DonationKind] = mapped_column(enum_column(DonationKind, "donation_kind"))
    amount_cents: Mapped[int]  # the gift (a month's or a year's for recurring ones), without a covered fee
    # The fee estimate the donor chose to add on top (``payments.checkout.fees``); charged with every payment.
    fee_covered_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    currency: Mapped[str] = mapped_column(String(3), default="eur", active_history=True)
    status: Mapped[DonationStatus] = mapped_column(
        enum_column(DonationStatus, "donation_status"), default=DonationStatus.OPEN
    )
    locale: Mapped[str] = mapped_column(String(8), default="de")
    email: Mapped[str | None] = mapped_column(String(320))  # as given on the page or by Stripe
    message: Mapped[str | None] = mapped_column(String(500))
    public_name: Mapped[str | None] = mapped_column(String(100))  # shown on the supporter wall if set
    # Where the reader came from: the issue and link in it, UTM parameters, the referring article.
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="SET NULL"))
    source_link: Mapped[str | None] = mapped_column(String(100))
    utm_source: Mapped[str | None] = mapped_column(String(100))
    utm_medium: Mapped[str | None] = mapped_column(String(100))
    utm_campaign: Mapped[str | None] = mapped_column(String(100))
    article_slug: Mapped[str | None] = mapped_column(String(200))
    # Stripe's side.
    stripe_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_price_id: Mapped[str | None] = mapped_column(String(255))  # monthly: the Price it started on
    subscription_status: Mapped[str | None] = mapped_column(String(32))  # Stripe's word, e.g. past_due
    subscription_status_at: Mapped[int | None]  # Unix time of the event that set it (older events lose)
    cancel_reason: Mapped[str | None] = mapped_column(String(64))
    # How the money comes: None through Stripe, "bank_transfer" by transfer to the newsroom's account
    # (payments.transfers), whose reference is then the one the donor writes on the transfer.
    payment_method: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(active_history=True)
    ended_at: Mapped[datetime | None]

    donor: Mapped[Donor | None] = relationship(back_populates="donations")
    payments: Mapped[list[DonationPayment]] = relationship(
        back_populates="donation", order_by="DonationPayment.id", cascade="all, delete-orphan"
    )
    amount_changes: Mapped[list[DonationAmountChange]] = relationship(
        back_populates="donation", order_by="DonationAmountChange.effective_at",
        cascade="all, delete-orphan",
    )  # fmt: skip


class DonationAmountChange(Base):
    """A monthly donation's amount from ``effective_at`` on, as Stripe reported a change of its Price
    (the donor changed it in the customer portal). Kept as history, so the MRR of any past month is the
    amount that was in effect then; ``donations.amount_cents`` is the amount in effect now. A donation's
    earliest entry is the amount it started with (``payments.events.amount_changes``).

    ``previous_cents`` is the amount before the change as the event reported it, for the record; the
    statistics take the amount before from the history itself (the entry before), so changes may arrive
    in any order."""

    __tablename__ = "donation_amount_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(ForeignKey("donations.id", ondelete="CASCADE"), index=True)
    effective_at: Mapped[datetime]
    amount_cents: Mapped[int]
    previous_cents: Mapped[int]
    stripe_price_id: Mapped[str | None] = mapped_column(String(255))
    # The event that reported it; None when reconciliation found it.
    stripe_event_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    donation: Mapped[Donation] = relationship(back_populates="amount_changes")


class DonationPayment(Base):
    """One payment of a donation: the single payment of a one-time gift, each month's invoice of a monthly
    one. Refunds and disputes are kept on the payment they concern."""

    __tablename__ = "donation_payments"
    __table_args__ = (Index("ix_donation_payments_paid_at", "paid_at"),)  # revenue per month

    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(ForeignKey("donations.id", ondelete="CASCADE"), index=True)
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # active_history on what the payment tallies sum: the old value is at hand in the flush that changes it
    amount_cents: Mapped[int] = mapped_column(active_history=True)
    currency: Mapped[str] = mapped_column(String(3), active_history=True)
    status: Mapped[PaymentStatus] = mapped_column(
        enum_column(PaymentStatus, "payment_status"), active_history=True
    )
    refunded_cents: Mapped[int] = mapped_column(default=0, active_history=True)
    # The part of ``amount_cents`` that is a fee the donor chose to cover (the donation's, at most all of it).
    fee_covered_cents: Mapped[int] = mapped_column(default=0, server_default="0")
    dispute_status: Mapped[DisputeStatus | None] = mapped_column(
        enum_column(DisputeStatus, "dispute_status"), active_history=True
    )
    failure_count: Mapped[int] = mapped_column(default=0, active_history=True)
    stripe_created: Mapped[int | None]  # Stripe's Unix time of the invoice or payment: orders the months
    # Stripe's reason for a monthly invoice: ``subscription_create`` is the first billing period.
    billing_reason: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Stripe's times, never the time an event arrived: paid (the payment's own time), the latest refund and
    # when a dispute was opened.
    paid_at: Mapped[datetime | None] = mapped_column(active_history=True)
    refunded_at: Mapped[datetime | None]
    disputed_at: Mapped[datetime | None]

    donation: Mapped[Donation] = relationship(back_populates="payments")


class EventState(enum.StrEnum):
    APPLIED = "applied"  # its effect is in the same transaction as this row
    IGNORED = "ignored"  # not about a donation of this installation
    PARKED = "parked"  # about a payment not known yet: applied when it is (see payments.events.parking)


class StripeEvent(Base):
    """A webhook event received: its id is unique, written in the same transaction as its effect, so a
    redelivery finds it and changes nothing. A parked event keeps its payload and the key it waits for
    (``pi:<payment intent>`` or ``invoice:<invoice>``) until the transaction that makes the key known
    applies it."""

    __tablename__ = "stripe_events"
    __table_args__ = (Index("ix_stripe_events_waits_for", "waits_for"),)

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    created: Mapped[int]  # Stripe's Unix time
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    state: Mapped[EventState] = mapped_column(
        enum_column(EventState, "stripe_event_state"), default=EventState.APPLIED
    )
    outcome: Mapped[str | None] = mapped_column(String(200))
    waits_for: Mapped[str | None] = mapped_column(String(300))
    payload: Mapped[dict | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(default=0)  # lookups at Stripe for a parked event


class StripeCatalogEntry(Base):
    """What Beitrag made at Stripe once and reuses: the monthly donation's Product, its Prices (one per
    amount and currency) and the customer portal's configuration, by our own key."""

    __tablename__ = "stripe_catalog"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    stripe_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DonorMail(Base):
    """A mail to a donor (receipt, "please update your card", "your monthly donation ended"), written in
    the transaction of the event that causes it and unique per cause, so a redelivered or concurrent event
    never mails twice. ``enqueued_at`` stays empty until the mail is on the queue; a sweep retries."""

    __tablename__ = "donor_mails"
    __table_args__ = (UniqueConstraint("cause"), Index("ix_donor_mails_enqueued_at_id", "enqueued_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    donation_id: Mapped[int] = mapped_column(ForeignKey("donations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # receipt, card_failed, ended
    cause: Mapped[str] = mapped_column(String(300))  # e.g. "receipt:payment:12"
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]


class PaymentTally(Base):
    """The payments received, summed per span of ``paid_at`` (its UTC hour on a month's first and last day,
    else its UTC day: ``payments.reports.payment_tallies.span_of``), currency, kind, amount and whether a
    failed attempt came first: how many, and how much of them was refunded or lost in disputes. Written
    by :mod:`payments.reports.payment_tallies` in the flush that changes a payment, so it always says what
    the ledger says; the statistics read months (in any whole-hour time zone) and the median gift from it."""

    __tablename__ = "payment_tallies"

    starts_at: Mapped[datetime] = mapped_column(primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    monthly: Mapped[bool] = mapped_column(primary_key=True)
    amount_cents: Mapped[int] = mapped_column(primary_key=True)
    recovered: Mapped[bool] = mapped_column(primary_key=True)
    payments: Mapped[int] = mapped_column(default=0)
    refunded_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    lost_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class DonorFirstGift(Base):
    """When a donor's first gift in a currency arrived (the earliest ``paid_at`` of their donations in
    it). Written by :mod:`payments.reports.first_gifts` in the flush that changes a donation."""

    __tablename__ = "donor_first_gifts"
    __table_args__ = (Index("ix_donor_first_gifts_currency_first_at", "currency", "first_at"),)

    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id", ondelete="CASCADE"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    first_at: Mapped[datetime]
