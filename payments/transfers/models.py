"""Bank transfers: the booking lines staff imported from the bank's CSV export or recorded by hand, and the
imports themselves.

A booking line is kept once: ``line_key`` is unique (a digest of what the bank says about the line), so
importing the same export again, or an export that overlaps an earlier one, adds nothing. A line that
names a donation's reference becomes a paid one-time donation (``donation_id``); one that does not waits
in the list of unmatched transfers until staff assign it or set it aside.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from db import Base, enum_column, utcnow


class TransferState(enum.StrEnum):
    MATCHED = "matched"  # recorded as a donation
    UNMATCHED = "unmatched"  # waiting for staff
    SET_ASIDE = "set_aside"  # not a donation (staff said so)


class BankImport(Base):
    """One uploaded export. The file is kept (bounded by ``BANK_IMPORT_MAX_BYTES``) until it is recorded,
    so the column map and the preview read the same bytes on any web process; then it is dropped and the
    counts and the lines that could not be read stay as the report."""

    __tablename__ = "bank_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int | None]
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[int]
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    encoding: Mapped[str] = mapped_column(String(20))
    delimiter: Mapped[str] = mapped_column(String(1))
    header_line: Mapped[int]  # 0-based: banks put a few lines about the account before the header
    columns: Mapped[list] = mapped_column(JSON, default=list)
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)  # field -> column index
    recorded: Mapped[bool] = mapped_column(default=False)
    counts: Mapped[dict] = mapped_column(JSON, default=dict)
    problems: Mapped[list] = mapped_column(JSON, default=list)  # [line, reason] of lines not read
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_at: Mapped[datetime | None]


class BankTransfer(Base):
    """One incoming transfer, from an import or recorded by hand."""

    __tablename__ = "bank_transfers"
    __table_args__ = (Index("ix_bank_transfers_state_booked_on", "state", "booked_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    line_key: Mapped[str] = mapped_column(String(80), unique=True)
    import_id: Mapped[int | None] = mapped_column(ForeignKey("bank_imports.id", ondelete="SET NULL"))
    line_number: Mapped[int | None]
    booked_on: Mapped[date]
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="eur")
    payer_name: Mapped[str | None] = mapped_column(String(200))
    payer_iban: Mapped[str | None] = mapped_column(String(34))
    purpose: Mapped[str] = mapped_column(String(500), default="")
    reference: Mapped[str | None] = mapped_column(String(20))  # the donation reference found in it
    state: Mapped[TransferState] = mapped_column(enum_column(TransferState, "bank_transfer_state"))
    donation_id: Mapped[int | None] = mapped_column(
        ForeignKey("donations.id", ondelete="SET NULL"), index=True
    )
    recorded_by: Mapped[int | None]  # the staff member who assigned or entered it by hand
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    recorded_at: Mapped[datetime | None]
