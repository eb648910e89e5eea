"""The test checkout page: what Stripe's hosted Checkout would show, served by Beitrag while it runs
without Stripe keys, and labelled as a test on every view. It answers 404 unless the test checkout is on
(``DEMO_CHECKOUT``, which production refuses)."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from db import db
from payments import gateway
from payments.amounts import money
from payments.demo_checkout import standin
from payments.models import Donation, DonationKind
from payments.settings import stripe_settings

bp = Blueprint("demo_checkout", __name__)

_SESSION_ID = re.compile(r"cs_test_demo[0-9a-f]{32}")


class PayForm(FlaskForm):
    email = EmailField(
        _l("E-mail address for the receipt"), validators=[DataRequired(), Length(max=320), Email()]
    )
    submit = SubmitField(_l("Pay (test)"))


def _ours(url: str | None) -> str | None:
    """``url`` when it leads back into Beitrag (the success and cancel addresses the app gave Stripe)."""
    base = current_app.config["BASE_URL"]
    return url if isinstance(url, str) and url.startswith(f"{base}/") else None


def _kind_of(checkout: dict) -> str:
    """One-time, monthly or yearly: the donation the session was made for says (its id is the session's
    ``client_reference_id``); Stripe's session itself only tells a subscription from a payment."""
    reference = str(checkout.get("client_reference_id") or "")
    donation = db.session.get(Donation, int(reference)) if reference.isdigit() else None
    if donation is not None:
        return donation.kind.value
    return (
        DonationKind.MONTHLY.value if checkout.get("mode") == "subscription" else DonationKind.ONE_TIME.value
    )


@bp.route(f"{standin.PAGE_PATH}<session_id>", methods=["GET", "POST"])
def pay(session_id: str):
    settings = stripe_settings()
    if (
        not current_app.config.get("DEMO_CHECKOUT")
        or settings is None
        or not _SESSION_ID.fullmatch(session_id)
    ):
        abort(404)
    try:
        checkout = gateway.retrieve_checkout_session(settings, session_id)
    except gateway.GatewayError:
        abort(404)
    if checkout.get("status") != "open":  # paid already (the back button): where Stripe would send them
        done = _ours(str(checkout.get("success_url") or "").replace("{CHECKOUT_SESSION_ID}", session_id))
        return redirect(done or "/", 303)
    form = PayForm()
    error = None
    if request.method == "GET":
        form.email.data = checkout.get("customer_email") or ""
    elif form.validate_on_submit():
        try:
            target = standin.request_payment(
                settings.api_base or "", settings.secret_key, session_id, form.email.data.strip()
            )
        except (OSError, ValueError, KeyError) as exc:
            current_app.logger.warning("test checkout: the payment did not complete: %s", exc)
            error = _("The test checkout cannot be reached. Is `make run` still running?")
        else:
            return redirect(_ours(target) or "/", 303)
    status = 502 if error else 400 if request.method == "POST" else 200
    return render_template(
        "payments/test_checkout.html", form=form, error=error,
        amount=money(int(checkout.get("amount_total") or 0), str(checkout.get("currency") or "eur")),
        kind=_kind_of(checkout), cancel_url=_ours(checkout.get("cancel_url")),
    ), status  # fmt: skip
