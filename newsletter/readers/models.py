"""Readers' tables: newsletters (lists), readers, their subscriptions and history, the suppression list,
the reader-mail outbox and CSV imports."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db import Base, enum_column, utcnow


def in_language(german: str | None, english: str | None, locale: object) -> str:
    """The English text for "en" where there is one, the German text otherwise: what readers of either
    language see of a text the newsroom may have written twice (newsletter names, issue subjects)."""
    return (english if str(locale or "") == "en" else None) or german or ""


class Newsletter(Base):
    """A list readers can subscribe to, e.g. "KI-News täglich"."""

    __tablename__ = "newsletters"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # Shown to readers who chose English; empty means the German is shown.
    name_en: Mapped[str | None] = mapped_column(String(200))
    description_en: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(default=True)
    is_default: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subscriptions: Mapped[list[Subscription]] = relationship(back_populates="newsletter")

    def name_for(self, locale: object) -> str:
        return in_language(self.name, self.name_en, locale)

    def description_for(self, locale: object) -> str:
        return in_language(self.description, self.description_en, locale)


class SubscriberStatus(enum.StrEnum):
    PENDING = "pending"  # signed up, not yet confirmed (double opt-in)
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"


class AskFrequency(enum.StrEnum):
    """How often the reader wants to be asked for a donation."""

    NORMAL = "normal"
    LESS = "less"
    NEVER = "never"


class ConsentBasis(enum.StrEnum):
    """Why Beitrag may mail this reader (kept as proof, GDPR Art. 7(1))."""

    DOUBLE_OPT_IN = "double_opt_in"  # the reader confirmed from the mail we sent
    RECORDED = "recorded"  # imported by staff who state that consent was recorded elsewhere


class Subscriber(Base):
    """A reader's address and state. The address is unique regardless of case."""

    __tablename__ = "subscribers"
    # Ids are never reused, on SQLite too: links signed with a reader's id must not reach a later reader.
    __table_args__ = (
        # The staff list by status, page after page by id; on PostgreSQL it also carries the sign-up time
        # and the first gift, so the statistics count the active readers of each newsletter from indexes
        # alone (merged with the memberships in reader order), without visiting the table.
        Index("ix_subscribers_status_id", "status", "id", postgresql_include=["created_at", "first_gift_at"]),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    status: Mapped[SubscriberStatus] = mapped_column(
        enum_column(SubscriberStatus, "subscriber_status"), default=SubscriberStatus.PENDING
    )
    locale: Mapped[str] = mapped_column(String(8), default="de")
    source: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    consent_basis: Mapped[ConsentBasis | None] = mapped_column(enum_column(ConsentBasis, "consent_basis"))
    consent_at: Mapped[datetime | None]
    consent_detail: Mapped[str | None] = mapped_column(String(500))  # how: form and time, or import and staff
    paused_until: Mapped[datetime | None]  # no newsletters until then
    ask_frequency: Mapped[AskFrequency] = mapped_column(
        enum_column(AskFrequency, "ask_frequency"), default=AskFrequency.NORMAL
    )
    # Temporary delivery failures reported after the fact (mailbox full, greylisted): counted, not acted on.
    soft_bounces: Mapped[int] = mapped_column(default=0, server_default="0")
    # When the reader first gave: the earliest first gift of the donors linked to them (any currency). The
    # donations side keeps it through ``newsletter.api.set_first_gifts`` in the flush that changes a donor's
    # first gift or link, so "readers who give" is a column of the reader scan, not a join with the donors.
    first_gift_at: Mapped[datetime | None]

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", passive_deletes=True
    )
    events: Mapped[list[SubscriberEvent]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan", passive_deletes=True,
        order_by="SubscriberEvent.id",
    )  # fmt: skip


# Unique regardless of case, and on PostgreSQL with the pattern operator class so that the same index
# also serves the staff list's prefix search (``lower(email) LIKE 'abc%'``) under any collation: one
# index on lower(email) for new readers to maintain, not two. SQLite uses the plain expression index.
Index(
    "uq_subscribers_email_lower",
    func.lower(Subscriber.email).label("email_lower"),
    unique=True,
    postgresql_ops={"email_lower": "text_pattern_ops"},
)


