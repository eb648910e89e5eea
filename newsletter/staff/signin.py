"""Signing in, in steps: the password, then the second factor (or, where the newsroom requires two-factor
sign-in and the account has none yet, its set-up).

Between the steps the session holds only a note of whose password was right: Flask-Login knows nobody, so
every staff page still sends the visitor to the login. The note names the account and its session
version (a password change or deactivation meanwhile voids it) and lapses after ten minutes."""

from __future__ import annotations

import time

from flask import current_app, redirect, session, url_for
from flask_login import login_user

from db import db
from newsletter.staff import accounts, two_factor
from newsletter.staff.models import StaffUser

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


def _note(user: StaffUser, step: str, remember: bool, target: str) -> None:
    session[_PENDING] = {"user": user.id, "version": user.session_version, "step": step,
                         "remember": bool(remember), "next": target, "at": int(time.time())}  # fmt: skip


def pending_user(step: str) -> StaffUser | None:
    """The account whose password was right, while its note is fresh and names ``step``."""
    note = session.get(_PENDING)
    if not isinstance(note, dict) or note.get("step") != step:
        return None
    if not 0 <= time.time() - int(note.get("at", 0)) <= PENDING_SECONDS:
        session.pop(_PENDING, None)
        return None
    user = db.session.get(StaffUser, note.get("user"))
    if user is None or not user.active or user.session_version != note.get("version"):
        session.pop(_PENDING, None)
        return None
    return user


def pending_target() -> str | None:
    note = session.get(_PENDING)
    return note.get("next") if isinstance(note, dict) else None


def pending_user_id() -> int | None:
    note = session.get(_PENDING)
    return note.get("user") if isinstance(note, dict) else None


def finish(user: StaffUser, *, remember: bool | None = None) -> None:
    """Sign ``user`` in for real. Commits: the time of the sign-in and what the caller changed before
    (a code used up), so that nothing of it is lost if the answer fails later."""
    note = session.pop(_PENDING, None)
    if remember is None:
        remember = bool(note.get("remember")) if isinstance(note, dict) else False
    accounts.record_sign_in(user)
    db.session.commit()
    login_user(user, remember=remember)


def forget() -> None:
    session.pop(_PENDING, None)
