"""The newsletter side's tables: staff users, newsletters, subscribers, subscriptions, articles.

Models hold data and small invariants only; they never touch ``current_app``, queues, SMTP or Stripe.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db import Base, utcnow


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, the same on PostgreSQL and SQLite."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class StaffRole(enum.StrEnum):
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return {StaffRole.EDITOR: 1, StaffRole.ADMIN: 2}[self]


class StaffUser(Base):
    """A newsroom member who signs in: editors write and send, admins also see money and manage staff."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole, "staff_role"))
    active: Mapped[bool] = mapped_column(default=True)
    # Bumped on password change or deactivation: every session and remember cookie of the user ends.
    session_version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    # Flask-Login's user protocol.
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def has_role(self, role: StaffRole | str) -> bool:
        return self.active and self.role.rank >= StaffRole(role).rank

    def __repr__(self) -> str:
        return f"<StaffUser {self.id} {self.role.value}>"


# E-mail addresses are unique regardless of case (the local part is kept as the reader typed it).
Index("uq_staff_users_email_lower", func.lower(StaffUser.email), unique=True)


class StaffApiToken(Base):
    """A bearer token for the staff JSON API, made by an admin for a staff user. Only the SHA-256 of the
    token is kept (it is shown once, when made); the token acts with its user's current role and stops
    working when revoked or when the user is deactivated."""

    __tablename__ = "staff_api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(12))  # the first characters, to tell tokens apart in the list
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    staff_user: Mapped[StaffUser] = relationship()


class Newsletter(Base):
    """A list readers can subscribe to, e.g. "KI-News täglich"."""

    __tablename__ = "newsletters"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    is_public: Mapped[bool] = mapped_column(default=True)
    is_default: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    subscriptions: Mapped[list[Subscription]] = relationship(back_populates="newsletter")


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
        _enum(SubscriberStatus, "subscriber_status"), default=SubscriberStatus.PENDING
    )
    locale: Mapped[str] = mapped_column(String(8), default="de")
    source: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]
    consent_basis: Mapped[ConsentBasis | None] = mapped_column(_enum(ConsentBasis, "consent_basis"))
    consent_at: Mapped[datetime | None]
    consent_detail: Mapped[str | None] = mapped_column(String(500))  # how: form and time, or import and staff
    paused_until: Mapped[datetime | None]  # no newsletters until then
    ask_frequency: Mapped[AskFrequency] = mapped_column(
        _enum(AskFrequency, "ask_frequency"), default=AskFrequency.NORMAL
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
    # decided when the event is written (``newsletter.stats``), so the statistics count, not search.
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
    reason: Mapped[SuppressionReason] = mapped_column(_enum(SuppressionReason, "suppression_reason"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Article(Base):
    """A piece the newsroom published; issues are composed from these."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    teaser: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown; rendered and sanitised on output
    author: Mapped[str] = mapped_column(String(200), default="")
    image_url: Mapped[str | None] = mapped_column(String(2000))
    image_credit: Mapped[str | None] = mapped_column(String(300))
    canonical_url: Mapped[str | None] = mapped_column(String(2000))
    guid: Mapped[str | None] = mapped_column(String(2000), unique=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    sponsored: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


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


# -- staff administration of readers: CSV imports ---------------------------------------------------

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
        _enum(ImportConsent, "import_consent"), default=ImportConsent.NONE
    )
    consent_detail: Mapped[str] = mapped_column(String(500), default="")
    state: Mapped[ImportState] = mapped_column(
        _enum(ImportState, "import_state"), default=ImportState.UPLOADED
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


# --- Editorial: feeds, issues (issue 4) -------------------------------------------------------------


class Feed(Base):
    """An RSS or Atom feed of the newsroom, imported on demand and every ``interval_minutes``."""

    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    interval_minutes: Mapped[int] = mapped_column(default=60)
    active: Mapped[bool] = mapped_column(default=True)
    last_fetched_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(1000))
    last_new: Mapped[int] = mapped_column(default=0)
    last_updated: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IssueState(enum.StrEnum):
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    PAUSED = "paused"  # sending stopped by an editor: no worker claims its rows until it is resumed
    SENT = "sent"
    CANCELLED = "cancelled"


class IssueLayout(enum.StrEnum):
    DIGEST = "digest"  # every article as a teaser card
    FEATURE = "feature"  # the first article large, the others as short links


issue_newsletters = Table(
    "issue_newsletters",
    Base.metadata,
    Column("issue_id", ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True),
    Column("newsletter_id", ForeignKey("newsletters.id", ondelete="CASCADE"), primary_key=True),
)


class Issue(Base):
    """One newsletter issue: what is said (subject, intro, articles), to whom, how it looks, and its state."""

    __tablename__ = "issues"
    __table_args__ = (Index("ix_issues_state_sent_at", "state", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(200))
    preheader: Mapped[str] = mapped_column(String(300), default="")
    intro: Mapped[str] = mapped_column(Text, default="")  # Markdown; rendered and sanitised on output
    layout: Mapped[IssueLayout] = mapped_column(
        _enum(IssueLayout, "issue_layout"), default=IssueLayout.DIGEST
    )
    state: Mapped[IssueState] = mapped_column(_enum(IssueState, "issue_state"), default=IssueState.DRAFT)
    sender_name: Mapped[str] = mapped_column(String(200))
    sender_address: Mapped[str] = mapped_column(String(320))
    scheduled_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # The "412 of 600 monthly supporters" counter as a block under the ask (when a goal is configured).
    show_goal: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    items: Mapped[list[IssueArticle]] = relationship(
        back_populates="issue", cascade="all, delete-orphan", order_by="IssueArticle.position"
    )
    newsletters: Mapped[list[Newsletter]] = relationship(
        secondary=issue_newsletters, order_by="Newsletter.id"
    )

    @property
    def articles(self) -> list[Article]:
        return [item.article for item in self.items]


class IssueArticle(Base):
    """An article in an issue, at a position the editor chose."""

    __tablename__ = "issue_articles"

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)

    issue: Mapped[Issue] = relationship(back_populates="items")
    article: Mapped[Article] = relationship()


# -- the send ledger ---------------------------------------------------------------------------------


class DeliveryStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for a worker
    SENDING = "sending"  # claimed by a worker whose lease has not run out
    SENT = "sent"  # the relay accepted it (2xx)
    FAILED = "failed"  # refused for good (5xx) or out of retries
    BOUNCED = "bounced"  # a hard bounce came back after acceptance
    SKIPPED = "skipped"  # the reader left, paused or was suppressed before their turn
    UNCERTAIN = "uncertain"  # a worker died between the relay's answer and the ledger: see README
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
    status: Mapped[DeliveryStatus] = mapped_column(
        _enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None]
    # The claim that holds a ``sending`` row: names the worker's journal in Redis (see sending.py).
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


class IssueTally(Base):
    """An issue's send ledger counted once, when the issue became sent (``sending.finish_if_done``), and
    kept in step by a bounce that changes a row later (``bounces``), in the same transaction. Issues
    without one (still sending, or made sent otherwise) are counted from the ledger."""

    __tablename__ = "issue_tallies"

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    recipients: Mapped[int]
    accepted: Mapped[int]  # sent or bounced: the relay took it
    failed: Mapped[int]
    bounced: Mapped[int]
