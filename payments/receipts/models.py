"""The receipts' tables: the donor's name and postal address for receipts, the counter that numbers them,
the receipts as issued (with their PDF) and the gifts each one confirms.

A gift (a ``DonationPayment``) is in at most one receipt: ``tax_receipt_items.payment_id`` is unique, so two
requests at once cannot confirm it twice (the second one's transaction fails and issues nothing).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db import Base, utcnow


class ReceiptAddress(Base):
    """Who the donor is, as a receipt must name them: given at Stripe's checkout or in the preference
    center. Only needed for receipts still to come: erasing the donor removes it, while the receipts
    already issued keep their own copy (``TaxReceipt.donor_name``, ``donor_address``)."""

    __tablename__ = "receipt_addresses"

    donor_id: Mapped[int] = mapped_column(ForeignKey("donors.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(500))  # street, postal code and town, one per line
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReceiptCounter(Base):
    """The last number given to a receipt, per series: moved on by one ``UPDATE ... RETURNING`` in the
    transaction that issues the receipt, so the row is locked until that transaction ends and no two
    receipts get the same number."""

    __tablename__ = "receipt_counters"

    series: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_number: Mapped[int] = mapped_column(default=0)


class TaxReceipt(Base):
    """One Zuwendungsbestätigung as issued: for one gift, or a Sammelbestätigung for several in a calendar
    year. What it says is fixed at issue (name, address, amounts, the PDF) and never changes; a gift
    refunded afterwards shows up for the staff (``payments.receipts.issuing.flagged``)."""

    __tablename__ = "tax_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    year: Mapped[int] = mapped_column(index=True)
    donor_id: Mapped[int | None] = mapped_column(ForeignKey("donors.id", ondelete="SET NULL"), index=True)
    collective: Mapped[bool] = mapped_column(default=False)  # a Sammelbestätigung
    total_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="eur")
    donor_name: Mapped[str] = mapped_column(String(200))
    donor_address: Mapped[str] = mapped_column(String(500))
    issued_on: Mapped[date]
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The copy the issuer must keep (§ 50 Abs. 7 EStDV), exactly as sent; loaded only when asked for.
    pdf: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)

    items: Mapped[list[TaxReceiptItem]] = relationship(
        back_populates="receipt", order_by="TaxReceiptItem.given_on", cascade="all, delete-orphan"
    )


class TaxReceiptItem(Base):
    """A gift a receipt confirms, with the amount and day as confirmed."""

    __tablename__ = "tax_receipt_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("tax_receipts.id", ondelete="CASCADE"), index=True)
    payment_id: Mapped[int | None] = mapped_column(
        ForeignKey("donation_payments.id", ondelete="SET NULL"), unique=True
    )
    given_on: Mapped[date]
    cents: Mapped[int]

    receipt: Mapped[TaxReceipt] = relationship(back_populates="items")
