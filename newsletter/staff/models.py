"""Staff accounts and their API tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db import Base, enum_column, utcnow
from newsletter.platform.access import StaffRole


class StaffUser(Base):
    """A newsroom member who signs in: editors write and send, admins also see money and manage staff."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[StaffRole] = mapped_column(enum_column(StaffRole, "staff_role"))
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
