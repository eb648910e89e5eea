"""The audit log's admin page: entries newest first, filtered by actor, action, target and days, continued by
id; and the same selection as a CSV download (itself an entry in the log). Admins only."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from db import db
from newsletter.platform import audit, database
from newsletter.platform.access import StaffRole, guard_blueprint
from newsletter.platform.i18n import newsroom_zone
from newsletter.staff import audit_log
from newsletter.staff.models import StaffUser

bp = Blueprint("staff_audit", __name__, url_prefix="/staff")
guard_blueprint(bp, StaffRole.ADMIN)

ACTOR_LABELS = {
    audit.CLI: _l("Command line on the server"),
    audit.SYSTEM: _l("Beitrag itself (clock, worker)"),
    audit.READER: _l("A reader (own link)"),
    audit.ANONYMOUS: _l("Not signed in"),
}
FILTER_ERRORS = {
    "actor": _l("Choose someone from the list."),
    "action": _l("Choose an action from the list."),
    "from": _l("Enter the first day as a date."),
    "to": _l("Enter the last day as a date."),
    "range": _l("The last day lies before the first."),
}


def _filter() -> tuple[audit_log.AuditFilter, str | None]:
    try:
        return audit_log.read_filter(request.args, newsroom_zone()), None
    except audit_log.FilterError as exc:
        return audit_log.AuditFilter(zone=newsroom_zone()), str(FILTER_ERRORS[str(exc)])


@bp.get("/audit")
def audit_index():
    flt, error = _filter()
    before = request.args.get("before", "")
    before_id = int(before) if before.isdigit() and len(before) < 19 else None
    result = audit_log.page(db.session, flt, before=before_id)
    staff = db.session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    return render_template(
        "admin/audit.html", page=result, flt=flt, error=error, first_page=before_id is None,
        actions=audit.ACTIONS, actor_labels=ACTOR_LABELS, staff=staff,
    ), (400 if error else 200)  # fmt: skip


@bp.get("/audit/export.csv")
def audit_export():
    flt, error = _filter()
    if error:
        return Response(error, status=400, mimetype="text/plain")
    audit.record(db.session, "audit.export", target="audit", detail=flt.as_args())
    db.session.commit()
    body = database.streamed(lambda session: audit_log.iter_csv(session, flt))
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=audit-log.csv"})  # fmt: skip


@bp.app_template_filter("audit_action")
def _action_label(name: str) -> str:
    label = audit.ACTIONS.get(name)
    return str(label) if label is not None else name


@bp.app_template_filter("audit_value")
def _detail_value(value) -> str:
    """A detail's value as a person reads it: lists joined, yes and no in words."""
    if isinstance(value, bool):
        return str(_l("yes") if value else _l("no"))
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


@bp.app_template_filter("audit_actor")
def _actor_label(actor: str) -> str:
    label = ACTOR_LABELS.get(actor)
    return str(label) if label is not None else actor
