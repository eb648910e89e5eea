"""Staff pages for readers and newsletters: the reader list with filters and its CSV export, one reader
(add, change, unsubscribe, resend the confirmation, erase), the newsletters. Thin: parse input, call a
service, render."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from db import db
from newsletter.platform import audit, database, ids
from newsletter.platform.access import StaffRole, guard_blueprint, requires_role
from newsletter.platform.forms import ActionForm
from newsletter.platform.i18n import newsroom_zone
from newsletter.readers import (
    addresses,
    errors,
    export,
    newsletters,
    reader_mails,
    roster,
    segment_views,
    segments,
    staff_texts,
)
from newsletter.readers.forms import AddSubscriberForm, EditSubscriberForm, NewsletterForm, newsletter_choices
from newsletter.readers.models import Newsletter, Segment, Subscriber, SubscriberStatus

bp = Blueprint("readers_staff", __name__, url_prefix="/staff")
guard_blueprint(bp, StaffRole.EDITOR)


@bp.get("/newsletters")
def newsletter_index():
    return render_template(
        "admin/newsletters/index.html",
        newsletters=newsletters.list_newsletters(db.session),
        counts=newsletters.subscriber_counts(db.session),
    )


@bp.route("/newsletters/new", methods=["GET", "POST"])
def newsletter_new():
    return _newsletter_form(None)


@bp.route("/newsletters/<int:newsletter_id>", methods=["GET", "POST"])
def newsletter_edit(newsletter_id: int):
    newsletter = db.session.get(Newsletter, newsletter_id) or abort(404)
    return _newsletter_form(newsletter)


def _newsletter_form(newsletter: Newsletter | None):
    form = NewsletterForm(obj=newsletter)
    if form.validate_on_submit():
        try:
            saved = newsletters.save_newsletter(
                db.session,
                newsletter,
                name=form.name.data or "",
                slug=form.slug.data or "",
                description=form.description.data or "",
                is_public=bool(form.is_public.data),
                is_default=bool(form.is_default.data),
                position=form.position.data or 0,
                name_en=form.name_en.data or "",
                description_en=form.description_en.data or "",
            )
        except errors.SubscriberError as exc:
            db.session.rollback()
            flash(staff_texts.explain(exc), "error")
            return render_template("admin/newsletters/form.html", form=form, newsletter=newsletter), 422
        db.session.commit()
        flash(_("The newsletter “%(name)s” is saved.", name=saved.name), "success")
        return redirect(url_for("readers_staff.newsletter_index"))
    status = 422 if form.is_submitted() else 200
    return render_template("admin/newsletters/form.html", form=form, newsletter=newsletter), status


def _filter_from_args() -> roster.SubscriberFilter:
    """The list's filter from the query string. A segment term Beitrag cannot read (an unknown supporter
    state, a date that is not one, a segment that does not exist) raises ``SegmentError``: the page says
    which, rather than showing readers the editor did not ask for."""
    args = request.args
    try:
        status = SubscriberStatus(args.get("status")) if args.get("status") else None
    except ValueError:
        status = None
    newsletter_id = args.get("newsletter", "")
    segment = None
    if args.get("segment"):
        segment = db.session.get(Segment, ids.id_from(args["segment"]) or 0)
        if segment is None:
            raise segments.SegmentError(_("This segment does not exist."))
    return roster.SubscriberFilter(
        query=args.get("q", "")[:320],
        status=status,
        newsletter_id=ids.id_from(newsletter_id),
        terms=segments.terms_from(args),
        segment=segments.chosen(segment) if segment is not None else None,
        zone=newsroom_zone(),
    )


@bp.get("/subscribers")
def subscriber_index():
    names = {n.id: n.name for n in newsletters.list_newsletters(db.session)}
    choices = {
        "newsletter_names": names, "statuses": list(SubscriberStatus),
        "segments": segments.list_segments(db.session), **segment_views.term_choices(),
    }  # fmt: skip
    try:
        flt = _filter_from_args()
    except segments.SegmentError as exc:
        flash(_("The filter was not applied: %(reason)s", reason=str(exc)), "error")
        empty = roster.Page(rows=[], next_after=None)
        return render_template("admin/subscribers/index.html", page=empty, flt=roster.SubscriberFilter(),
                               total=None, first_page=True, **choices), 422  # fmt: skip
    after = request.args.get("after", "")
    result = roster.page(db.session, flt, after=ids.id_from(after))
    return render_template(
        "admin/subscribers/index.html",
        page=result,
        flt=flt,
        total=roster.count(db.session, flt),
        first_page=not after,
        **choices,
    )


@bp.get("/subscribers/export.csv")
@requires_role(StaffRole.ADMIN)
def subscriber_export():
    try:
        flt = _filter_from_args()
    except segments.SegmentError as exc:
        return Response(_("The filter was not applied: %(reason)s", reason=str(exc)), status=422,
                        mimetype="text/plain")  # fmt: skip
    # The address prefix searched for may be a whole address: the log says only that there was one.
    shown = {key: value for key, value in flt.as_args().items() if key != "q"}
    if flt.query:
        shown["address_prefix"] = True
    audit.record(db.session, "readers.export", target="export:subscribers", detail=shown)
    db.session.commit()
    body = database.streamed(lambda session: export.iter_export(session, flt))
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=subscribers.csv"},
    )


@bp.route("/subscribers/new", methods=["GET", "POST"])
def subscriber_new():
    form = AddSubscriberForm()
    form.newsletters.choices = newsletter_choices(db.session)
    if request.method == "GET":
        form.newsletters.data = [n.id for n in newsletters.list_newsletters(db.session) if n.is_default]
    if form.validate_on_submit():
        try:
            reader = roster.add_subscriber(
                db.session,
                form.email.data or "",
                newsletter_ids=form.newsletters.data or [],
                locale=form.locale.data or "de",
                source=form.source.data,
                recorded_consent=form.consent.data == "recorded",
                consent_detail=form.consent_detail.data or "",
                staff_email=current_user.email,
            )
        except errors.SubscriberError as exc:
            db.session.rollback()
            flash(staff_texts.explain(exc), "error")
            return render_template("admin/subscribers/new.html", form=form), 422
        db.session.commit()
        if reader.status is SubscriberStatus.ACTIVE:
            flash(_("%(address)s is added and active.", address=reader.email), "success")
        else:
            flash(
                _("%(address)s is added; the confirmation mail is on its way.", address=reader.email),
                "success",
            )
        return redirect(url_for("readers_staff.subscriber_show", subscriber_id=reader.id))
    status = 422 if form.is_submitted() else 200
    return render_template("admin/subscribers/new.html", form=form), status


@bp.route("/subscribers/<int:subscriber_id>", methods=["GET", "POST"])
def subscriber_show(subscriber_id: int):
    reader = db.session.get(Subscriber, subscriber_id) or abort(404)
    form = EditSubscriberForm()
    form.newsletters.choices = newsletter_choices(db.session)
    if request.method == "GET":
        form.locale.data = reader.locale
        form.newsletters.data = [s.newsletter_id for s in reader.subscriptions]
    if form.validate_on_submit():
        try:
            changed = roster.update_subscriber(
                db.session,
                reader,
                newsletter_ids=form.newsletters.data or [],
                locale=form.locale.data or "",
                staff_email=current_user.email,
            )
        except errors.SubscriberError as exc:
            db.session.rollback()
            flash(staff_texts.explain(exc), "error")
            return redirect(url_for("readers_staff.subscriber_show", subscriber_id=subscriber_id))
        db.session.commit()
        flash(_("Changes saved.") if changed else _("Nothing was changed."), "success")
        return redirect(url_for("readers_staff.subscriber_show", subscriber_id=subscriber_id))
    names = {n.id: n.name for n in newsletters.list_newsletters(db.session)}
    return render_template(
        "admin/subscribers/show.html",
        reader=reader,
        form=form,
        action_form=ActionForm(),
        newsletter_names=names,
        suppressed=addresses.is_suppressed(db.session, reader.email),
    )


@bp.post("/subscribers/<int:subscriber_id>/unsubscribe")
def subscriber_unsubscribe(subscriber_id: int):
    reader = db.session.get(Subscriber, subscriber_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    if roster.unsubscribe_subscriber(db.session, reader, staff_email=current_user.email):
        flash(_("%(address)s is unsubscribed and on the suppression list.", address=reader.email), "success")
    else:
        flash(_("%(address)s had already left.", address=reader.email), "info")
    db.session.commit()
    return redirect(url_for("readers_staff.subscriber_show", subscriber_id=subscriber_id))


@bp.post("/subscribers/<int:subscriber_id>/resend")
def subscriber_resend(subscriber_id: int):
    reader = db.session.get(Subscriber, subscriber_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    if reader.status is not SubscriberStatus.PENDING or addresses.is_suppressed(db.session, reader.email):
        flash(_("Only a reader who has not yet confirmed can get the confirmation mail again."), "error")
    else:
        reader_mails.request_confirmation(db.session, reader)
        db.session.commit()
        flash(_("The confirmation mail to %(address)s is on its way.", address=reader.email), "success")
    return redirect(url_for("readers_staff.subscriber_show", subscriber_id=subscriber_id))


@bp.route("/subscribers/<int:subscriber_id>/erase", methods=["GET", "POST"])
@requires_role(StaffRole.ADMIN)
def subscriber_erase(subscriber_id: int):
    reader = db.session.get(Subscriber, subscriber_id) or abort(404)
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if (request.form.get("confirm_email") or "").strip().lower() != reader.email.lower():
            flash(_("Type the reader's address to confirm the erasure."), "error")
            return render_template("admin/subscribers/erase.html", reader=reader, form=form), 422
        roster.erase_subscriber(db.session, reader, staff_email=current_user.email)
        db.session.commit()
        flash(
            _("The reader is erased. Only a hash of the address stays, on the suppression list."), "success"
        )
        return redirect(url_for("readers_staff.subscriber_index"))
    return render_template("admin/subscribers/erase.html", reader=reader, form=form)
