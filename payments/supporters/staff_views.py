"""Staff pages for donations: the list with states, payments and attribution, the donors and one donor
with everything they gave. Money is for admins."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from db import db, utcnow
from newsletter import api as newsletter_api
from newsletter.platform import ids
from payments import amounts
from payments.models import DisputeStatus, Donation, DonationPayment, DonationStatus, PaymentStatus
from payments.supporters import donors, sources, states

bp = Blueprint("supporters_staff", __name__, url_prefix="/staff/donations")
newsletter_api.guard_blueprint(bp, newsletter_api.StaffRole.ADMIN)

PAGE_SIZE = 100

SUPPORTER_LABELS = {
    "never": _l("never gave"),
    "one_time": _l("gave in the last 12 months"),
    "monthly": _l("gives monthly"),
    "lapsed": _l("lapsed"),
    "failing": _l("monthly, payment failing"),
}


# The stored states are codes (``start_failed``); staff read them in their language.
DONATION_STATUS_LABELS = {
    DonationStatus.OPEN: _l("sent to checkout"),
    DonationStatus.START_FAILED: _l("checkout could not start, nothing charged"),
    DonationStatus.PENDING: _l("payment on its way"),
    DonationStatus.PAID: _l("paid"),
    DonationStatus.ACTIVE: _l("running"),
    DonationStatus.FAILED: _l("failed"),
    DonationStatus.REFUNDED: _l("refunded"),
    DonationStatus.ENDED: _l("ended"),
}
PAYMENT_STATUS_LABELS = {
    PaymentStatus.PENDING: _l("payment on its way"),
    PaymentStatus.FAILED: _l("failed"),
    PaymentStatus.PAID: _l("paid"),
    PaymentStatus.REFUNDED: _l("refunded"),
}
DISPUTE_LABELS = {
    DisputeStatus.OPEN: _l("dispute open"),
    DisputeStatus.WON: _l("dispute won"),
    DisputeStatus.LOST: _l("dispute lost"),
}
# Stripe's cancellation_details.reason; anything newer Stripe sends is shown as it came.
CANCEL_REASONS = {
    "cancellation_requested": _l("cancelled on request"),
    "payment_failed": _l("payments failed"),
    "payment_disputed": _l("payment disputed"),
}


def _label(labels: dict, value) -> str:
    return str(labels.get(value, value)) if value is not None else "–"


@bp.context_processor
def _labels():
    return {
        "supporter_labels": SUPPORTER_LABELS,
        "donation_state": lambda value: _label(DONATION_STATUS_LABELS, value),
        "payment_state": lambda value: _label(PAYMENT_STATUS_LABELS, value),
        "dispute_state": lambda value: _label(DISPUTE_LABELS, value),
        "cancel_reason": lambda value: _label(CANCEL_REASONS, value),
        "came_via": sources.came_via,
    }


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
        statuses=list(DonationStatus),
        status=status,
        regular=states.regular_count(db.session),
        received_30_days=received or 0,
    )


def _cents(raw: str) -> int | None:
    """An amount filter in euros as typed ("50", "12,50"); None when empty or not an amount."""
    try:
        return amounts.parse_amount(raw, min_cents=0, max_cents=10**11) if raw.strip() else None
    except amounts.DonationError:
        return None


def _day(raw: str) -> date | None:
    """A day as typed (YYYY-MM-DD) between the years 1900 and 2200; None when empty or not such a day (the
    day after 9999-12-31 does not exist, and the filter needs it)."""
    try:
        day = date.fromisoformat(raw.strip()) if raw.strip() else None
    except ValueError:
        return None
    return day if day is not None and 1900 <= day.year <= 2200 else None


def _donor_filter() -> donors.DonorFilter:
    args = {key: request.args.get(key, "")[:320] for key in ("q", "state", "min", "max", "from", "to")}
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    first_from, last_day = _day(args["from"]), _day(args["to"])
    return donors.DonorFilter(
        query=args["q"].strip(),
        state=args["state"] if args["state"] in states.STATES else None,
        min_total=_cents(args["min"]), max_total=_cents(args["max"]),
        first_from=donors.day_start(first_from, zone) if first_from else None,
        first_before=donors.day_start(last_day + timedelta(days=1), zone) if last_day else None,
        args=args,
    )  # fmt: skip


@bp.get("/donors")
def donor_list():
    flt = _donor_filter()
    after = request.args.get("after", "")
    page = donors.list_donors(db.session, flt, after=ids.id_from(after))
    return render_template(
        "payments/admin_donors.html", page=page, flt=flt, states=states.STATES, first_page=not after
    )


@bp.get("/donors/<int:donor_id>")
def donor_show(donor_id: int):
    profile = donors.donor_profile(db.session, donor_id)
    if profile is None:
        abort(404)
    return render_template("payments/admin_donor.html", profile=profile, net_cents=donors.net_cents)