class Subscription(Base):
    """A reader on a newsletter."""

    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_newsletter_subscriber", "newsletter_id", "subscriber_id"),)

    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    newsletter_id: Mapped[int] = mapped_column(
        ForeignKey("newsletters.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subscriber: Mapped[Subscriber] = relationship(back_populates="subscriptions")
    newsletter: Mapped[Newsletter] = relationship(back_populates="subscriptions")


class SubscriberEvent(Base):
    """One line of a reader's history: subscribed, confirmed, preferences changed, left, imported."""

    __tablename__ = "subscriber_events"
    __table_args__ = (
        Index("ix_subscriber_events_subscriber_id_id", "subscriber_id", "id"),
        Index("ix_subscriber_events_issue_id_kind", "issue_id", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # For a reader leaving: the issue blamed for it (the last one they were sent in the 7 days before),
    # decided when the event is written (``sending.tallies``), so the statistics count, not search.
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="SET NULL"))

    subscriber: Mapped[Subscriber] = relationship(back_populates="events")


class SuppressionReason(enum.StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    ERASED = "erased"
    MANUAL = "manual"


class Suppression(Base):
    """An address no newsletter may mail again, whatever an import or an API call says.

    Only the SHA-256 of the lower-cased address is kept, so an erased reader's address is gone while
    an import of it is still refused. Only the reader's own confirmed opt-in lifts a suppression.
    """

    __tablename__ = "suppressions"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[SuppressionReason] = mapped_column(enum_column(SuppressionReason, "suppression_reason"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReaderMail(Base):
    """A mail a reader asked for on the site (confirmation, preference link), written in the same
    transaction as the request. ``enqueued_at`` stays empty while Redis was unreachable: a sweeper sends it
    later. The rows also count how many such mails an address got per day, whatever Redis forgot."""

    __tablename__ = "reader_mails"
    __table_args__ = (
        Index("ix_reader_mails_subscriber_id_created_at", "subscriber_id", "created_at"),
        Index("ix_reader_mails_enqueued_at_id", "enqueued_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # "confirm" or "preferences"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]


# Prefix search on the address in the staff list is served by ``uq_subscribers_email_lower`` (above).
# Filtering the staff list by source, newest first, page by page.
Index("ix_subscribers_source_id", Subscriber.source, Subscriber.id)
# The statistics count readers new and confirmed per month, and leavers and bounces from the history.
# BRIN on PostgreSQL: readers arrive in time order, a million at once in an import (migration 0014).
Index("ix_subscribers_created_at", Subscriber.created_at, postgresql_using="brin")
Index("ix_subscribers_confirmed_at", Subscriber.confirmed_at, postgresql_using="brin")
Index("ix_subscriber_events_kind_created_at", SubscriberEvent.kind, SubscriberEvent.created_at)


class ImportState(enum.StrEnum):
    UPLOADED = "uploaded"  # file saved, columns not yet mapped
    QUEUED = "queued"  # mapped, waiting for a worker
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ImportConsent(enum.StrEnum):
    """What the editor states about the consent of the people in the file."""

    RECORDED = "recorded"  # consent was recorded elsewhere: imported as active
    NONE = "none"  # no recorded consent: pending, each gets an opt-in mail


class SubscriberImport(Base):
    """One CSV upload and what became of it: file, column map, state, counts, who and when."""

    __tablename__ = "subscriber_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(String(255))  # as uploaded, for display only
    stored_path: Mapped[str] = mapped_column(String(1000))  # under the instance folder
    size_bytes: Mapped[int] = mapped_column(default=0)
    delimiter: Mapped[str] = mapped_column(String(1), default=",")
    has_header: Mapped[bool] = mapped_column(default=True)
    columns: Mapped[list[str]] = mapped_column(JSON, default=list)  # header row as found
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)  # column index -> field name
    newsletter_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # for every row
    consent: Mapped[ImportConsent] = mapped_column(
        enum_column(ImportConsent, "import_consent"), default=ImportConsent.NONE
    )
    consent_detail: Mapped[str] = mapped_column(String(500), default="")
    # With recorded consent: whether the imported readers get their newsletters' welcome mails.
    send_welcome: Mapped[bool] = mapped_column(default=False)
    state: Mapped[ImportState] = mapped_column(
        enum_column(ImportState, "import_state"), default=ImportState.UPLOADED
    )
    bytes_done: Mapped[int] = mapped_column(default=0)
    rows_read: Mapped[int] = mapped_column(default=0)
    created_count: Mapped[int] = mapped_column(default=0)
    existing_count: Mapped[int] = mapped_column(default=0)
    duplicate_count: Mapped[int] = mapped_column(default=0)
    suppressed_count: Mapped[int] = mapped_column(default=0)
    error_count: Mapped[int] = mapped_column(default=0)
    opt_in_sent: Mapped[int] = mapped_column(default=0)
    failure: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The run that holds the import: each run of the job claims it by counting this up, and every chunk
    # it settles is fenced by it (a run whose claim was taken over settles nothing more).
    run: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]  # renewed while the run reads; after it, the sweep re-queues
    resumed: Mapped[int] = mapped_column(default=0)  # runs that continued an interrupted one


class ImportChunk(Base):
    """One settled chunk of an import: the lines it covers (every line from ``first_line`` to
    ``last_line`` not in an earlier chunk) and what became of them, committed with the chunk's readers.
    A resumed import skips the lines of its chunks. Deleted with the import."""

    __tablename__ = "subscriber_import_chunks"

    import_id: Mapped[int] = mapped_column(
        ForeignKey("subscriber_imports.id", ondelete="CASCADE"), primary_key=True
    )
    first_line: Mapped[int] = mapped_column(primary_key=True)
    last_line: Mapped[int]
    run: Mapped[int]
    created: Mapped[int] = mapped_column(default=0)
    existing: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    suppressed: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)


class ImportRow(Base):
    """One line of an import file as read: the staging table the import works on in bulk, and the
    per-row report afterwards (``outcome`` and ``reason``). Deleted with the import."""

    __tablename__ = "subscriber_import_rows"

    import_id: Mapped[int] = mapped_column(
        ForeignKey("subscriber_imports.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    email_lower: Mapped[str | None] = mapped_column(String(320))
    email_hash: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(8))
    source: Mapped[str | None] = mapped_column(String(255))
    newsletter_ids: Mapped[str | None] = mapped_column(String(200))  # "1,3" from the file's own column
    # read (accepted: the reader was created from it), existing (already known), refused (see reason)
    outcome: Mapped[str] = mapped_column(String(16), default="read")
    reason: Mapped[str | None] = mapped_column(String(300))
    mailed: Mapped[bool] = mapped_column(default=False)  # opt-in mail queued
    # PostgreSQL: the id the new reader will get, drawn from the sequence while reading (unused ids of
    # refused rows are gaps, as sequences allow); it saves joining back on the address.
    subscriber_id: Mapped[int | None]


class Segment(Base):
    """A saved filter over one newsletter's readers (``readers.segments``): an issue can go to it instead
    of to whole newsletters, and the reader list filters by it. Every term is optional; an empty one
    matches everyone. Dates are calendar days in the newsroom's time zone, both ends included."""

    __tablename__ = "segments"

    id: Mapped[int] = mapped_column(primary_key=True)
    newsletter_id: Mapped[int] = mapped_column(ForeignKey("newsletters.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    supporter_state: Mapped[str | None] = mapped_column(String(20))  # never, one_time, monthly, lapsed, ...
    locale: Mapped[str | None] = mapped_column(String(8))
    source: Mapped[str | None] = mapped_column(String(255))
    signed_up_from: Mapped[date | None]
    signed_up_to: Mapped[date | None]
    confirmed_from: Mapped[date | None]
    confirmed_to: Mapped[date | None]
    ask_frequency: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    newsletter: Mapped[Newsletter] = relationship()


class WelcomeContent(enum.StrEnum):
    """What a welcome mail shows below its intro."""

    LATEST_ISSUE = "latest_issue"  # the newsletter's last sent issue: its subject, link and articles
    ARTICLES = "articles"  # articles the editor chose
    NOTHING = "nothing"


class NewsletterWelcome(Base):
    """A newsletter's welcome mail as the editor wrote it: sent once to each reader who confirms (or, when
    an import asks for it, who was imported with consent), ``delay_minutes`` after that."""

    __tablename__ = "newsletter_welcomes"

    newsletter_id: Mapped[int] = mapped_column(
        ForeignKey("newsletters.id", ondelete="CASCADE"), primary_key=True
    )
    enabled: Mapped[bool] = mapped_column(default=False)
    delay_minutes: Mapped[int] = mapped_column(default=0)
    subject: Mapped[str] = mapped_column(String(200), default="")
    subject_en: Mapped[str] = mapped_column(String(200), default="")
    intro: Mapped[str] = mapped_column(Text, default="")  # Markdown, sanitised when rendered
    intro_en: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(String(20), default=WelcomeContent.LATEST_ISSUE.value)
    article_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # in the editor's order
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WelcomeMail(Base):
    """The welcome-mail outbox: one row per reader and newsletter, ever. The unique pair is what makes the
    mail go once, whether the confirmation link is clicked twice or two workers confirm at once; the row
    is written in the confirmation's transaction and queued by the clock's sweep once ``due_at`` passed."""

    __tablename__ = "welcome_mails"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "newsletter_id"),
        Index("ix_welcome_mails_enqueued_at_due_at", "enqueued_at", "due_at"),
        Index("ix_welcome_mails_newsletter_id_status", "newsletter_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    newsletter_id: Mapped[int] = mapped_column(ForeignKey("newsletters.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    due_at: Mapped[datetime] = mapped_column(default=utcnow)
    enqueued_at: Mapped[datetime | None]
    # "waiting", then "sending" while a worker holds it, then "sent", "skipped" (the reader left, the
    # welcome was turned off) or "failed" (refused by the relay).
    status: Mapped[str] = mapped_column(String(20), default="waiting")
    sent_at: Mapped[datetime | None]
    claimed_at: Mapped[datetime | None]  # when a worker took it to send ("sending")


class Referral(Base):
    """A reader who signed up through another reader's share link (``readers.sharing``): one row per new
    reader at most, counted for the sharer once the new reader confirmed (``confirmed_at``)."""

    __tablename__ = "referrals"
    __table_args__ = (Index("ix_referrals_sharer_id", "sharer_id", "confirmed_at"),)

    referred_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True
    )
    sharer_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    # Where the link stood: issue, preferences, supporters, or link (anything else).
    via: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
