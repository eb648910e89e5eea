"""A browser signed in on a staff session: Flask-Login's user loader, signing in and out, and what a
request of a signed-in browser writes.

Flask-Login keeps ``StaffUser.get_id()``, ``"<user id>:<session token>"``, in the signed session cookie
and in the remember cookie; the loader accepts it only while that session lives (sessions.py). So ending
the session's row ends both cookies, wherever they are replayed from.

Flask-Login's "strong" protection stays on for browser sessions: a session cookie used from another
address or browser is dropped, and the session it named ends (``EndReason.MOVED``). A remembered session
is marked permanent instead, so that it survives a change of network: its remember cookie would open it
from anywhere anyway, and the sessions page shows where it was last used.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import Flask, current_app, g, request
from flask import session as cookie_session
from flask_login import (
    current_user,
    login_user,
    logout_user,
    session_protected,
    user_accessed,
    user_loaded_from_cookie,
)
from sqlalchemy.exc import SQLAlchemyError

from db import db, utcnow
from newsletter.staff import sessions
from newsletter.staff.models import StaffSession, StaffUser

log = logging.getLogger(__name__)


def lifetimes() -> sessions.Lifetimes:
    return sessions.Lifetimes.from_config(current_app.config)


def _client() -> tuple[str, str]:
    return (request.remote_addr or "unknown")[:45], request.headers.get("User-Agent", "")


def _parse(user_id: str) -> tuple[int, str] | None:
    ident, _, token = (user_id or "").partition(":")
    if not ident.isdigit() or not token:
        return None
    return int(ident), token


def load_user(user_id: str) -> StaffUser | None:
    """Flask-Login's user loader: the user of a live session, else None (signed out)."""
    parsed = _parse(user_id)
    if parsed is None:
        return None
    row = sessions.find_live_session(db.session, parsed[0], parsed[1], lifetimes())
    if row is None:
        return None
    address, agent = _client()
    if sessions.needs_touch(row, address, agent):
        g.staff_session_touch = row.id
    g.staff_session = row
    row.staff_user.session_token = parsed[1]
    return row.staff_user


def current_session() -> StaffSession | None:
    """The session this request runs in, or None when signed out."""
    if not current_user.is_authenticated:
        return None
    return g.get("staff_session")


def sign_in(user: StaffUser, *, remember: bool) -> StaffSession:
    """Sign this browser in as ``user``, who has just proved who they are, on a new session. Commits."""
    address, agent = _client()
    row, token = sessions.start_session(
        db.session, user, remembered=remember, address=address, user_agent=agent, lifetimes=lifetimes()
    )
    db.session.commit()
    user.session_token = token
    login_user(user, remember=remember, duration=timedelta(days=current_app.config["STAFF_REMEMBER_DAYS"]))
    cookie_session.permanent = remember
    g.staff_session = row
    return row


def sign_out(reason: str = sessions.EndReason.SIGNED_OUT) -> None:
    """End this browser's session (its remember cookie with it) and sign it out. Commits."""
    row = current_session()
    if row is not None and sessions.end_session(db.session, row, reason):
        db.session.commit()
    g.pop("staff_session_touch", None)
    logout_user()


def _claimed(sender, **_extra) -> None:
    # Sent before Flask-Login checks the session's address and browser, while the session still names
    # its staff session: if the check drops it, _protection_failed ends that staff session.
    g.staff_session_claim = cookie_session.get("_user_id")


def _protection_failed(sender, **_extra) -> None:
    # Also sent for permanent (remembered) sessions, which Flask-Login keeps: only a dropped one ends.
    claim = _parse(g.pop("staff_session_claim", None) or "")
    if claim is not None and "_user_id" not in cookie_session:
        g.staff_session_moved = claim[1]


def _loaded_from_cookie(sender, **_extra) -> None:
    # Only remembered sessions have a remember cookie. Without this, the new browser session the cookie
    # opened has no address mark, and strong protection would drop it on its next request.
    cookie_session.permanent = True


def _record(response):
    """After the view: write last seen (at most once a minute) and end a session dropped for a move, on
    a connection of its own, so that neither waits for nor joins the view's transaction."""
    touch = g.pop("staff_session_touch", None)
    moved = g.pop("staff_session_moved", None)
    if (touch is None and moved is None) or response.status_code >= 500:
        return response
    address, agent = _client()
    try:
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            now = utcnow()
            if moved is not None:
                connection.execute(sessions.end_statement_for_token(moved, sessions.EndReason.MOVED, now))
            if touch is not None:
                connection.execute(sessions.touch_statement(touch, address, agent, now))
    except SQLAlchemyError as exc:  # last seen is a convenience; the answer goes out regardless
        log.warning("could not record a staff session's use: %s", exc)
    return response


def init_app(app: Flask) -> None:
    user_accessed.connect(_claimed, app)
    session_protected.connect(_protection_failed, app)
    user_loaded_from_cookie.connect(_loaded_from_cookie, app)
    app.after_request(_record)
