"""Staff pages of the send path: send now, the progress of a send, pause, resume, cancel, schedule and
unschedule (buttons on the issue page; pause, resume and cancel also as JSON). Thin: each calls the one
orchestration in ``control``."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from db import db
from newsletter.editorial.forms import ScheduleForm
from newsletter.editorial.models import Issue, IssueState
from newsletter.platform.access import StaffRole, guard_blueprint
from newsletter.platform.forms import ActionForm
from newsletter.sending import confirm, control, progress
from newsletter.sending.ledger import SendError, send_blocker

bp = Blueprint("sending_staff", __name__, url_prefix="/staff")
guard_blueprint(bp, StaffRole.EDITOR)


def _back_to_issue(issue_id: int, anchor: str | None = "sending"):
    return redirect(url_for("editorial_staff.issue_edit", issue_id=issue_id, _anchor=anchor))


# One rule for both steps: with a GET rule and a POST rule on the same path, Werkzeug answers a POST to an
# id out of range 405 (the GET rule's method matched first), where every other route answers 404.
@bp.route("/issues/<int:issue_id>/send", methods=["GET", "POST"])
def issue_send(issue_id: int):
    if request.method == "POST":
        return _send_now(issue_id)
    return _send_confirm(issue_id)


def _send_confirm(issue_id: int):
    """Send, first step: the newsletters, the exact number of readers and what the editor should know
    before thousands of mails leave. Only this page's form (POST, with its CSRF token) starts the send."""
    issue = db.get_or_404(Issue, issue_id)
    if issue.state is not IssueState.DRAFT:
        reason = _("only a draft can be sent from here")
        flash(_("The issue was not sent: %(reason)s", reason=reason), "error")
        return _back_to_issue(issue_id, None)
    blocker = send_blocker(issue, current_app.config)
    if blocker:
        flash(_("The issue was not sent: %(reason)s", reason=blocker), "error")
        return _back_to_issue(issue_id, None)
    # The issue page's schedule form comes here too (a GET with ``send_at``, no token in the URL): the same
    # count and warnings, then this page's form posts the time, with its CSRF token, to ``issue_schedule``.
    when = None
    if "send_at" in request.args:
        asked = ScheduleForm(formdata=request.args, meta={"csrf": False})
        if not asked.validate():
            flash(_("Nothing was changed: %(reason)s", reason=_("enter a date and a time")), "error")
            return _back_to_issue(issue_id)
        when = asked.send_at.data.replace(tzinfo=ZoneInfo(str(get_timezone())))
    check = confirm.check_send(db.session, issue, current_app.config, locale=str(get_locale() or "de"))
    return render_template(
        "admin/issues/send_confirm.html", issue=issue, check=check, action=ActionForm(), when=when,
        schedule_form=ScheduleForm(formdata=None), send_at=request.args.get("send_at", ""),
    )  # fmt: skip


def _send_now(issue_id: int):
    """Send now (the confirmation page's button): the ledger is written in one transaction, then the batch
    jobs are queued. ``start_send`` refuses an issue without articles or newsletters itself."""
    if not ActionForm().validate_on_submit():
        abort(400)
    issue = db.get_or_404(Issue, issue_id)
    try:
        started = control.start_send(db.session, issue, current_app.config)
    except SendError as exc:
        flash(_("The issue was not sent: %(reason)s", reason=str(exc)), "error")
        return _back_to_issue(issue_id, None)
    if started.queued:
        flash(_("Sending to %(count)s readers has started.", count=started.added), "success")
    else:
        flash(
            _("The readers are recorded, but the queue is unreachable: sending starts when it is back."),
            "error",
        )
    return _back_to_issue(issue_id)


@bp.get("/issues/<int:issue_id>/progress.json")
def issue_progress(issue_id: int):
    issue = db.get_or_404(Issue, issue_id)
    return _progress_json(issue)


def _progress_json(issue: Issue) -> dict:
    return {"issue": issue.id, "state": issue.state.value, **progress.progress(db.session, issue.id)}


def _wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


# Pause, resume, cancel: buttons on the issue page, and the same URLs as a JSON API (send the CSRF token
# in the X-CSRFToken header and ask for application/json; the answer is the issue's progress).
DONE = {
    "pause": _l("Sending is paused. Messages on their way finish first."),
    "resume": _l("Sending continues."),
    "cancel": _l("The issue is cancelled. Nothing more is sent."),
}


def _send_control(issue_id: int, action: str):
    if not _wants_json() and not ActionForm().validate_on_submit():
        abort(400)  # the global CSRF check has passed already; this also needs the form's own token
    issue = db.get_or_404(Issue, issue_id)
    try:
        queued = control.change_send(db.session, issue, action)
    except SendError as exc:
        if _wants_json():
            return {"error": str(exc), **_progress_json(issue)}, 409
        flash(_("Nothing was changed: %(reason)s", reason=str(exc)), "error")
        return _back_to_issue(issue_id)
    if _wants_json():
        return _progress_json(issue)
    flash(str(DONE[action]) if queued else _("Sending continues once the queue is reachable again."),
          "success" if queued else "error")  # fmt: skip
    return _back_to_issue(issue_id)


@bp.post("/issues/<int:issue_id>/pause")
def issue_pause(issue_id: int):
    return _send_control(issue_id, "pause")


@bp.post("/issues/<int:issue_id>/resume")
def issue_resume(issue_id: int):
    return _send_control(issue_id, "resume")


@bp.post("/issues/<int:issue_id>/cancel")
def issue_cancel(issue_id: int):
    return _send_control(issue_id, "cancel")


@bp.post("/issues/<int:issue_id>/schedule")
def issue_schedule(issue_id: int):
    """Send at a time the editor picks in their own time zone; stored in UTC, fired by the scheduler
    (and by the clock's sweep if Redis lost the job)."""
    issue = db.get_or_404(Issue, issue_id)
    form = ScheduleForm()
    if not form.validate_on_submit():
        flash(_("Nothing was changed: %(reason)s", reason=_("enter a date and a time")), "error")
        return _back_to_issue(issue_id)
    # ZoneInfo, not the pytz object: replace(tzinfo=pytz zone) would use its first offset (LMT, +00:53).
    when = form.send_at.data.replace(tzinfo=ZoneInfo(str(get_timezone())))
    try:
        control.schedule(db.session, issue, when, current_app.config)
    except SendError as exc:
        flash(_("Nothing was changed: %(reason)s", reason=str(exc)), "error")
        return _back_to_issue(issue_id)
    flash(_("The issue will be sent on %(when)s.", when=format_datetime(issue.scheduled_at)), "success")
    return _back_to_issue(issue_id)


@bp.post("/issues/<int:issue_id>/unschedule")
def issue_unschedule(issue_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    issue = db.get_or_404(Issue, issue_id)
    try:
        control.unschedule(db.session, issue)
    except SendError as exc:
        flash(_("Nothing was changed: %(reason)s", reason=str(exc)), "error")
    else:
        flash(_("The issue is a draft again."), "success")
    return _back_to_issue(issue_id)
