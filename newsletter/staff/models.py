"""Staff accounts, their sessions in the browser and their API tokens."""

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

    # The token of the staff session this object was signed in or loaded with (sessions.py); not stored.
    # Flask-Login keeps ``get_id()`` in the session cookie and the remember cookie, so both name the
    # session, and ending the session's row ends both.
    session_token = None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token or ''}"

    def has_role(self, role: StaffRole | str) -> bool:
        return self.active and self.role.rank >= StaffRole(role).rank

    def __repr__(self) -> str:
        return f"<StaffUser {self.id} {self.role.value}>"


# E-mail addresses are unique regardless of case (the local part is kept as the reader typed it).
Index("uq_staff_users_email_lower", func.lower(StaffUser.email), unique=True)


class StaffApiToken(Base):
    """A bearer token for the staff JSON API, made by an admin for a staff user. Only the SHA-256 of the
    token is kept (it is shown once, when made); the token acts with its user's current role and stops
    working when revoked, and it is revoked with the user's password change, role change or deactivation
    (``revoked_because`` says which)."""

    __tablename__ = "staff_api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(12))  # the first characters, to tell tokens apart in the list
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_because: Mapped[str | None] = mapped_column(String(32))

    staff_user: Mapped[StaffUser] = relationship()


class StaffSession(Base):
    """One signing-in of a staff member in one browser. The browser holds a random token (in the signed
    session cookie and, when "stay signed in" was ticked, the remember cookie); only its SHA-256 is kept
    here. A session counts while ``ended_at`` is empty and it has not run out (sessions.py): signing out,
    "sign out everywhere", ending it from the sessions page, a password change and deactivation set
    ``ended_at``, and from then on neither cookie opens anything, wherever it is replayed from."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    remembered: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Written at most once a minute (or when the address or browser changes), not on every request.
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    address: Mapped[str] = mapped_column(String(45))  # the client address it was last used from
    user_agent: Mapped[str] = mapped_column(String(400), default="")
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(32))

    staff_user: Mapped[StaffUser] = relationship()
