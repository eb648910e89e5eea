"""The mailed links that let someone choose a password: an admin's invitation to a new staff member and a
password reset. Both are signed (``platform.tokens``, one salt per purpose), expire, and work once:

* an invitation names its row; accepting marks the row with an UPDATE that only one request can win, and
  a revoked or superseded invitation opens nothing;
* a reset link carries a fingerprint of the account's current password hash and session version, so the
  new password (or a deactivation, or a role change) voids every reset link made before it, without a
  table.

Plain functions; the caller commits."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.platform import tokens
from newsletter.platform.access import StaffRole
from newsletter.staff import accounts
from newsletter.staff.models import StaffInvitation, StaffUser

INVITATION = "staff-invitation"
PASSWORD_RESET = "staff-password-reset"  # noqa: S105  (a token purpose, not a secret)
INVITATION_HOURS = tokens.LIFETIMES[INVITATION] // 3600
RESET_HOURS = tokens.LIFETIMES[PASSWORD_RESET] // 3600


class LinkRefused(Exception):
    """The link opens nothing; ``reason`` is ``invalid``, ``expired`` or ``used``."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _read(purpose: str, token: str):
    try:
        return tokens.read_token(purpose, token)
    except tokens.TokenError as exc:
        raise LinkRefused("expired" if exc.expired else "invalid") from None


# -- invitations ------------------------------------------------------------------------------------


def invitation_path(token: str) -> str:
    return f"/staff/invitation/{token}"


def invite(
    session: Session, email: str, role: StaffRole | str, invited_by: StaffUser
) -> tuple[StaffInvitation, str]:
    """A new invitation for ``email`` and its token; an earlier open invitation for the address stops
    working. Refuses an address that has an account already."""
    address = accounts.normalize_staff_email(email)
    role = StaffRole(role)
    if accounts.find_staff_user(session, address) is not None:
        raise accounts.AccountError(f"a staff user with the address {address} exists already")
    for earlier in open_invitations(session):
        if earlier.email.lower() == address.lower():
            earlier.revoked_at = utcnow()
    invitation = StaffInvitation(email=address, role=role, invited_by=invited_by)
    session.add(invitation)
    session.flush()
    return invitation, tokens.make_token(INVITATION, [invitation.id, address.lower()])


def open_invitations(session: Session) -> list[StaffInvitation]:
    """Invitations neither accepted nor revoked, newest first (expired ones too: the page says so)."""
    return list(session.scalars(
        select(StaffInvitation)
        .where(StaffInvitation.accepted_at.is_(None), StaffInvitation.revoked_at.is_(None))
        .order_by(StaffInvitation.id.desc())
    ))  # fmt: skip


def invitation_expired(invitation: StaffInvitation) -> bool:
    return (utcnow() - invitation.created_at).total_seconds() > tokens.LIFETIMES[INVITATION]


def invitation_for_token(session: Session, token: str) -> StaffInvitation:
    """The open invitation the link names, or :class:`LinkRefused`."""
    payload = _read(INVITATION, token)
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)):
        raise LinkRefused("invalid")
    invitation = session.get(StaffInvitation, payload[0])
    if invitation is None or invitation.email.lower() != payload[1]:
        raise LinkRefused("invalid")
    if invitation.accepted_at is not None or invitation.revoked_at is not None:
        raise LinkRefused("used")
    return invitation


def accept_invitation(session: Session, token: str, name: str, password: str) -> StaffUser:
    """Make the invited account with the chosen name and password. The invitation is marked accepted with
    an UPDATE that only one request wins; the loser gets :class:`LinkRefused` ("used")."""
    invitation = invitation_for_token(session, token)
    if len(password) < accounts.MIN_PASSWORD_LENGTH:
        raise accounts.AccountError(
            f"the password must have at least {accounts.MIN_PASSWORD_LENGTH} characters"
        )
    won = session.execute(
        update(StaffInvitation)
        .where(StaffInvitation.id == invitation.id, StaffInvitation.accepted_at.is_(None),
               StaffInvitation.revoked_at.is_(None))
        .values(accepted_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount  # fmt: skip
    if won != 1:
        raise LinkRefused("used")
    user = accounts.create_staff_user(session, invitation.email, password, invitation.role, name=name)
    session.refresh(invitation)
    invitation.staff_user_id = user.id
    return user


def revoke_invitation(session: Session, invitation_id: int) -> bool:
    invitation = session.get(StaffInvitation, invitation_id)
    if invitation is None or invitation.accepted_at is not None or invitation.revoked_at is not None:
        return False
    invitation.revoked_at = utcnow()
    return True


# -- password resets --------------------------------------------------------------------------------


def reset_path(token: str) -> str:
    return f"/staff/password/reset/{token}"


def _fingerprint(user: StaffUser) -> str:
    # A new password (the link used, or any other change) or a deactivation voids the link.
    return hashlib.sha256(f"{user.password_hash}:{user.active}".encode()).hexdigest()[:32]


def password_reset_token(user: StaffUser) -> str:
    return tokens.make_token(PASSWORD_RESET, [user.id, _fingerprint(user)])


@dataclass
class ResetLink:
    user: StaffUser
    token: str


def reset_for_token(session: Session, token: str, *, lock: bool = False) -> ResetLink:
    """The active account a reset link was made for, while its password is still the one the link was
    made with; else :class:`LinkRefused`. ``lock`` takes the account's row (PostgreSQL) so that two
    requests with one link set one password."""
    payload = _read(PASSWORD_RESET, token)
    if not (isinstance(payload, list) and len(payload) == 2 and isinstance(payload[0], int)):
        raise LinkRefused("invalid")
    query = select(StaffUser).where(StaffUser.id == payload[0])
    if lock:
        query = query.with_for_update()
    user = session.scalars(query.execution_options(populate_existing=True)).first()
    if user is None or not user.active:
        raise LinkRefused("invalid")
    if _fingerprint(user) != payload[1]:
        raise LinkRefused("used")
    return ResetLink(user, token)


def reset_password(session: Session, token: str, password: str) -> StaffUser:
    """Set the new password through a reset link; the link, and every session of the account, end."""
    link = reset_for_token(session, token, lock=True)
    accounts.set_staff_password(session, link.user, password)
    return link.user
