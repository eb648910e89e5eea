"""Staff accounts: creating them, checking passwords, changing password and role, deactivating, API tokens.
Plain functions; the caller commits. Every change is written to the audit log in the caller's transaction."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.platform import audit
from newsletter.platform.access import StaffRole
from newsletter.staff import sessions
from newsletter.staff.models import StaffApiToken, StaffSession, StaffUser

_hasher = PasswordHasher()
# Verified when the address is unknown, so that a wrong address costs as long as a wrong password. A
# constant made once with the hasher's parameters (a test keeps them in step): hashing it at import cost
# every process, workers included, 0.3 s and a 64 MB peak of memory (argon2's memory cost).
_DUMMY_HASH = (
    "$argon2id$v=19$m=65536,t=3,p=4$gTDdoEY/7d0ctKeh+SLshg$Fu3r3e/lJ6l5Zo7kDLJRL+SC4MbHu9CG/a3/92rCQgc"
)

MIN_PASSWORD_LENGTH = 12


class AccountError(ValueError):
    """The request cannot be carried out; the message is meant for the person who made it."""


def normalize_staff_email(raw: str) -> str:
    try:
        return validate_email(raw.strip(), check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise AccountError(f"{raw!r} is not a valid e-mail address: {exc}") from None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def find_staff_user(session: Session, email: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower()))


def _role(role: StaffRole | str) -> StaffRole:
    try:
        return StaffRole(role)
    except ValueError:
        raise AccountError(
            f"unknown role {role!r}; choose one of: {', '.join(r.value for r in StaffRole)}"
        ) from None


def create_staff_user(
    session: Session, email: str, password: str, role: StaffRole | str, name: str = ""
) -> StaffUser:
    """Add a staff user. Refuses a taken address (any case), an unknown role and a short password."""
    address = normalize_staff_email(email)
    role = _role(role)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if find_staff_user(session, address) is not None:
        raise AccountError(f"a staff user with the address {address} exists already")
    user = StaffUser(email=address, password_hash=hash_password(password), role=role, name=name.strip())
    session.add(user)
    session.flush()
    audit.record(session, "staff.create", target=user, detail={"email": user.email, "role": role.value})
    return user


def authenticate_staff(session: Session, email: str, password: str) -> StaffUser | None:
    """The active user with this address and password, or None; the same work is done either way."""
    user = find_staff_user(session, email)
    stored = user.password_hash if user is not None else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def check_password(user: StaffUser, password: str) -> bool:
    """Whether ``password`` is the account's own (to confirm a change the member makes to it)."""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def set_staff_password(
    session: Session, user: StaffUser, password: str, *, keep_session: StaffSession | None = None
) -> None:
    """Change a password. Every session of the user ends (except ``keep_session``, the browser in which
    the user changed their own password) and every API token of the user is revoked: whoever held the
    old password may have made either."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    sessions.end_sessions(session, user, except_current=keep_session, reason=sessions.EndReason.PASSWORD)
    revoke_api_tokens(session, user, because=TokenRevoked.PASSWORD)
    audit.record(session, "staff.set_password", target=user, detail={"email": user.email})


def record_sign_in(user: StaffUser) -> None:
    """The moment the account was last signed into (after the second factor, where it has one)."""
    user.last_login_at = utcnow()


# -- what admins change: roles and deactivation -------------------------------------------------------


class LastAdminError(AccountError):
    """The change would leave no active admin, and nobody could manage the staff any more."""


def _lock_active_admins(session: Session) -> list[StaffUser]:
    """The active admins, their rows locked (PostgreSQL) until the caller commits: two admins demoting each
    other at once are handled one after the other, and the second sees the first's change."""
    return list(session.scalars(
        select(StaffUser).where(StaffUser.role == StaffRole.ADMIN, StaffUser.active.is_(True))
        .order_by(StaffUser.id).with_for_update()
    ))  # fmt: skip


def _refuse_losing_last_admin(session: Session, user: StaffUser) -> None:
    admins = _lock_active_admins(session)
    session.refresh(user)
    if user.active and user.role is StaffRole.ADMIN and [a.id for a in admins] == [user.id]:
        raise LastAdminError(f"{user.email} is the last active admin")


