"""Staff pages for donations: the list with states, payments and attribution. Money is for admins."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, render_template, request
from sqlalchemy import func, select

from db import db, utcnow
from newsletter import api as newsletter_api

from . import supporters
from .models import Donation, DonationPayment, DonationStatus, PaymentStatus

bp = Blueprint("donations_admin", __name__, url_prefix="/staff/donations")
newsletter_api.guard_blueprint(bp, newsletter_api.StaffRole.ADMIN)

PAGE_SIZE = 100


@bp.get("/")
def donation_list():
    status = request.args.get("status", "")
    query = select(Donation).order_by(Donation.id.desc()).limit(PAGE_SIZE)
    if status in {s.value for s in DonationStatus}:
        query = query.where(Donation.status == DonationStatus(status))
    since = utcnow() - timedelta(days=30)
    net = func.sum(DonationPayment.amount_cents - DonationPayment.refunded_cents)
    received = db.session.scalar(
        select(func.coalesce(net, 0)).where(
            DonationPayment.status.in_((PaymentStatus.PAID, PaymentStatus.REFUNDED)),
            DonationPayment.paid_at >= since,
        )
    )
    return render_template(
        "payments/admin_list.html",
        donations=db.session.scalars(query).all(),
        statuses=[s.value for s in DonationStatus],
        status=status,
        monthly=supporters.monthly_count(db.session),
        received_30_days=received or 0,
    )
