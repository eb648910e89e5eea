"""Editorial tables: articles, feeds, issues and the articles in them."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Column, ForeignKey, Index, String, Table, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db import Base, enum_column, utcnow
from newsletter.readers.models import Newsletter, Segment, in_language


class Article(Base):
    """A piece the newsroom published; issues are composed from these.

    An article imported from a feed belongs to that feed (``feed_id``) and is known to it by its GUID
    (the item's link when it has none): one feed's items never match another feed's or the newsroom's own
    articles (``feed_id`` empty), whatever GUID or link they carry.

    An article without ``canonical_url`` is read here, on its own page (``/artikel/<slug>``); one with it
    (every feed item that has a link) is read where that address points."""

    __tablename__ = "articles"
    __table_args__ = (UniqueConstraint("feed_id", "guid", name="uq_articles_feed_id_guid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(200), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    teaser: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")  # Markdown; rendered and sanitised on output
    author: Mapped[str] = mapped_column(String(200), default="")
    image_url: Mapped[str | None] = mapped_column(String(2000))
    # What the image shows, for readers who cannot see it; empty means the title stands in.
    image_alt: Mapped[str | None] = mapped_column(String(500))
    image_credit: Mapped[str | None] = mapped_column(String(300))
    canonical_url: Mapped[str | None] = mapped_column(String(2000))
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))
    guid: Mapped[str | None] = mapped_column(String(2000))
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    sponsored: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Feed(Base):
    """An RSS or Atom feed of the newsroom, imported on demand and every ``interval_minutes``.

    A paused feed (``active`` false, ``paused_at`` set) is not imported on its schedule. An editor pauses
    it, or it pauses itself after ``FEED_MAX_FAILURES`` failed imports in a row (``failures``), so that a
    broken feed does not fail on every run forever."""

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
    paused_at: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(default=0, server_default="0")  # failed imports in a row
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
    # The English version for readers who chose English; empty means they get the German text.
    subject_en: Mapped[str | None] = mapped_column(String(200))
    preheader_en: Mapped[str | None] = mapped_column(String(300))
    intro_en: Mapped[str | None] = mapped_column(Text)
    layout: Mapped[IssueLayout] = mapped_column(
        enum_column(IssueLayout, "issue_layout"), default=IssueLayout.DIGEST
    )
    state: Mapped[IssueState] = mapped_column(
        enum_column(IssueState, "issue_state"), default=IssueState.DRAFT
    )
    sender_name: Mapped[str] = mapped_column(String(200))
    sender_address: Mapped[str] = mapped_column(String(320))
    scheduled_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    # Set by the send sweep's safety net when the issue was marked sent while readers still waited and
    # was sent on (newsletter/sending/sweeper.py, reopen_stranded); the issue page says so.
    reopened_at: Mapped[datetime | None]
    # The "412 of 600 regular supporters" counter as a block under the ask (when a goal is configured).
    show_goal: Mapped[bool] = mapped_column(default=False, server_default=false())
    # In the public archive and its Atom feed? None until the send starts, which settles it from the
    # newsletters (public when any of them is public); an editor may decide otherwise at any time.
    public_archive: Mapped[bool | None]
    # The articles as the issue showed them when its send started (``issues.seal_for_sending``): the mail of
    # every batch, the archive and the Atom feed are made from this, not from the articles as they are now.
    sent_content: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    # A segment of one of the issue's newsletters: then the issue goes to that segment's readers only.
    segment_id: Mapped[int | None] = mapped_column(ForeignKey("segments.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    items: Mapped[list[IssueArticle]] = relationship(
        back_populates="issue", cascade="all, delete-orphan", order_by="IssueArticle.position"
    )
    newsletters: Mapped[list[Newsletter]] = relationship(
        secondary=issue_newsletters, order_by="Newsletter.id"
    )
    segment: Mapped[Segment | None] = relationship()

    @property
    def articles(self) -> list[Article]:
        return [item.article for item in self.items]

    def subject_for(self, locale: object) -> str:
        return in_language(self.subject, self.subject_en, locale)

    def preheader_for(self, locale: object) -> str:
        return in_language(self.preheader, self.preheader_en, locale)

    def intro_for(self, locale: object) -> str:
        return in_language(self.intro, self.intro_en, locale)

    @property
    def has_english(self) -> bool:
        return bool(self.subject_en or self.preheader_en or self.intro_en)


class IssueArticle(Base):
    """An article in an issue, at a position the editor chose."""

    __tablename__ = "issue_articles"

    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)

    issue: Mapped[Issue] = relationship(back_populates="items")
    article: Mapped[Article] = relationship()


class TestReader(Base):
    """An address of the newsroom's own that test sends of issues may go to (the issue page offers them).
    Never a reader: nothing about it is looked up among subscribers, and the links in a test change
    nothing."""

    __tablename__ = "test_readers"
    __test__ = False  # not a pytest test class, whatever its name

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Digest(Base):
    """An automatic issue of one newsletter: on the chosen weekdays at a time of day in a time zone, the
    clock builds an issue of the articles published since the newsletter's last issue (``editorial.digests``)
    and sends it (``mode`` "send") or leaves it as a draft and mails the editors ("draft").

    ``weekdays`` are ISO weekdays as digits ("12345": Monday to Friday). ``tags`` and ``feed_ids`` narrow
    the articles (empty: all); ``feed_ids`` may hold 0 for the newsroom's own articles (no feed)."""

    __tablename__ = "digests"

    id: Mapped[int] = mapped_column(primary_key=True)
    newsletter_id: Mapped[int] = mapped_column(ForeignKey("newsletters.id", ondelete="CASCADE"), index=True)
    subject: Mapped[str] = mapped_column(String(150))
    weekdays: Mapped[str] = mapped_column(String(7))
    hour: Mapped[int]
    minute: Mapped[int]
    timezone: Mapped[str] = mapped_column(String(64))
    layout: Mapped[str] = mapped_column(String(20), default=IssueLayout.DIGEST.value)
    mode: Mapped[str] = mapped_column(String(10), default="draft")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    feed_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    sender_name: Mapped[str] = mapped_column(String(200))
    sender_address: Mapped[str] = mapped_column(String(320))
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Slots at or before this time are never built: a digest saved at 07:03 for 07:00 starts tomorrow.
    schedule_changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    newsletter: Mapped[Newsletter] = relationship()


class DigestRun(Base):
    """One slot of a digest, claimed by the INSERT of this row: unique on ``(digest_id, slot_at)``, so
    two clocks never build one slot twice. An editor's skip or hold of a coming slot is such a row written
    ahead of time (``state`` "skip" or "hold"); the builder takes a held slot over with one conditional
    UPDATE. The outcome: "draft", "sending", "empty" (nothing new), "skipped" (an editor's skip, reached)."""

    __tablename__ = "digest_runs"
    __table_args__ = (UniqueConstraint("digest_id", "slot_at", name="uq_digest_runs_digest_id_slot_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    digest_id: Mapped[int] = mapped_column(ForeignKey("digests.id", ondelete="CASCADE"))
    slot_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="SET NULL"))
    articles: Mapped[int] = mapped_column(default=0)
    detail: Mapped[str] = mapped_column(String(1000), default="")
    by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    built_at: Mapped[datetime | None]
    # When the editors' mail about this draft was handed to the queue; None while it still has to be
    # (Redis was unreachable: the next sweep tries again).
    editors_told_at: Mapped[datetime | None]
