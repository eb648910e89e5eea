"""The newsletter side's tables: staff users, newsletters, subscribers, subscriptions, articles.

Models hold data and small invariants only; they never touch ``current_app``, queues, SMTP or Stripe.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text, func
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


class Subscriber(Base):
    """A reader's address and state. The address is unique regardless of case."""

    __tablename__ = "subscribers"
    __table_args__ = (Index("ix_subscribers_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    status: Mapped[SubscriberStatus] = mapped_column(
        _enum(SubscriberStatus, "subscriber_status"), default=SubscriberStatus.PENDING
    )
    locale: Mapped[str] = mapped_column(String(8), default="de")
    source: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    unsubscribed_at: Mapped[datetime | None]

    subscriptions: Mapped[list[Subscription]] = relationship(
        back_populates="subscriber", cascade="all, delete-orphan"
    )


Index("uq_subscribers_email_lower", func.lower(Subscriber.email), unique=True)


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
