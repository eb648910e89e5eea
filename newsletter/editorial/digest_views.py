"""Staff pages of automatic digests (``editorial.digests``): the list with each digest's coming runs,
which an editor may skip or hold, and the form of a digest. Editors and admins; thin views."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from db import db, utcnow
from newsletter.editorial import digests
from newsletter.editorial.forms import DigestForm
from newsletter.editorial.models import Digest, Feed
from newsletter.platform.access import StaffRole, guard_blueprint
from newsletter.platform.forms import ActionForm
from newsletter.platform.i18n import newsroom_zone
from newsletter.readers.models import Newsletter

bp = Blueprint("digests_staff", __name__, url_prefix="/staff/digests")
guard_blueprint(bp, StaffRole.EDITOR)

NOT_SAVED = _l("The digest was not saved: %(reason)s")
NOT_CHANGED = _l("The run was not changed: %(reason)s")
DONE = {
    digests.SKIP: _l("The run is skipped: no issue is built for it."),
    digests.HOLD: _l("The run is held: its issue is built as a draft for the editors, not sent."),
    "release": _l("The run takes place as the digest says."),
}


def _choices(form: DigestForm) -> None:
    form.newsletter.choices = [
        SelectChoice(n.id, n.name)
        for n in db.session.scalars(select(Newsletter).order_by(Newsletter.position, Newsletter.id))
    ]
    form.feeds.choices = [SelectChoice(digests.OWN_ARTICLES, _("The newsroom's own articles"))] + [
        SelectChoice(f.id, f.title or f.url) for f in db.session.scalars(select(Feed).order_by(Feed.id))
    ]


def _input(form: DigestForm) -> digests.DigestInput:
    return digests.DigestInput(
        newsletter_id=form.newsletter.data or 0,
        subject=form.subject.data or "",
        weekdays=form.weekdays.data or [],
        time_of_day=form.time_of_day.data or "",
        timezone=form.timezone.data or "",
        layout=form.layout.data or "digest",
        mode=form.mode.data or "draft",
        tags=form.tags.data or "",
        feed_ids=form.feeds.data or [],
        sender_name=form.sender_name.data or "",
        sender_address=form.sender_address.data or "",
        active=bool(form.active.data),
    )


def _save(form: DigestForm, change) -> Digest | None:
    try:
        digest = change(_input(form))
        db.session.commit()
    except digests.DigestError as exc:
        db.session.rollback()
        flash(str(NOT_SAVED) % {"reason": str(exc)}, "error")
        return None
    return digest


@bp.get("")
def digest_list():
    now = utcnow()
    found = digests.all_digests(db.session)
    coming = {d.id: digests.coming_runs(db.session, d, now) for d in found if d.active}
    recent = {d.id: digests.recent_runs(db.session, d, 5) for d in found}
    return render_template(
        "admin/digests/index.html", digests=found, coming=coming, recent=recent, action=ActionForm()
    )


@bp.route("/new", methods=["GET", "POST"])
def digest_new():
    form = DigestForm()
    _choices(form)
    if request.method == "GET":
        form.timezone.data = newsroom_zone()
        form.time_of_day.data = "07:00"
        form.weekdays.data = ["1", "2", "3", "4", "5"]
        form.sender_name.data = current_app.config["NEWSROOM_NAME"]
        form.sender_address.data = current_app.config["MAIL_FROM"]
    if form.validate_on_submit():
        create = lambda data: digests.create_digest(db.session, data, created_by_id=current_user.id)  # noqa: E731
        if _save(form, create) is not None:
            flash(_("The digest is saved."), "success")
            return redirect(url_for(".digest_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/digests/form.html", form=form, digest=None), status


@bp.route("/<int:digest_id>", methods=["GET", "POST"])
def digest_edit(digest_id: int):
    digest = db.get_or_404(Digest, digest_id)
    form = DigestForm(obj=digest)
    _choices(form)
    if request.method == "GET":
        form.newsletter.data = digest.newsletter_id
        form.weekdays.data = list(digest.weekdays)
        form.time_of_day.data = f"{digest.hour:02d}:{digest.minute:02d}"
        form.tags.data = ", ".join(digest.tags or [])
        form.feeds.data = list(digest.feed_ids or [])
    update = lambda data: digests.update_digest(db.session, digest, data)  # noqa: E731
    if form.validate_on_submit() and _save(form, update) is not None:
        flash(_("The digest is saved."), "success")
        return redirect(url_for(".digest_list"))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/digests/form.html", form=form, digest=digest), status


@bp.post("/<int:digest_id>/runs/<int:slot>/skip")
def digest_run_skip(digest_id: int, slot: int):
    return _mark(digest_id, slot, digests.SKIP)


@bp.post("/<int:digest_id>/runs/<int:slot>/hold")
def digest_run_hold(digest_id: int, slot: int):
    return _mark(digest_id, slot, digests.HOLD)


@bp.post("/<int:digest_id>/runs/<int:slot>/release")
def digest_run_release(digest_id: int, slot: int):
    return _mark(digest_id, slot, "release")


def _mark(digest_id: int, slot: int, action: str):
    """Skip or hold one coming run (``slot``: its time in Unix seconds), or take that back."""
    digest = db.get_or_404(Digest, digest_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if not 0 < slot < 2**40:
        abort(404)
    when = datetime.fromtimestamp(slot, UTC)
    try:
        if action == "release":
            digests.release_slot(db.session, digest, when)
        else:
            digests.mark_slot(db.session, digest, when, action, by_id=current_user.id)
        db.session.commit()
    except digests.DigestError as exc:
        db.session.rollback()
        flash(str(NOT_CHANGED) % {"reason": str(exc)}, "error")
        return redirect(url_for(".digest_list"))
    flash(str(DONE[action]), "success")
    return redirect(url_for(".digest_list"))
