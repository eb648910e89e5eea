"""A browser signed in on a staff session: Flask-Login's user loader, signing in (in steps: the password,
then the second factor or, where the newsroom requires two-factor sign-in and the account has none yet,
its set-up) and out, and what a request of a signed-in browser writes.

Flask-Login keeps ``StaffUser.get_id()``, ``"<user id>:<session token>"``, in the signed session cookie
and in the remember cookie; the loader accepts it only while that session lives (sessions.py). So ending
the session's row ends both cookies, wherever they are replayed from.

Flask-Login's "strong" protection stays on for browser sessions: a session cookie used from another
address or browser is dropped, and the session it named ends (``EndReason.MOVED``). A remembered session
is marked permanent instead, so that it survives a change of network: its remember cookie would open it
from anywhere anyway, and the sessions page shows where it was last used.

Between the password and the second factor the cookie session holds only a note of whose password was
right: Flask-Login knows nobody, so every staff page still sends the visitor to the login. The note names
the account and a fingerprint of its password (a password change meanwhile voids it; so does
deactivation) and lapses after ten minutes.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import timedelta

from flask import Flask, current_app, g, redirect, request, url_for
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
from newsletter.platform import audit, extensions
from newsletter.staff import accounts, sessions, two_factor
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
    if not row.staff_user.two_factor_enabled and two_factor.required(db.session, current_app.config):
        # The newsroom requires a second factor this account has not set up: no page opens until it signs
        # in again and sets one up.
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


_PENDING = "staff_pending_sign_in"
PENDING_SECONDS = 600
CODE = "code"  # the password was right; the code of the app or a recovery code comes next
SETUP = "setup"  # the password was right; the newsroom requires two-factor sign-in, which is set up next


def after_password(user: StaffUser, *, remember: bool, target: str):
    """The answer once ``user``'s password was right: the code step, the required set-up, or signed in."""
    if user.two_factor_enabled:
        _note(user, CODE, remember, target)
        return redirect(url_for("staff.login_code"))
    if two_factor.required(db.session, current_app.config):
        _note(user, SETUP, remember, target)
        return redirect(url_for("staff.two_factor_setup"))
    finish(user, remember=remember)
    return redirect(target)


def _fingerprint(user: StaffUser) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def _note(user: StaffUser, step: str, remember: bool, target: str) -> None:
    cookie_session[_PENDING] = {
        "user": user.id, "password": _fingerprint(user), "step": step, "remember": bool(remember),
        "next": target, "at": int(time.time()),
    }  # fmt: skip


def pending_user(step: str) -> StaffUser | None:
    """The account whose password was right, while its note is fresh and names ``step``."""
    note = cookie_session.get(_PENDING)
    if not isinstance(note, dict) or note.get("step") != step:
        return None
    if not 0 <= time.time() - int(note.get("at", 0)) <= PENDING_SECONDS:
        cookie_session.pop(_PENDING, None)
        return None
    user = db.session.get(StaffUser, note.get("user"))
    if user is None or not user.active or _fingerprint(user) != note.get("password"):
        cookie_session.pop(_PENDING, None)
        return None
    return user


def pending_target() -> str | None:
    note = cookie_session.get(_PENDING)
    return note.get("next") if isinstance(note, dict) else None


def pending_user_id() -> int | None:
    note = cookie_session.get(_PENDING)
    return note.get("user") if isinstance(note, dict) else None


def finish(user: StaffUser, *, remember: bool | None = None) -> StaffSession:
    """Sign ``user`` in for real, on a new session. Commits: the time of the sign-in, its audit entry and
    what the caller changed before (a code used up), so that nothing of it is lost if the answer fails."""
    note = cookie_session.pop(_PENDING, None)
    if remember is None:
        remember = bool(note.get("remember")) if isinstance(note, dict) else False
    accounts.record_sign_in(user)
    audit.record(db.session, "staff.sign_in", actor=user, target=user)
    return sign_in(user, remember=remember)


def forget() -> None:
    cookie_session.pop(_PENDING, None)


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
    with extensions.sparing_lean_endpoints(app):  # the sign-up forms sign nobody in
        app.after_request(_record)
