"""Staff accounts in the browser: the admins' page (invite, roles, deactivate, reset links, the newsroom's
two-factor rule), each member's own account (two-factor sign-in: set up, recovery codes, turn off), and
the pages behind the mailed links (invitation, password reset, "forgot password"). Routes of the staff
blueprint; the ones a signed-out visitor may open are marked ``open_to_everyone`` and check what they
need themselves."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from db import db
from newsletter.mail.tasks import queue_transactional_mail
from newsletter.platform import audit, queues
from newsletter.platform.access import StaffRole, open_to_everyone, requires_role
from newsletter.platform.extensions import limiter
from newsletter.platform.forms import ActionForm
from newsletter.staff import account_links, accounts, signin, two_factor
from newsletter.staff.forms import (
    AcceptInvitationForm,
    CodeForm,
    ForgotPasswordForm,
    InviteForm,
    NewPasswordForm,
    ProofForm,
    RequireTwoFactorForm,
    RoleForm,
)
from newsletter.staff.models import StaffUser
from newsletter.staff.views import bp, home_url, two_factor_key, two_factor_limit


def _secret_key() -> str:
    return current_app.config["SECRET_KEY"]


def _locale() -> str:
    return str(get_locale() or "de")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


# -- the admins' page -------------------------------------------------------------------------------


def _users_page(invite_form: InviteForm | None = None, status: int = 200):
    users = db.session.scalars(select(StaffUser).order_by(StaffUser.role, StaffUser.email)).all()
    if invite_form is None:
        invite_form = InviteForm(language=_locale())
    # Shown with the stored values, never with what an invitation's POST (re-rendered with its errors) sent.
    policy = RequireTwoFactorForm(formdata=None, require=two_factor.required_by_admins(db.session))
    role_forms = {u.id: RoleForm(formdata=None, prefix=f"u{u.id}", role=u.role.value) for u in users}
    page = render_template(
        "admin/staff_users.html", users=users, invite_form=invite_form, policy_form=policy,
        role_forms=role_forms, action_form=ActionForm(),
        invitations=account_links.open_invitations(db.session),
        invitation_expired=account_links.invitation_expired,
        forced=current_app.config.get("STAFF_REQUIRE_2FA"),
    )  # fmt: skip
    return page, status


@bp.get("/users")
@requires_role(StaffRole.ADMIN)
def staff_users():
    return _users_page()


@bp.post("/users/invite")
@requires_role(StaffRole.ADMIN)
def invite_staff():
    """Mail a signed invitation link (72 hours, once) to a new member, with the role chosen here."""
    form = InviteForm()
    if not form.validate_on_submit():
        return _users_page(form, 400)
    try:
        invitation, token = account_links.invite(db.session, form.email.data or "", form.role.data,
                                                 current_user._get_current_object())  # fmt: skip
    except accounts.AccountError:
        db.session.rollback()
        form.email.errors.append(_("This address is not valid or has an account already."))
        return _users_page(form, 400)
    audit.record(db.session, "staff.invite", target=invitation,
                 detail={"email": invitation.email, "role": invitation.role.value})  # fmt: skip
    db.session.commit()
    inviter = current_user.name or current_user.email
    queue_transactional_mail("staff_invitation", invitation.email, {
        "invitation_url": current_app.config["BASE_URL"] + account_links.invitation_path(token),
        "role": invitation.role.value, "inviter": inviter, "hours": account_links.INVITATION_HOURS,
    }, locale=form.language.data or "de")  # fmt: skip
    flash(_("The invitation to %(address)s is on its way. Its link is valid for %(hours)s hours.",
            address=invitation.email, hours=account_links.INVITATION_HOURS), "success")  # fmt: skip
    return redirect(url_for("staff.staff_users"))


@bp.post("/invitations/<int:invitation_id>/revoke")
@requires_role(StaffRole.ADMIN)
def revoke_invitation(invitation_id: int):
    if ActionForm().validate_on_submit() and account_links.revoke_invitation(db.session, invitation_id):
        audit.record(db.session, "staff.invite_withdraw", target=("invitation", invitation_id))
        db.session.commit()
        flash(_("The invitation was withdrawn; its link opens nothing any more."), "success")
    return redirect(url_for("staff.staff_users"))


def _member(user_id: int) -> StaffUser:
    return db.get_or_404(StaffUser, user_id)


def _last_admin_refusal(user: StaffUser):
    db.session.rollback()
    flash(_("%(address)s is the last active admin. Make another member admin first; otherwise nobody could "
            "manage the staff accounts.", address=user.email), "error")  # fmt: skip
    return redirect(url_for("staff.staff_users"))


@bp.post("/users/<int:user_id>/role")
@requires_role(StaffRole.ADMIN)
def change_staff_role(user_id: int):
    """A new role holds at the member's next request (every page asks for the role as it is now); the
    account's API tokens are revoked."""
    user = _member(user_id)
    form = RoleForm(prefix=f"u{user_id}")
    if not form.validate_on_submit():
        abort(400)
    try:
        changed = accounts.set_staff_role(db.session, user, form.role.data)
    except accounts.LastAdminError:
        return _last_admin_refusal(user)
    db.session.commit()
    if changed:
        role = _("Admin") if user.role is StaffRole.ADMIN else _("Editor")
        flash(_("%(address)s is now %(role)s; the account's API tokens are revoked.", address=user.email,
                role=role), "success")  # fmt: skip
    return redirect(url_for("staff.staff_users"))