def set_staff_role(session: Session, user: StaffUser, role: StaffRole | str) -> bool:
    """Give ``user`` another role; False when it is the role they have. Refuses to demote the last active
    admin. Their API tokens are revoked: a token made for an editor's dashboard must not start reading
    the money figures (nor lose them unnoticed). Sessions go on, since every page asks for the role as it
    is now."""
    role = _role(role)
    if role is not StaffRole.ADMIN:
        _refuse_losing_last_admin(session, user)
    if user.role is role:
        return False
    before, user.role = user.role, role
    revoke_api_tokens(session, user, because=TokenRevoked.ROLE)
    audit.record(session, "staff.set_role", target=user,
                 detail={"email": user.email, "from": before.value, "to": role.value})  # fmt: skip
    return True


def deactivate_staff_user(session: Session, user: StaffUser) -> bool:
    """Lock ``user`` out at once: every session ends, every API token is revoked; the account and its
    history stay. Refuses the last active admin. False when it was deactivated already."""
    _refuse_losing_last_admin(session, user)
    if not user.active:
        return False
    user.active = False
    sessions.end_sessions(session, user, reason=sessions.EndReason.DEACTIVATED)
    revoke_api_tokens(session, user, because=TokenRevoked.DEACTIVATED)
    audit.record(session, "staff.deactivate", target=user, detail={"email": user.email})
    return True


def reactivate_staff_user(session: Session, user: StaffUser) -> bool:
    """Let the account sign in again (with its password; no old session or token comes back)."""
    if user.active:
        return False
    user.active = True
    audit.record(session, "staff.reactivate", target=user, detail={"email": user.email})
    return True


# -- API tokens for the staff JSON API ---------------------------------------------------------------

API_TOKEN_PREFIX = "btr_"  # noqa: S105  (a prefix that tells the token apart, not a secret)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_api_token(session: Session, user: StaffUser, name: str = "") -> tuple[StaffApiToken, str]:
    """A new token for ``user``: the row (which keeps only a hash) and the token itself, to be shown once.
    256 random bits, so a fast hash is enough to keep the stored form useless to a reader of the table."""
    if not user.active:
        raise AccountError(f"{user.email} is deactivated")
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = StaffApiToken(staff_user=user, name=name.strip()[:100], token_hash=_token_hash(token),
                        hint=token[: len(API_TOKEN_PREFIX) + 4])  # fmt: skip
    session.add(row)
    session.flush()
    audit.record(session, "token.create", target=row,
                 detail={"for": user.email, "name": row.name, "hint": row.hint})  # fmt: skip
    return row, token


class TokenRevoked:
    """Why a token was revoked (``StaffApiToken.revoked_because``)."""

    BY_ADMIN = "revoked"
    PASSWORD = "password"  # noqa: S105  (a reason, not a password)
    ROLE = "role"
    DEACTIVATED = "deactivated"


# A token's last use is written when the stored one is older than this: a dashboard polling every few
# seconds costs a write a minute, not one a request.
LAST_USED_EVERY = timedelta(seconds=60)


def revoke_api_token(session: Session, token_id: int) -> bool:
    """Revoke a token; False when there is no such token or it was revoked already."""
    row = session.get(StaffApiToken, token_id)
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    row.revoked_because = TokenRevoked.BY_ADMIN
    audit.record(session, "token.revoke", target=row, detail={"for": row.staff_user.email, "hint": row.hint})
    return True


def revoke_api_tokens(session: Session, user: StaffUser, because: str) -> int:
    """Revoke every token of ``user`` that still works; how many."""
    result = session.execute(
        update(StaffApiToken)
        .where(StaffApiToken.staff_user_id == user.id, StaffApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_because=because)
        .execution_options(synchronize_session="fetch")
    )
    return result.rowcount


def staff_for_api_token(session: Session, token: str) -> StaffUser | None:
    """The active user of a valid, unrevoked token, or None. Looked up by hash (a unique index), so the
    time taken says nothing about how much of a guessed token was right. Notes the token's use, at most
    once a minute (``LAST_USED_EVERY``)."""
    if not token or not token.startswith(API_TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(StaffApiToken).where(StaffApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked_at is not None or not row.staff_user.active:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_EVERY:
        row.last_used_at = now
    return row.staff_user


def api_tokens(session: Session) -> list[StaffApiToken]:
    """Every token, newest first (for the token page and ``token list``)."""
    return list(session.scalars(select(StaffApiToken).order_by(StaffApiToken.id.desc())))
