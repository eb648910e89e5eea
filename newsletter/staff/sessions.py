"""Staff sessions kept on the server: one row per signing-in in one browser (``StaffSession``).

The browser holds a random token, inside the signed session cookie and, with "stay signed in", inside the
remember cookie too (Flask-Login keeps ``"<user id>:<token>"`` in both, login.py). Only the token's SHA-256
is stored, so a copy of the table opens nothing. A session counts while it has not been ended and has not
run out:

- every session ends at the latest ``STAFF_REMEMBER_DAYS`` after signing in (the remember cookie's
  lifetime too);
- one without "stay signed in" also ends after ``STAFF_SESSION_IDLE_HOURS`` without a request.

Ending a session (signing out, the sessions page, "sign out everywhere", a password change, deactivation)
writes ``ended_at``; both cookies of that session are refused from then on, wherever they are replayed.

Plain functions: the caller commits. :func:`end_sessions` is the one to call when something about an
account changes that should sign it out everywhere.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import ua_parser
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, joinedload

from db import utcnow
from newsletter.staff.models import StaffSession, StaffUser

# last_seen_at is written when it is older than this (or the address or browser changed): a signed-in
# editor clicking through pages costs one write a minute, not one a request.
TOUCH_EVERY = timedelta(seconds=60)
# Ended and run-out rows are deleted this long after their end, when their user next signs in.
KEEP_ENDED = timedelta(days=90)

MAX_USER_AGENT = 400


class EndReason:
    """Why a session ended (``StaffSession.end_reason``); a plain string, so other packages may add
    their own (a second factor turned off, say) without a migration."""

    SIGNED_OUT = "signed_out"
    ENDED = "ended"  # from the sessions page
    EVERYWHERE = "everywhere"  # "sign out everywhere"
    PASSWORD = "password"  # noqa: S105  (a reason, not a password)
    DEACTIVATED = "deactivated"
    MOVED = "moved"  # a browser session was used from another address or browser (signin.py)
    TWO_FACTOR = "two_factor"  # the second factor was turned off or reset


@dataclass(frozen=True)
class Lifetimes:
    """How long sessions last: from the settings ``STAFF_REMEMBER_DAYS`` and ``STAFF_SESSION_IDLE_HOURS``."""

    remember: timedelta
    idle: timedelta

    @classmethod
    def from_config(cls, config) -> Lifetimes:
        return cls(remember=timedelta(days=config["STAFF_REMEMBER_DAYS"]),
                   idle=timedelta(hours=config["STAFF_SESSION_IDLE_HOURS"]))  # fmt: skip


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(
    session: Session, user: StaffUser, *, remembered: bool, address: str, user_agent: str,
    lifetimes: Lifetimes, now: datetime | None = None,
) -> tuple[StaffSession, str]:  # fmt: skip
    """A new session for ``user``: the row and the token the browser is to hold (shown nowhere else).
    Also deletes the user's rows that ended long ago."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = StaffSession(staff_user=user, token_hash=token_hash(token), remembered=remembered, created_at=now,
                       last_seen_at=now, address=address[:45], user_agent=_agent(user_agent))  # fmt: skip
    session.add(row)
    _forget_old_sessions(session, user, lifetimes, now)
    session.flush()
    return row, token


def _forget_old_sessions(session: Session, user: StaffUser, lifetimes: Lifetimes, now: datetime) -> None:
    long_ago = now - KEEP_ENDED
    session.execute(
        delete(StaffSession)
        .where(StaffSession.staff_user_id == user.id)
        .where(or_(StaffSession.ended_at < long_ago, StaffSession.created_at < long_ago - lifetimes.remember))
        .execution_options(synchronize_session=False)
    )


def _agent(user_agent: str | None) -> str:
    return (user_agent or "")[:MAX_USER_AGENT]


def runs_out_at(row: StaffSession, lifetimes: Lifetimes) -> datetime:
    """When the session ends by itself if nobody ends it before."""
    latest = row.created_at + lifetimes.remember
    if row.remembered:
        return latest
    return min(latest, row.last_seen_at + lifetimes.idle)


def is_live(row: StaffSession, lifetimes: Lifetimes, now: datetime | None = None) -> bool:
    return row.ended_at is None and (now or utcnow()) < runs_out_at(row, lifetimes)