@bp.post("/users/<int:user_id>/deactivate")
@requires_role(StaffRole.ADMIN)
def deactivate_staff(user_id: int):
    user = _member(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        changed = accounts.deactivate_staff_user(db.session, user)
    except accounts.LastAdminError:
        return _last_admin_refusal(user)
    db.session.commit()
    if changed:
        flash(_("%(address)s is deactivated and signed out everywhere.", address=user.email), "success")
    return redirect(url_for("staff.staff_users"))


@bp.post("/users/<int:user_id>/reactivate")
@requires_role(StaffRole.ADMIN)
def reactivate_staff(user_id: int):
    user = _member(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if accounts.reactivate_staff_user(db.session, user):
        db.session.commit()
        flash(_("%(address)s can sign in again.", address=user.email), "success")
    return redirect(url_for("staff.staff_users"))


@bp.post("/users/<int:user_id>/password-reset")
@requires_role(StaffRole.ADMIN)
def send_password_reset(user_id: int):
    """Mail the member a link to choose a new password (2 hours, once); the current one stays until then."""
    user = _member(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not user.active:
        flash(_("%(address)s is deactivated; reactivate the account first.", address=user.email), "error")
        return redirect(url_for("staff.staff_users"))
    audit.record(db.session, "staff.password_link", target=user, detail={"email": user.email})
    db.session.commit()
    queues.enqueue(queues.STAFF_PASSWORD_RESET, user.email, _locale())
    flash(_("A link to choose a new password is on its way to %(address)s.", address=user.email), "success")
    return redirect(url_for("staff.staff_users"))


@bp.post("/users/two-factor")
@requires_role(StaffRole.ADMIN)
def require_two_factor():
    """The newsroom's rule. Turning it on asks the admin to have a second factor first: the rule would end
    their own session otherwise."""
    form = RequireTwoFactorForm()
    if not form.validate_on_submit():
        abort(400)
    on = bool(form.require.data)
    if on and not current_user.two_factor_enabled:
        flash(_("Set up two-factor sign-in for your own account first."), "error")
        return redirect(url_for("staff.staff_users"))
    two_factor.set_required(db.session, on)
    audit.record(db.session, "settings.require_2fa", detail={"on": on})
    db.session.commit()
    if on:
        flash(_("From now on every staff member signs in with a second factor. Whoever has none yet sets it "
                "up at the next sign-in."), "success")  # fmt: skip
    else:
        flash(_("Two-factor sign-in is now each member's own choice."), "success")
    return redirect(url_for("staff.staff_users"))


# -- one's own account ------------------------------------------------------------------------------


@bp.get("/account")
def account():
    user = current_user._get_current_object()
    left = two_factor.recovery_codes_left(db.session, user) if user.two_factor_enabled else 0
    return render_template("admin/account.html", user=user, codes_left=left, proof_form=ProofForm(),
                           required=two_factor.required(db.session, current_app.config))  # fmt: skip


@bp.route("/account/two-factor", methods=["GET", "POST"])
@open_to_everyone
@limiter.limit(two_factor_limit, key_func=two_factor_key, methods=["POST"])
def two_factor_setup():
    """Set up the authenticator app: scan the QR code (or type the key), confirm with a code, note the
    recovery codes. Open to a signed-in member, and to one whose password was right where the newsroom
    requires two-factor sign-in: that one is signed in only when this is done."""
    signed_in = current_user.is_authenticated
    user = current_user._get_current_object() if signed_in else signin.pending_user(signin.SETUP)
    if user is None:
        flash(_("Please sign in to see this page."), "info")
        return redirect(url_for("staff.login"))
    if user.two_factor_enabled:
        return redirect(url_for("staff.account"))
    secret = two_factor.start_setup(db.session, user, _secret_key())
    db.session.commit()
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        codes = two_factor.confirm_setup(db.session, user, form.code.data or "", _secret_key())
        if codes is not None:
            audit.record(db.session, "staff.2fa_on", actor=user, target=user)
            if signed_in:
                db.session.commit()
                onward = url_for("staff.account")
            else:
                onward = signin.pending_target() or home_url()
                signin.finish(user)
            return render_template("admin/recovery_codes.html", codes=codes, onward=onward, new_setup=True)
        db.session.rollback()
        flash(_("This code is not right. Check the time on your phone and try the next code."), "error")
        status = 401
    issuer = current_app.config["NEWSROOM_NAME"]
    uri = two_factor.provisioning_uri(secret, user.email, issuer)
    return render_template(
        "admin/two_factor_setup.html", form=form, qr=two_factor.qr_code_data_uri(uri),
        secret=two_factor.grouped(secret), signed_in=signed_in,
        required=two_factor.required(db.session, current_app.config),
    ), status  # fmt: skip


def _proof_accepted(user: StaffUser, proof: str) -> bool:
    """The member's password, a current code of the app or an unused recovery code (which is then used)."""
    if two_factor.looks_like_code(proof):
        result = two_factor.verify_code(db.session, user, proof, _secret_key())
        return result in (two_factor.CodeResult.ACCEPTED, two_factor.CodeResult.RECOVERY)
    return accounts.check_password(user, proof)


@bp.post("/account/recovery-codes")
@limiter.limit(two_factor_limit, key_func=two_factor_key)
def new_recovery_codes():
    user = current_user._get_current_object()
    form = ProofForm()
    if not user.two_factor_enabled or not form.validate_on_submit():
        return redirect(url_for("staff.account"))
    if not _proof_accepted(user, form.proof.data or ""):
        db.session.rollback()
        flash(_("That is neither your password nor a current code."), "error")
        return redirect(url_for("staff.account"))
    codes = two_factor.make_recovery_codes(db.session, user, _secret_key())
    audit.record(db.session, "staff.recovery_codes", target=user)
    db.session.commit()
    return render_template("admin/recovery_codes.html", codes=codes, onward=url_for("staff.account"),
                           new_setup=False)  # fmt: skip


@bp.post("/account/two-factor/off")
@limiter.limit(two_factor_limit, key_func=two_factor_key)
def two_factor_off():
    user = current_user._get_current_object()
    form = ProofForm()
    if not user.two_factor_enabled or not form.validate_on_submit():
        return redirect(url_for("staff.account"))
    if two_factor.required(db.session, current_app.config):
        flash(_("Two-factor sign-in is required in this newsroom; it cannot be turned off."), "error")
        return redirect(url_for("staff.account"))
    if not _proof_accepted(user, form.proof.data or ""):
        db.session.rollback()
        flash(_("That is neither your password nor a current code."), "error")
        return redirect(url_for("staff.account"))
    two_factor.turn_off(db.session, user)
    audit.record(db.session, "staff.2fa_off", target=user)
    db.session.commit()
    flash(_("Two-factor sign-in is off. Your password alone signs you in."), "success")
    return redirect(url_for("staff.account"))


# -- the pages behind mailed links ------------------------------------------------------------------


def _link_refused(reason: str, kind: str):
    """A clear page for a link that opens nothing, with the way on."""
    hours = account_links.INVITATION_HOURS if kind == "invitation" else account_links.RESET_HOURS
    page = render_template("admin/link_refused.html", reason=reason, kind=kind, hours=hours)
    return _no_referrer((page, 400 if reason == "invalid" else 410))


def _no_referrer(response):
    """The address holds the token: no other page, not even ours, learns it from a Referer header."""
    response = current_app.make_response(response)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _forgot_address_key() -> str:
    return "forgot-address:" + (request.form.get("email") or "").strip().lower()[:320]


@bp.route("/password/forgot", methods=["GET", "POST"])
@open_to_everyone
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit("5 per hour", key_func=_forgot_address_key, methods=["POST"])
def forgot_password():
    """The same answer, as fast, for every address: the worker looks the address up and mails a link only
    to an active account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        queues.enqueue(queues.STAFF_PASSWORD_RESET, (form.email.data or "").strip(), _locale())
        return render_template("admin/forgot_password.html", form=None, hours=account_links.RESET_HOURS)
    status = 400 if request.method == "POST" else 200
    return render_template("admin/forgot_password.html", form=form, hours=account_links.RESET_HOURS), status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@open_to_everyone
@limiter.limit(_login_limit, methods=["POST"])
def reset_password(token: str):
    try:
        link = account_links.reset_for_token(db.session, token)
    except account_links.LinkRefused as exc:
        return _link_refused(exc.reason, "reset")
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            account_links.reset_password(db.session, token, form.password.data or "")
        except account_links.LinkRefused as exc:
            db.session.rollback()
            return _link_refused(exc.reason, "reset")
        db.session.commit()
        signin.forget()
        signin.sign_out()
        flash(_("Your new password is set. Please sign in with it."), "success")
        return redirect(url_for("staff.login"))
    status = 400 if request.method == "POST" else 200
    page = render_template("admin/set_password.html", form=form, email=link.user.email, invitation=None)
    return _no_referrer((page, status))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@open_to_everyone
@limiter.limit(_login_limit, methods=["POST"])
def accept_invitation(token: str):
    """Opening the link changes nothing (mail scanners open links); the form makes the account. Then the
    member sets up two-factor sign-in: required, or offered."""
    try:
        invitation = account_links.invitation_for_token(db.session, token)
    except account_links.LinkRefused as exc:
        return _link_refused(exc.reason, "invitation")
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        try:
            user = account_links.accept_invitation(db.session, token, form.name.data or "",
                                                   form.password.data or "")  # fmt: skip
        except account_links.LinkRefused as exc:
            db.session.rollback()
            return _link_refused(exc.reason, "invitation")
        except accounts.AccountError:
            db.session.rollback()
            return _link_refused("used", "invitation")
        audit.record(db.session, "staff.join", actor=user, target=user, detail={"email": user.email})
        db.session.commit()
        signin.sign_out()  # whoever was signed in in this browser before
        if two_factor.required(db.session, current_app.config):
            return signin.after_password(user, remember=False, target=home_url())
        signin.finish(user, remember=False)
        flash(_("Welcome, %(name)s. Your account is ready.", name=user.name), "success")
        return redirect(url_for("staff.two_factor_setup"))
    status = 400 if request.method == "POST" else 200
    page = render_template("admin/set_password.html", form=form, email=invitation.email,
                           invitation=invitation)  # fmt: skip
    return _no_referrer((page, status))
