"""Staff pages for gifts by transfer: import the bank's export (upload, column map, preview, record, report),
the unmatched transfers (assign or set aside) and a transfer recorded by hand. Money is for admins."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from db import db
from newsletter import api as newsletter_api
from newsletter.platform import audit
from newsletter.platform.bodies import body_limit
from newsletter.platform.forms import ActionForm
from payments import amounts
from payments.transfers import imports, statements
from payments.transfers.forms import AssignForm, HandForm, UploadForm
from payments.transfers.models import BankImport, BankTransfer

bp = Blueprint("transfers_staff", __name__, url_prefix="/staff/donations/bank")
newsletter_api.guard_blueprint(bp, newsletter_api.StaffRole.ADMIN)

FILE_ERRORS = {
    "empty": _l("The file is empty."),
    "binary": _l("This is not a CSV file: it holds binary data or does not read as text."),
    "encoding": _l("The file is neither UTF-8 nor Windows-1252 text. Export it again as CSV."),
    "too_large": _l("The file is larger than %(mb)s MB. Export a shorter period."),
    "first_lines_too_long": _l("The first lines of the file are too long: is this a CSV export?"),
    "not_a_statement": _l(
        "No table with columns was found in the first lines: is this the bank's CSV export?"
    ),
    "mapping": _l(
        "Choose a column for the booking day, the amount (or the credit) and the purpose, each column once."
    ),
}
LINE_PROBLEMS = {
    "too_long": _l("the line is too long and was skipped"),
    "row_too_long": _l("a quote is never closed; the lines up to the next readable one were skipped"),
    "cells": _l("the line has fewer cells than the header"),
    "amount": _l("the amount cannot be read"),
    "day": _l("the booking day cannot be read"),
}
OUTCOMES = {
    "match": _l("becomes a donation"),
    "unmatched": _l("to assign by hand"),
    "duplicate": _l("already imported"),
    "outgoing": _l("money going out: left alone"),
}
REASONS = {
    "no_reference": _l("no reference in the purpose"),
    "unknown_reference": _l("the reference is not one of ours"),
    "currency": _l("not in euros"),
    "by_hand": _l("a transfer of this day and amount was recorded by hand: check it is not the same one"),
}
ASSIGN_ERRORS = {
    "unknown_reference": _l(
        "This reference is not one of ours. Check it, or give the donor's e-mail address."
    ),
    "nothing": _l("Give the reference or the donor's e-mail address."),
    "already": _l("This transfer was recorded already."),
    "currency": _l("Only transfers in euros can be recorded as donations."),
}
FIELD_LABELS = {
    "booked_on": _l("Booking day"),
    "amount": _l("Amount"),
    "credit": _l("Credit (Haben)"),
    "debit": _l("Debit (Soll)"),
    "purpose": _l("Purpose"),
    "payer_name": _l("From (name)"),
    "payer_iban": _l("From (IBAN)"),
    "currency": _l("Currency"),
}


@bp.context_processor
def _labels():
    return {"line_problem": lambda code: str(LINE_PROBLEMS.get(code, code)),
            "outcome_label": lambda code: str(OUTCOMES.get(code, code)),
            "reason_label": lambda code: str(REASONS.get(code, code or "")),
            "field_labels": FIELD_LABELS}  # fmt: skip


def _file_error(exc: statements.StatementError) -> str:
    return (
        str(FILE_ERRORS.get(exc.code, exc.code)) % exc.params
        if exc.params
        else str(FILE_ERRORS.get(exc.code, exc.code))
    )


def _settings() -> dict:
    config = current_app.config
    return {"base_url": config["BASE_URL"], "zone": config["BABEL_DEFAULT_TIMEZONE"]}


def _index(form: UploadForm, status: int = 200):
    return render_template(
        "payments/bank_index.html", form=form, imports=imports.recent_imports(db.session),
        unmatched_count=imports.unmatched_count(db.session),
        max_mb=max(current_app.config["BANK_IMPORT_MAX_BYTES"] // (1024 * 1024), 1),
    ), status  # fmt: skip


@bp.route("/", methods=["GET", "POST"])
@body_limit("BANK_IMPORT_MAX_BYTES")  # the file with the form around it; more is refused unread
def index():
    form = UploadForm()
    if request.method == "GET":
        return _index(form)
    if not form.validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose the CSV file of the bank's export."), "error")
        return _index(form, 422)
    config = current_app.config
    try:
        record = imports.save_upload(
            db.session, upload.stream, upload.filename, staff_user_id=current_user.id,
            max_bytes=config["BANK_IMPORT_MAX_BYTES"], max_line=config["BANK_IMPORT_MAX_LINE_BYTES"],
        )  # fmt: skip
    except statements.StatementError as exc:
        db.session.rollback()
        flash(_file_error(exc), "error")
        return _index(form, 422)
    db.session.commit()
    return redirect(url_for("transfers_staff.show_import", import_id=record.id), 303)


@bp.route("/imports/<int:import_id>", methods=["GET", "POST"])
def show_import(import_id: int):
    record = db.session.get(BankImport, import_id) or abort(404)
    form = ActionForm()
    if record.recorded:
        if request.method == "POST":
            abort(409)
        return render_template("payments/bank_report.html", record=record)
    if request.method == "POST":  # the column map
        if not form.validate_on_submit():
            abort(400)
        try:
            imports.set_mapping(record, {f: request.form.get(f"field-{f}", "") for f in statements.FIELDS})
        except statements.StatementError as exc:
            db.session.rollback()
            flash(_file_error(exc), "error")
            return _map_page(db.session.get(BankImport, import_id), form), 422
        db.session.commit()
        return redirect(url_for("transfers_staff.show_import", import_id=import_id), 303)
    if not imports.is_mapped(record) or request.args.get("map"):
        return _map_page(record, form)
    config = current_app.config
    planned = imports.plan(db.session, record, currency=config["DONATION_CURRENCY"],
                           max_line=config["BANK_IMPORT_MAX_LINE_BYTES"])  # fmt: skip
    return render_template("payments/bank_preview.html", record=record, plan=planned, form=form,
                           counts=planned.counts())  # fmt: skip


def _map_page(record: BankImport, form: ActionForm):
    samples = statements.sample(record.content or b"", imports.layout_of(record))
    return render_template("payments/bank_map.html", record=record, form=form, samples=samples,
                           fields=statements.FIELDS, required=statements.REQUIRED)  # fmt: skip


@bp.post("/imports/<int:import_id>/record")
def record_import(import_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    record = db.session.execute(
        db.select(BankImport).where(BankImport.id == import_id).with_for_update()
    ).scalar_one_or_none() or abort(404)  # fmt: skip
    if not record.recorded:
        if not imports.is_mapped(record):
            abort(409)
        config = current_app.config
        counts = imports.record_import(
            db.session, record, currency=config["DONATION_CURRENCY"],
            max_line=config["BANK_IMPORT_MAX_LINE_BYTES"], staff_id=current_user.id, **_settings(),
        )  # fmt: skip
        audit.record(db.session, "bank.import_record", target=("bank_import", import_id), detail=dict(counts))
        db.session.commit()
        flash(_("%(count)s transfers recorded as donations.", count=counts["match"]), "success")
    return redirect(url_for("transfers_staff.show_import", import_id=import_id), 303)


@bp.get("/unmatched")
def unmatched():
    return render_template("payments/bank_unmatched.html", transfers=imports.unmatched(db.session),
                           assign_form=AssignForm(), action_form=ActionForm())  # fmt: skip


@bp.post("/transfers/<int:transfer_id>/assign")
def assign(transfer_id: int):
    transfer = db.session.get(BankTransfer, transfer_id) or abort(404)
    form = AssignForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        flash(_("Check the e-mail address."), "error")
        return redirect(url_for("transfers_staff.unmatched"), 303)
    try:
        imports.assign(db.session, transfer, typed_reference=form.reference.data or "",
                       email=form.email.data or "", staff_id=current_user.id, **_settings())  # fmt: skip
    except imports.AssignError as exc:
        db.session.rollback()
        flash(str(ASSIGN_ERRORS[exc.code]), "error")
        return redirect(url_for("transfers_staff.unmatched"), 303)
    audit.record(db.session, "bank.assign", target=("bank_transfer", transfer_id),
                 detail={"donation": transfer.donation_id, "cents": transfer.amount_cents})  # fmt: skip
    db.session.commit()
    flash(_("The transfer is recorded as a donation."), "success")
    return redirect(url_for("transfers_staff.unmatched"), 303)


@bp.post("/transfers/<int:transfer_id>/set-aside")
def set_aside(transfer_id: int):
    transfer = db.session.get(BankTransfer, transfer_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    if imports.set_aside(db.session, transfer, staff_id=current_user.id):
        audit.record(db.session, "bank.set_aside", target=("bank_transfer", transfer_id),
                     detail={"cents": transfer.amount_cents})  # fmt: skip
        db.session.commit()
        flash(_("The transfer is set aside: it is not a donation."), "success")
    return redirect(url_for("transfers_staff.unmatched"), 303)


@bp.route("/new", methods=["GET", "POST"])
def record_by_hand():
    form = HandForm()
    if request.method == "GET":
        return render_template("payments/bank_hand.html", form=form)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return render_template("payments/bank_hand.html", form=form), 422
    try:
        cents = amounts.parse_amount(form.amount.data, min_cents=1, max_cents=statements.MAX_CENTS)
    except amounts.DonationError:
        form.amount.errors = [*form.amount.errors, _("Type the amount in euros, for example 12,50.")]
        return render_template("payments/bank_hand.html", form=form), 422
    try:
        donation = imports.record_by_hand(
            db.session, booked_on=form.booked_on.data, amount_cents=cents,
            payer_name=form.payer_name.data or "", email=form.email.data or "",
            typed_reference=form.reference.data or "", note=form.note.data or "", staff_id=current_user.id,
            **_settings(),
        )  # fmt: skip
    except imports.AssignError as exc:
        db.session.rollback()
        flash(str(ASSIGN_ERRORS[exc.code]), "error")
        return render_template("payments/bank_hand.html", form=form), 422
    audit.record(db.session, "bank.by_hand", target=("donation", donation.id), detail={"cents": cents})
    db.session.commit()
    flash(_("The transfer is recorded as a donation."), "success")
    if donation.donor_id:
        return redirect(url_for("supporters_staff.donor_show", donor_id=donation.donor_id), 303)
    return redirect(url_for("transfers_staff.index"), 303)
