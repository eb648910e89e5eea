"""The send ledger and what is counted beside it: bounce reports applied, counted links, issue tallies."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from db import Base, enum_column, utcnow


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for a worker
    SENDING = "sending"  # claimed by a worker whose lease has not run out
    SENT = "sent"  # the relay accepted it (2xx)
    FAILED = "failed"  # refused for good (5xx) or out of retries
    BOUNCED = "bounced"  # a hard bounce came back after acceptance
    SKIPPED = "skipped"  # the reader left, paused or was suppressed before their turn
    UNCERTAIN = "uncertain"  # the relay may have it: a worker died, or the line broke after DATA (README)
    CANCELLED = "cancelled"  # still waiting when an editor cancelled the send


class Delivery(Base):
    """One reader's copy of one issue: the send ledger. Unique per (issue, reader), so sending twice, a
    double click or a re-run adds nothing; progress is a count of these rows by status."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("issue_id", "subscriber_id"),
        Index("ix_deliveries_issue_id_status_id", "issue_id", "status", "id"),
        # The statistics blame an unsubscribe on the reader's last issue: their rows by send time.
        Index("ix_deliveries_subscriber_id_sent_at", "subscriber_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    # An erased reader's rows stay for the issue's counts, without the reader.
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"))
    newsletter_id: Mapped[int | None] = mapped_column(ForeignKey("newsletters.id", ondelete="SET NULL"))
    variant: Mapped[str] = mapped_column(String(20), default="default")
    # The segment the issue went to (None: its whole newsletters), as it was when this row was written.
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    # The reader's language when the send started ("de" or "en"): the worker renders one skeleton per
    # variant and language.
    locale: Mapped[str] = mapped_column(String(8), default="de", server_default="de")
    status: Mapped[DeliveryStatus] = mapped_column(
        enum_column(DeliveryStatus, "delivery_status"), default=DeliveryStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]
    # The claim that holds a ``sending`` row: names the worker's journal in Redis (see ``sending.batches``).
    claim: Mapped[str | None] = mapped_column(String(32))
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    reply: Mapped[str | None] = mapped_column(String(300))
    message_id: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BounceEvent(Base):
    """A bounce, complaint or ESP event already applied, under its source's own id (the SNS MessageId,
    the bounce message's Message-ID): the same report arriving again changes nothing."""

    __tablename__ = "bounce_events"

    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # hard, soft, complaint, ignored
    delivery_id: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IssueLink(Base):
    """A link in a sent issue, when the newsroom counts clicks (``CLICK_COUNTING``): numbered once per
    issue when the send is prepared, the same number in every variant, counted per link and never per
    reader (the rewritten address names the issue and the link, nothing else)."""

    __tablename__ = "issue_links"

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    link_no: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    url: Mapped[str] = mapped_column(Text)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class WelcomeLink(Base):
    """A link in a newsletter's welcome mail, when the newsroom counts clicks (``CLICK_COUNTING``):
    numbered per newsletter the first time a welcome carrying it is sent, counted per link and never per
    reader. The welcome changes over time (a new latest issue, an edited intro), so new addresses get the
    next number and the old ones keep theirs and their clicks."""

    __tablename__ = "welcome_links"

    newsletter_id: Mapped[int] = mapped_column(
        ForeignKey("newsletters.id", ondelete="CASCADE"), primary_key=True
    )
    link_no: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    url: Mapped[str] = mapped_column(Text)
    clicks: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class IssueTally(Base):
    """An issue's send ledger counted once, when the issue became sent (``ledger.finish_if_done``), and
    kept in step by a bounce that changes a row later (``bounces``), in the same transaction. Issues
    without one (still sending, or made sent otherwise) are counted from the ledger."""

    __tablename__ = "issue_tallies"

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    recipients: Mapped[int]
    accepted: Mapped[int]  # sent or bounced: the relay took it
    failed: Mapped[int]
    bounced: Mapped[int]


class AutoPause(Base):
    """A send the complaint or hard-bounce rate stopped (``sending.autopause``): why, with the figures the
    editor is shown. One per issue; an editor's resume sets ``resumed_at``, and the rule then leaves that
    send alone (the editor has seen the figures and decided)."""

    __tablename__ = "auto_pauses"

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # "complaint" or "hard"
    reports: Mapped[int]  # complaints (or hard bounces) among the messages accepted so far
    accepted: Mapped[int]  # messages the relay had accepted when the send was paused
    threshold: Mapped[float] = mapped_column(Float)  # the rate reached, as a fraction (0.003 = 0.3 %)
    paused_at: Mapped[datetime] = mapped_column(default=utcnow)
    resumed_at: Mapped[datetime | None]
