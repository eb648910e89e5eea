"""Staff pages of the staff package: sign in (password, then the second factor) and out, one's own
sessions, API tokens, the test message, and (in development) the captured mail. The staff accounts, one's
own account and the mailed links are in ``account_views``."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from db import db
from newsletter.mail import capture
from newsletter.mail.tasks import queue_transactional_mail
from newsletter.platform import audit
from newsletter.platform.access import StaffRole, guard_blueprint, open_to_everyone, requires_role
from newsletter.platform.extensions import limiter
from newsletter.platform.forms import ActionForm
from newsletter.platform.headers import sandboxed_html
from newsletter.staff import accounts, sessions, signin, signin_limits, two_factor
from newsletter.staff.accounts import authenticate_staff
from newsletter.staff.forms import ApiTokenForm, CodeForm, LoginForm
from newsletter.staff.models import StaffSession, StaffUser

bp = Blueprint("staff", __name__, url_prefix="/staff")
guard_blueprint(bp, StaffRole.EDITOR)
_HOME = "beitrag.staff_home"


def set_home(app, endpoint: str) -> None:
    """The page staff land on after signing in (the statistics package registers its overview)."""
    app.extensions[_HOME] = endpoint


def home_url() -> str:
    return url_for(current_app.extensions.get(_HOME, "staff.api_tokens"))


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def two_factor_limit() -> str:
    return current_app.config["TWO_FACTOR_RATE_LIMIT"]


def two_factor_key() -> str:
    """Codes are limited per account (the signed-in one, or the one half signed in), wherever they come
    from: a guesser who knows the password gains nothing by changing address."""
    user_id = current_user.id if current_user.is_authenticated else signin.pending_user_id()
    return f"two-factor:{user_id}"


def _safe_next(target: str | None) -> str:
    """Only paths on this site: no scheme, no host, no protocol-relative ``//evil``."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return home_url()


@bp.route("/login", methods=["GET", "POST"])
@open_to_everyone
def login():
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm()
    if form.validate_on_submit():
        address = form.email.data or ""
        client = signin_limits.client_of(request.remote_addr)
        limits = signin_limits.limits_of()
        refusal = limits.attempt(address, client) if limits is not None else None
        if refusal is not None:
            # Refused before any password is checked, the same way for every address typed.
            flash(_("Too many attempts. Please try again in %(minutes)s min.",
                    minutes=math.ceil(refusal.retry_after / 60)), "error")  # fmt: skip
            page = render_template("admin/login.html", form=form)
            return page, 429, {"Retry-After": str(refusal.retry_after)}
        user = authenticate_staff(db.session, address, form.password.data or "")
        if user is not None:
            if limits is not None:
                limits.succeeded(address, client)
            db.session.commit()
            target = _safe_next(request.args.get("next"))
            return signin.after_password(user, remember=bool(form.remember.data), target=target)
        db.session.rollback()
        # Each failed attempt is one entry (the rate limits bound how many a client makes). It names the
        # account when the address is one, and never keeps what was typed: that may be a password typed
        # into the wrong field.
        tried = accounts.find_staff_user(db.session, form.email.data or "")
        audit.record(db.session, "staff.sign_in_failed", target=tried)
        db.session.commit()
        # One message for an unknown address and a wrong password: nobody learns who has an account.
        flash(_("The e-mail address or the password is not right."), "error")
        return render_template("admin/login.html", form=form), 401
    return render_template("admin/login.html", form=form)


@bp.route("/login/code", methods=["GET", "POST"])
@open_to_everyone
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(two_factor_limit, key_func=two_factor_key, methods=["POST"])
def login_code():
    """The second step: a code of the authenticator app or a recovery code. Open only to a session whose
    password was right a moment ago; no staff page opens before this step is done."""
    user = signin.pending_user(signin.CODE)
    if user is None:
        flash(_("Please sign in again."), "info")
        return redirect(url_for("staff.login"))
    form = CodeForm()
    if form.validate_on_submit():
        secret_key = current_app.config["SECRET_KEY"]
        result = two_factor.verify_code(db.session, user, form.code.data or "", secret_key)
        if result in (two_factor.CodeResult.ACCEPTED, two_factor.CodeResult.RECOVERY):
            target = signin.pending_target() or home_url()
            signin.finish(user)
            if result is two_factor.CodeResult.RECOVERY:
                left = two_factor.recovery_codes_left(db.session, user)
                flash(_("You signed in with a recovery code; %(count)s are left. Make new ones on your "
                        "account page if you lost your authenticator app.", count=left), "info")  # fmt: skip
            return redirect(_safe_next(target))
        db.session.rollback()
        if result is two_factor.CodeResult.REPLAYED:
            flash(_("This code was used already. Please wait for the next code of your app."), "error")
        else:
            flash(_("This code is not right. Please try again."), "error")
        return render_template("admin/login_code.html", form=form), 401
    return render_template("admin/login_code.html", form=form)


@bp.post("/logout")
@open_to_everyone
def logout():
    form = ActionForm()
    if form.validate_on_submit():
        signin.forget()
        signin.sign_out()
        flash(_("You are signed out."), "info")
    return redirect(url_for("staff.login"))


