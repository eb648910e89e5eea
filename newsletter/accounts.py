"""Staff accounts: creating them, checking passwords, signing in. Plain functions; the caller commits."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import utcnow

from .models import StaffRole, StaffUser

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


def create_staff_user(
    session: Session, email: str, password: str, role: StaffRole | str, name: str = ""
) -> StaffUser:
    """Add a staff user. Refuses a taken address (any case), an unknown role and a short password."""
    address = normalize_staff_email(email)
    try:
        role = StaffRole(role)
    except ValueError:
        raise AccountError(
            f"unknown role {role!r}; choose one of: {', '.join(r.value for r in StaffRole)}"
        ) from None
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if find_staff_user(session, address) is not None:
        raise AccountError(f"a staff user with the address {address} exists already")
    user = StaffUser(email=address, password_hash=hash_password(password), role=role, name=name.strip())
    session.add(user)
    session.flush()
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
    user.last_login_at = utcnow()
    return user


def set_staff_password(session: Session, user: StaffUser, password: str) -> None:
    """Change a password; every existing session of the user ends."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    user.session_version += 1


def load_staff_user(session: Session, user_id: str) -> StaffUser | None:
    """Flask-Login's loader: ``"<id>:<session_version>"``; a stale version is no session."""
    ident, _, version = user_id.partition(":")
    if not ident.isdigit() or not version.isdigit():
        return None
    user = session.get(StaffUser, int(ident))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user
