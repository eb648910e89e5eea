"""Staff pages for Zuwendungsbestätigungen: the receipts issued, those whose gifts were refunded after
issue first (to be corrected with the tax office), and each receipt's PDF as it was sent."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template
from sqlalchemy import select

from db import db
from newsletter import api as newsletter_api
from payments.receipts import issuing
from payments.receipts.document import number_label
from payments.receipts.models import TaxReceipt

bp = Blueprint("receipts_staff", __name__, url_prefix="/staff/donations/receipts")
newsletter_api.guard_blueprint(bp, newsletter_api.StaffRole.ADMIN)

PAGE_SIZE = 200


@bp.get("/")
def receipt_list():
    flagged = issuing.flagged_receipts(db.session)
    latest = db.session.scalars(select(TaxReceipt).order_by(TaxReceipt.number.desc()).limit(PAGE_SIZE))
    return render_template("payments/admin_receipts.html", flagged=flagged, receipts=list(latest),
                           label=number_label)  # fmt: skip


@bp.get("/<int:receipt_id>.pdf")
def receipt_pdf(receipt_id: int):
    receipt = db.session.get(TaxReceipt, receipt_id)
    if receipt is None:
        abort(404)
    name = f"Zuwendungsbestaetigung-{number_label(receipt.number)}.pdf"
    return Response(receipt.pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
