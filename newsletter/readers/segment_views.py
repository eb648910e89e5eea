"""Staff pages for segments (editors and admins): the list with each segment's readers counted, a form to
make or change one, and deleting one no issue uses. Thin: parse input, call ``readers.segments``, render."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from db import db
from newsletter.platform import audit, ids
from newsletter.platform.access import StaffRole, guard_blueprint
from newsletter.platform.forms import ActionForm
from newsletter.platform.i18n import newsroom_zone
from newsletter.readers import newsletters, roster, segments
from newsletter.readers.models import Segment

bp = Blueprint("segments_staff", __name__, url_prefix="/staff/segments")
guard_blueprint(bp, StaffRole.EDITOR)

SUPPORTER_LABELS = {
    "never": _l("Never gave"),
    "one_time": _l("Gave once (last 12 months)"),
    "monthly": _l("Gives monthly"),
    "lapsed": _l("Support lapsed"),
    "failing": _l("Payment failing"),
}
ASK_LABELS = {"normal": _l("Normal"), "less": _l("Less often"), "never": _l("Never")}
LOCALE_LABELS = {"de": _l("German"), "en": _l("English")}


def term_choices() -> dict:
    """What the term fields offer (the reader list's filter uses the same)."""
    return {
        "supporter_labels": SUPPORTER_LABELS, "ask_labels": ASK_LABELS, "locale_labels": LOCALE_LABELS,
        "sources": roster.sources(db.session),
    }  # fmt: skip


@bp.get("")
def segment_index():
    found = segments.list_segments(db.session)
    counts = {s.id: segments.count_readers(db.session, s, zone=newsroom_zone()) for s in found}
    return render_template("admin/segments/index.html", segments=found, counts=counts)


@bp.route("/new", methods=["GET", "POST"])
def segment_new():
    return _segment_form(None)


@bp.route("/<int:segment_id>", methods=["GET", "POST"])
def segment_edit(segment_id: int):
    return _segment_form(db.session.get(Segment, segment_id) or abort(404))


def _segment_form(segment: Segment | None):
    form = ActionForm()
    values = dict(request.form) if request.method == "POST" else _values_of(segment)
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            terms = segments.terms_from(request.form)
            saved = segments.save_segment(
                db.session, segment, newsletter_id=ids.id_from(request.form.get("newsletter_id", "")),
                name=request.form.get("name", "")[:500], terms=terms,
            )  # fmt: skip
        except segments.SegmentError as exc:
            db.session.rollback()
            flash(_("The segment was not saved: %(reason)s", reason=str(exc)), "error")
            return _render_form(segment, form, values), 422
        detail = {"name": saved.name, "newsletter": saved.newsletter_id, **terms.as_args()}
        audit.record(db.session, "segment.save", target=f"segment:{saved.id}", detail=detail)
        db.session.commit()
        count = segments.count_readers(db.session, saved, zone=newsroom_zone())
        flash(_("The segment “%(name)s” is saved: %(count)s active readers.", name=saved.name, count=count),
              "success")  # fmt: skip
        return redirect(url_for(".segment_edit", segment_id=saved.id))
    return _render_form(segment, form, values)


def _values_of(segment: Segment | None) -> dict[str, str]:
    if segment is None:
        return {}
    return {"name": segment.name, "newsletter_id": str(segment.newsletter_id),
            **segments.terms_of(segment).as_args()}  # fmt: skip


def _render_form(segment: Segment | None, form: ActionForm, values: dict[str, str]):
    count = segments.count_readers(db.session, segment, zone=newsroom_zone()) if segment is not None else None
    return render_template(
        "admin/segments/form.html", segment=segment, form=form, values=values, count=count,
        newsletters=newsletters.list_newsletters(db.session), delete_form=ActionForm(), **term_choices(),
    )  # fmt: skip


@bp.post("/<int:segment_id>/delete")
def segment_delete(segment_id: int):
    segment = db.session.get(Segment, segment_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    name = segment.name
    try:
        segments.delete_segment(db.session, segment)
    except segments.SegmentError as exc:
        db.session.rollback()
        flash(_("The segment was not deleted: %(reason)s", reason=str(exc)), "error")
        return redirect(url_for(".segment_edit", segment_id=segment_id))
    audit.record(db.session, "segment.delete", target=f"segment:{segment_id}", detail={"name": name})
    db.session.commit()
    flash(_("The segment “%(name)s” is deleted.", name=name), "success")
    return redirect(url_for(".segment_index"))
