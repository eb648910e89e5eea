"""Staff accounts, their sessions in the browser, their API tokens, their second factor (TOTP and recovery
codes), invitations and the staff-wide settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func
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
    # Two-factor sign-in (two_factor.py). The TOTP secret is kept encrypted under a key derived from
    # SECRET_KEY; it is written when set-up starts and counts once ``totp_enabled_at`` is set. The time step
    # of the last code accepted is kept so that no code opens a second session.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None]
    totp_last_step: Mapped[int | None]

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None and self.totp_secret is not None

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


class StaffRecoveryCode(Base):
    """One of a staff member's one-time recovery codes, for signing in without the authenticator app. Only
    an HMAC of the code is kept (keyed from SECRET_KEY); the codes are shown once, when made."""

    __tablename__ = "staff_recovery_codes"
    __table_args__ = (UniqueConstraint("staff_user_id", "code_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]


class StaffInvitation(Base):
    """An admin's invitation to a new staff member: the mailed link (signed, valid for 72 hours) lets its
    holder choose a name and a password once; then the account exists with the role named here."""

    __tablename__ = "staff_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[StaffRole] = mapped_column(enum_column(StaffRole, "staff_role"))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))

    invited_by: Mapped[StaffUser | None] = relationship(foreign_keys=[invited_by_id])


class StaffSetting(Base):
    """A setting admins change in the browser (``require_two_factor``), by name; absent means its default."""

    __tablename__ = "staff_settings"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
