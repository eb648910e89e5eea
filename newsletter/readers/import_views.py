"""Staff pages for CSV imports of readers: upload, map the columns, follow the progress, read the report,
delete. Thin: parse input, call a service, render."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

from db import db
from newsletter.platform import audit, database
from newsletter.platform.access import StaffRole, guard_blueprint
from newsletter.platform.bodies import body_limit
from newsletter.platform.forms import ActionForm
from newsletter.readers import errors, staff_texts
from newsletter.readers import tasks as readers_tasks
from newsletter.readers.forms import ImportMapForm, ImportUploadForm, newsletter_choices
from newsletter.readers.imports import files, records, settle
from newsletter.readers.models import ImportConsent, ImportState, SubscriberImport

bp = Blueprint("readers_import", __name__, url_prefix="/staff")
guard_blueprint(bp, StaffRole.EDITOR)


def _import_folder() -> Path:
    return records.upload_folder(current_app.instance_path)


@bp.route("/imports", methods=["GET", "POST"])
@body_limit("IMPORT_MAX_BYTES")  # the file with the form around it; more is refused before it is read
def import_index():
    form = ImportUploadForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash(_("Choose a CSV file to upload."), "error")
            return render_template(
                "admin/subscribers/imports.html", form=form, imports=records.recent_imports(db.session)
            ), 422
        try:
            record = files.save_upload(
                db.session,
                upload.stream,
                upload.filename,
                _import_folder(),
                staff_user_id=current_user.id,
                max_bytes=current_app.config["IMPORT_MAX_BYTES"],
                max_line=current_app.config["IMPORT_MAX_LINE_BYTES"],
            )
        except errors.SubscriberError as exc:
            db.session.rollback()
            flash(staff_texts.explain(exc), "error")
            return render_template(
                "admin/subscribers/imports.html", form=form, imports=records.recent_imports(db.session)
            ), 422
        db.session.commit()
        return redirect(url_for("readers_import.import_show", import_id=record.id))
    return render_template(
        "admin/subscribers/imports.html", form=form, imports=records.recent_imports(db.session)
    )


@bp.route("/imports/<int:import_id>", methods=["GET", "POST"])
def import_show(import_id: int):
    record = db.session.get(SubscriberImport, import_id) or abort(404)
    if record.state is not ImportState.UPLOADED:
        if request.method == "POST":
            abort(409)
        settled_any = bool(record.failure) and bool(settle.settled_chunks(db.session, record.id))
        return render_template(
            "admin/subscribers/import_progress.html", record=record, action_form=ActionForm(),
            file_gone=settle.FILE_GONE, settled_any=settled_any,
        )  # fmt: skip
    form = ImportMapForm()
    form.newsletters.choices = newsletter_choices(db.session)
    if form.validate_on_submit():
        mapping = {str(i): request.form.get(f"column-{i}", "ignore") for i in range(len(record.columns))}
        try:
            files.set_mapping(
                db.session,
                record,
                mapping,
                newsletter_ids=form.newsletters.data or [],
                consent=ImportConsent(form.consent.data or "none"),
                consent_detail=form.consent_detail.data or "",
                send_welcome=bool(form.send_welcome.data),
            )
        except (errors.SubscriberError, ValueError) as exc:
            db.session.rollback()
            reason = staff_texts.explain(exc) if isinstance(exc, errors.SubscriberError) else str(exc)
            flash(reason, "error")
            record = db.session.get(SubscriberImport, import_id)
            return _map_page(record, form, mapping), 422
        db.session.commit()

        readers_tasks.queue_subscriber_import(record.id)
        return redirect(url_for("readers_import.import_show", import_id=record.id))
    return _map_page(record, form, record.mapping), (422 if form.is_submitted() else 200)


def _map_page(record: SubscriberImport, form: ImportMapForm, mapping: dict[str, str]):
    return render_template(
        "admin/subscribers/import_map.html",
        record=record,
        form=form,
        mapping=mapping,
        samples=files.sample_rows(record),
        fields=files.FIELDS,
    )


@bp.get("/imports/<int:import_id>/progress.json")
def import_progress(import_id: int):
    record = db.session.get(SubscriberImport, import_id) or abort(404)
    return jsonify(
        state=record.state.value,
        percent=round(100 * record.bytes_done / record.size_bytes) if record.size_bytes else 100,
        rows_read=record.rows_read,
        created=record.created_count,
        existing=record.existing_count,
        duplicates=record.duplicate_count,
        suppressed=record.suppressed_count,
        errors=record.error_count,
        opt_in_sent=record.opt_in_sent,
        resumed=record.resumed,
    )


@bp.get("/imports/<int:import_id>/report.csv")
def import_report(import_id: int):
    record = db.session.get(SubscriberImport, import_id) or abort(404)
    audit.record(db.session, "import.download_report", target=record)
    db.session.commit()
    header = [_("line"), _("e-mail address"), _("outcome"), _("reason")]
    outcome_text, reason_text = staff_texts.import_report_wording()
    body = database.streamed(
        lambda session: records.iter_report(session, record.id, header, outcome_text, reason_text)
    )
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=import-{record.id}-report.csv"},
    )


@bp.post("/imports/<int:import_id>/delete")
def import_delete(import_id: int):
    record = db.session.get(SubscriberImport, import_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    if record.state in (ImportState.QUEUED, ImportState.RUNNING):
        flash(_("A running import cannot be deleted."), "error")
        return redirect(url_for("readers_import.import_show", import_id=import_id))
    records.delete_import(db.session, record)
    db.session.commit()
    flash(_("The import, its file and its report are deleted. The readers it added stay."), "success")
    return redirect(url_for("readers_import.import_index"))