@bp.get("/sessions")
def own_sessions():
    """The signed-in member's own sessions: where and in which browser each was last used; any of them
    can be ended here, or all at once."""
    current = signin.current_session()
    rows = sessions.live_sessions(db.session, current_user, signin.lifetimes())
    rows.sort(key=lambda row: current is None or row.id != current.id)  # this browser first
    return render_template("admin/sessions.html", rows=rows, current_id=current.id if current else None,
                           lifetimes=signin.lifetimes(), runs_out_at=sessions.runs_out_at,
                           describe_agent=sessions.describe_agent, action_form=ActionForm())  # fmt: skip


@bp.post("/sessions/<int:session_id>/end")
def end_session(session_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    row = db.session.get(StaffSession, session_id)
    if row is None or row.staff_user_id != current_user.id:
        abort(404)  # someone else's session: as if there were none
    current = signin.current_session()
    if current is not None and current.id == row.id:
        signin.sign_out(sessions.EndReason.ENDED)
        flash(_("You are signed out."), "info")
        return redirect(url_for("staff.login"))
    if sessions.end_session(db.session, row, sessions.EndReason.ENDED):
        audit.record(db.session, "staff.end_session", target=current_user._get_current_object(),
                     detail={"session": row.id})  # fmt: skip
        db.session.commit()
        flash(_("The session is ended: that browser is signed out."), "success")
    return redirect(url_for("staff.own_sessions"))


@bp.post("/sessions/end-all")
def end_all_sessions():
    """Sign out everywhere: every session of the account, this one included, and every remember cookie."""
    if not ActionForm().validate_on_submit():
        abort(400)
    sessions.end_sessions(db.session, current_user, reason=sessions.EndReason.EVERYWHERE)
    audit.record(db.session, "staff.sign_out_everywhere", target=current_user._get_current_object())
    db.session.commit()
    signin.sign_out(sessions.EndReason.EVERYWHERE)
    flash(_("You are signed out everywhere."), "info")
    return redirect(url_for("staff.login"))


@bp.route("/tokens", methods=["GET", "POST"])
@requires_role(StaffRole.ADMIN)
def api_tokens():
    """Staff API tokens: made here by an admin (shown once, on this answer only), listed, revoked."""
    form = ApiTokenForm()
    users = db.session.scalars(
        select(StaffUser).where(StaffUser.active.is_(True)).order_by(StaffUser.email)
    ).all()
    form.staff_user_id.choices = [(u.id, f"{u.email} ({u.role.value})") for u in users]
    made = None
    if form.validate_on_submit():
        user = db.session.get(StaffUser, form.staff_user_id.data)
        row, token = accounts.create_api_token(db.session, user, form.name.data or "")
        db.session.commit()
        made = {"token": token, "row": row}
    return render_template("admin/api_tokens.html", form=form, made=made, revoke_form=ActionForm(),
                           tokens=accounts.api_tokens(db.session),
                           revoked_because=_revoked_because())  # fmt: skip


def _revoked_because() -> dict[str, str]:
    why = accounts.TokenRevoked
    return {why.PASSWORD: _("revoked: new password"), why.ROLE: _("revoked: new role"),
            why.DEACTIVATED: _("revoked: account deactivated")}  # fmt: skip


@bp.post("/tokens/<int:token_id>/revoke")
@requires_role(StaffRole.ADMIN)
def revoke_api_token(token_id: int):
    if ActionForm().validate_on_submit() and accounts.revoke_api_token(db.session, token_id):
        db.session.commit()
        flash(_("The token was revoked; it no longer opens the API."), "success")
    return redirect(url_for("staff.api_tokens"))


@bp.post("/test-mail")
def send_test_mail():
    """Queue a test message to the signed-in staff member: proves queue, worker and relay work together."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    queue_transactional_mail("test_message", current_user.email, {}, locale=str(get_locale() or "de"))
    flash(_("A test message to %(address)s is on its way.", address=current_user.email), "success")
    return redirect(home_url())


def _capture_dir() -> str:
    if not current_app.config.get("MAIL_CAPTURE_VIEWER"):
        abort(404)
    return current_app.config["MAIL_CAPTURE_DIR"]


MAIL_PER_PAGE = 50


@bp.get("/dev/mail")
def captured_mail():
    query = (request.args.get("q") or "").strip()[: capture.MAX_QUERY]
    page = request.args.get("page", default=1, type=int) or 1
    found = capture.find_messages(_capture_dir(), query, page=page, per_page=MAIL_PER_PAGE)
    return render_template("admin/mail_index.html", found=found, query=query)


@bp.get("/dev/mail/<name>")
def captured_message(name: str):
    message = capture.read_message(_capture_dir(), name)
    if message is None:
        abort(404)
    return render_template(
        "admin/mail_show.html", message=message, text_html=capture.text_with_links(message.text or "")
    )


@bp.get("/dev/mail/<name>/html")
def captured_message_html(name: str):
    """The HTML part alone, shown in a sandboxed iframe of the message page."""
    message = capture.read_message(_capture_dir(), name)
    if message is None or message.html is None:
        abort(404)
    return sandboxed_html(capture.html_for_frame(message.html), links_open=True)


@bp.app_context_processor
def _staff_context():
    # formdata=None: the sign-out button takes nothing from the request, so pages that answer a refused
    # body (413) do not read that body again.
    return {"logout_form": ActionForm(formdata=None) if current_user.is_authenticated else None}