def find_live_session(
    session: Session, user_id: int, token: str, lifetimes: Lifetimes, now: datetime | None = None
) -> StaffSession | None:
    """The live session of the active user ``user_id`` whose token is ``token``, with its user loaded (one
    query), or None: an unknown or ended token, one of another user, one run out, a deactivated user."""
    if not token or len(token) > 100:
        return None
    row = session.scalar(
        select(StaffSession).options(joinedload(StaffSession.staff_user))
        .where(StaffSession.token_hash == token_hash(token))
    )  # fmt: skip
    if row is None or row.staff_user_id != user_id or not row.staff_user.active:
        return None
    if not is_live(row, lifetimes, now):
        return None
    return row


def needs_touch(row: StaffSession, address: str, user_agent: str, now: datetime | None = None) -> bool:
    """Whether this request should write last seen, address and browser (see ``TOUCH_EVERY``)."""
    now = now or utcnow()
    return (
        now - row.last_seen_at >= TOUCH_EVERY
        or row.address != address[:45]
        or row.user_agent != _agent(user_agent)
    )


def touch_statement(session_id: int, address: str, user_agent: str, now: datetime | None = None):
    """The UPDATE that records a request of a live session; run on a connection of its own (login.py)."""
    return (
        update(StaffSession)
        .where(StaffSession.id == session_id, StaffSession.ended_at.is_(None))
        .values(last_seen_at=now or utcnow(), address=address[:45], user_agent=_agent(user_agent))
    )  # fmt: skip


def end_session(session: Session, row: StaffSession, reason: str, now: datetime | None = None) -> bool:
    """End one session; False when it had ended already."""
    if row.ended_at is not None:
        return False
    row.ended_at = now or utcnow()
    row.end_reason = reason
    return True


def end_statement_for_token(token: str, reason: str, now: datetime | None = None):
    """The UPDATE that ends the session whose token this is, if it has not ended."""
    return (
        update(StaffSession)
        .where(StaffSession.token_hash == token_hash(token), StaffSession.ended_at.is_(None))
        .values(ended_at=now or utcnow(), end_reason=reason)
    )


def end_sessions(
    session: Session, user: StaffUser | int, except_current: StaffSession | int | None = None,
    reason: str = EndReason.EVERYWHERE, now: datetime | None = None,
) -> int:  # fmt: skip
    """End every session of ``user`` (all browsers, remember cookies included), except ``except_current``
    when given (a row or its id: the browser in which the user asked for this). Returns how many ended.
    Call it whenever an account change should sign the account out: a new password, deactivation, a
    second factor turned off."""
    user_id = user if isinstance(user, int) else user.id
    statement = update(StaffSession).where(
        StaffSession.staff_user_id == user_id, StaffSession.ended_at.is_(None)
    )
    if except_current is not None:
        keep = except_current if isinstance(except_current, int) else except_current.id
        statement = statement.where(StaffSession.id != keep)
    statement = statement.values(ended_at=now or utcnow(), end_reason=reason)
    return session.execute(statement.execution_options(synchronize_session="fetch")).rowcount


def live_sessions(
    session: Session, user: StaffUser, lifetimes: Lifetimes, now: datetime | None = None
) -> list[StaffSession]:
    """The user's sessions that still count, the most recently used first (for the sessions page)."""
    now = now or utcnow()
    rows = session.scalars(
        select(StaffSession)
        .where(StaffSession.staff_user_id == user.id, StaffSession.ended_at.is_(None))
        .where(StaffSession.created_at > now - lifetimes.remember)
        .order_by(StaffSession.last_seen_at.desc(), StaffSession.id.desc())
    )
    return [row for row in rows if is_live(row, lifetimes, now)]


# -- what the sessions page shows of a user agent ---------------------------------------------------------

def describe_agent(user_agent: str) -> str:
    """"Firefox · Linux" for what ua-parser knows; the start of the raw string for anything else."""
    parsed = ua_parser.parse(user_agent or "")
    browser = parsed.user_agent.family if parsed.user_agent else None
    if not browser or browser == "Other":
        return (user_agent or "")[:60]
    system = parsed.os.family if parsed.os and parsed.os.family != "Other" else None
    return f"{browser} · {system}" if system else browser
