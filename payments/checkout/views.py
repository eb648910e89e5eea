"""Reader pages for donations: donate, thanks, cancelled, manage a monthly donation, the supporters' wall.
Thin: parse input, call a service, answer."""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, redirect, render_template, request
from flask_babel import force_locale, format_decimal, get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms.fields.choices import SelectChoice

from db import db
from newsletter import api as newsletter_api
from newsletter.platform import headers
from newsletter.platform.extensions import limiter
from payments import amounts, gateway
from payments.amounts import money
from payments.checkout import donations, fees, prices
from payments.checkout.forms import DonateForm
from payments.models import Donation, DonationKind
from payments.receipts.charity import charity_from_config
from payments.settings import stripe_settings
from payments.supporters import mails, states

bp = Blueprint("checkout", __name__)


# Stripe's own pages that our forms redirect to: Checkout (donate) and the customer portal (manage).
STRIPE_PAGES = ("https://checkout.stripe.com", "https://billing.stripe.com")
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.:\[\]-]+")


def _forms_may_go_to_stripe() -> None:
    """Browsers apply CSP ``form-action`` to the redirect that answers a form, so the page whose form
    leads to Checkout or the portal names their origins (and a stand-in's, where STRIPE_API_BASE points
    the SDK at one, as the browser tests do). Everything else keeps ``form-action 'self'``."""
    origins = list(STRIPE_PAGES)
    base = current_app.config.get("STRIPE_API_BASE")
    if base:
        parts = urlsplit(base)
        origin = f"{parts.scheme}://{parts.netloc}"
        if _ORIGIN.fullmatch(origin):
            origins.append(origin)
    headers.loosen(form_action=" ".join(["'self'", *origins]))


def _locale() -> str:
    locale = str(get_locale() or "de")
    return locale if locale in ("de", "en") else "de"


_AMOUNT_MESSAGES = {
    "amount_missing": lambda lo, hi: _("Please choose an amount or type one in."),
    "amount_invalid": lambda lo, hi: _("Please type the amount in euros, for example 12 or 12,50."),
    "amount_too_small": lambda lo, hi: _("The smallest amount we can take is %(amount)s.", amount=lo),
    "amount_too_large": lambda lo, hi: _(
        "Online we can take at most %(amount)s at once. For a larger gift, please write to us.", amount=hi
    ),
}


def _form(formdata=None) -> DonateForm:
    config = current_app.config
    form = DonateForm(formdata=formdata) if formdata is not None else DonateForm()
    form.kind.choices = [SelectChoice("one_time", _("Once")), SelectChoice("monthly", _("Monthly")),
                         SelectChoice("yearly", _("Yearly"))]  # fmt: skip
    presets = [SelectChoice(str(c), money(c)) for c in config["DONATION_PRESETS_CENTS"]]
    form.preset.choices = [*presets, SelectChoice("custom", _("Another amount"))]
    if formdata is None:
        form.preset.data = str(config["DONATION_PRESETS_CENTS"][1])
        for name in ("issue", "link", "utm_source", "utm_medium", "utm_campaign", "article"):
            getattr(form, name).data = request.args.get(name, "")[:200]
        if request.args.get("kind") in ("monthly", "yearly"):
            form.kind.data = request.args["kind"]
    return form


def _fee_offer(config) -> dict | None:
    """What the page says about covering the fee: the rule, and the fee on each preset amount in euros."""
    if not fees.offered(config):
        return None
    basis_points, fixed = fees.rule(config)
    presets = [
        {"amount": money(c), "fee": money(fees.fee_cents(c, config)), "cents": c,
         "fee_cents": fees.fee_cents(c, config)}
        for c in config["DONATION_PRESETS_CENTS"]
    ]  # fmt: skip
    return {"percent": format_decimal(basis_points / 100), "fixed": money(fixed), "presets": presets,
            "basis_points": basis_points, "fixed_cents": fixed}  # fmt: skip


def _page(form: DonateForm, status: int = 200, **extra):
    config = current_app.config
    return render_template(
        "payments/donate.html", form=form, enabled=stripe_settings() is not None,
        staff=current_user.is_authenticated, wall=states.wall(db.session, limit=30),
        goal=config["DONATION_GOAL_MONTHLY"], regular_count=states.regular_count(db.session),
        min_amount=money(config["DONATION_MIN_CENTS"]), max_amount=money(config["DONATION_MAX_CENTS"]),
        fee_offer=_fee_offer(config), **extra,
    ), status  # fmt: skip


def _donate_limit() -> str:
    return current_app.config["DONATE_RATE_LIMIT"]


@bp.route("/donate", methods=["GET", "POST"])
@bp.route("/spenden", methods=["GET", "POST"])  # registered first: the address url_for gives
@limiter.limit(_donate_limit, methods=["POST"])
def donate():
    _forms_may_go_to_stripe()
    if request.method == "GET":
        return _page(_form())
    settings = stripe_settings()
    form = _form(formdata=request.form)
    if settings is None:
        return _page(form, 503)
    if not form.validate():
        return _page(form, 400, error=_("Please check the highlighted fields."))
    config = current_app.config
    try:
        if form.preset.data and form.preset.data != "custom":
            if form.preset.data not in {str(c) for c in config["DONATION_PRESETS_CENTS"]}:
                raise amounts.DonationError("amount_invalid")
            amount = int(form.preset.data)
        else:
            amount = amounts.parse_amount(
                form.custom_amount.data, min_cents=config["DONATION_MIN_CENTS"],
                max_cents=config["DONATION_MAX_CENTS"],
            )  # fmt: skip
    except amounts.DonationError as exc:
        message = _AMOUNT_MESSAGES[exc.code](
            money(config["DONATION_MIN_CENTS"]), money(config["DONATION_MAX_CENTS"])
        )
        form.custom_amount.errors = [*form.custom_amount.errors, message]
        return _page(form, 400, error=message)
    fee = 0
    if form.cover_fee.data:
        fee = fees.fee_cents(amount, config)
        if not fees.offered(config):
            message = _("Covering the payment fee is not offered. Nothing was charged.")
            form.cover_fee.errors = [message]
            return _page(form, 400, error=message)
        if form.fee_cents.data and form.fee_cents.data != str(fee):
            message = _(
                "The fee for %(amount)s is %(fee)s, not the figure sent. Nothing was charged; please check "
                "and continue.", amount=money(amount), fee=money(fee),
            )  # fmt: skip
            form.cover_fee.errors = [message]
            return _page(form, 400, error=message)
    public_name = (form.public_name.data or "").strip() if form.show_publicly.data else ""
    donation = donations.start_donation(
        db.session, kind=DonationKind(form.kind.data), amount_cents=amount,
        currency=config["DONATION_CURRENCY"],
        locale=_locale(), email=(form.email.data or "").strip() or None,
        message=(form.message.data or "").strip() or None, public_name=public_name or None,
        attribution=donations.attribution_from(request.form), fee_covered_cents=fee,
    )  # fmt: skip
    try:
        url = donations.open_checkout(
            db.session, donation, settings, base_url=config["BASE_URL"], product_name=_product_name(donation),
            collect_address=charity_from_config(config) is not None,
            fee_name=_("Payment fee, covered by you"),
        )
    except gateway.GatewayError as exc:
        current_app.logger.warning("checkout could not start: %s", exc)
        return _page(form, 502, error=_(
            "The payment service cannot be reached right now. Nothing was charged. Please try again in a "
            "few minutes."
        ))  # fmt: skip
    return redirect(url, 303)


def _product_name(donation: Donation) -> str:
    """What Checkout shows. The monthly and yearly Products are one each for every reader, so their names
    are in the newsroom's own language; a one-time gift's is in the reader's."""
    name = current_app.config["NEWSROOM_NAME"]
    if donation.kind is DonationKind.ONE_TIME:
        return _("Donation to %(name)s", name=name)
    with force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE") or "de"):
        if donation.kind is DonationKind.YEARLY:
            return _("Yearly donation to %(name)s", name=name)
        return _("Monthly donation to %(name)s", name=name)


@bp.get("/spenden/danke")
def thanks():
    """Confirms from the Checkout Session (asked of Stripe), never from the address bar alone."""
    settings = stripe_settings()
    session_id = request.args.get("session_id", "")
    shown = None
    if settings is not None and session_id.startswith("cs_") and len(session_id) < 255:
        try:
            checkout = gateway.retrieve_checkout_session(settings, session_id)
        except gateway.GatewayError:
            checkout = None
        reference = str((checkout or {}).get("client_reference_id") or "")
        donation = db.session.get(Donation, int(reference)) if reference.isdigit() else None
        if donation is not None and donation.stripe_session_id == session_id:
            shown = {
                "amount": money(donation.amount_cents, donation.currency),
                "fee": money(donation.fee_covered_cents, donation.currency)
                if donation.fee_covered_cents else None,
                "monthly": donation.kind is DonationKind.MONTHLY,
                "yearly": donation.kind is DonationKind.YEARLY,
                "paid": checkout.get("payment_status") in ("paid", "no_payment_required"),
            }
    return render_template("payments/thanks.html", shown=shown)


@bp.get("/spenden/abgebrochen")
def cancelled():
    donation = donations.find_donation_by_reference(db.session, request.args.get("ref", ""))
    again = {"kind": donation.kind.value} if donation is not None else {}
    return render_template("payments/cancelled.html", again=again)


def _donation_from_portal_token(token: str) -> Donation:
    try:
        donation_id = newsletter_api.read_token(
            mails.PORTAL_PURPOSE, token, max_age=mails.PORTAL_LIFETIME
        )
    except newsletter_api.TokenError as exc:
        abort(400, _("This link has expired.") if exc.expired else _("This link is not valid."))
    donation = db.session.get(Donation, donation_id) if isinstance(donation_id, int) else None
    if donation is None or donation.donor is None or not donation.donor.stripe_customer_id:
        abort(404)
    return donation


@bp.route("/spenden/verwalten/<token>", methods=["GET", "POST"])
def manage(token: str):
    """From the mail's signed link: GET shows a button (mail scanners open links), POST opens Stripe's
    customer portal, where the donor changes the card or the amount, or ends the monthly donation."""
    _forms_may_go_to_stripe()
    donation = _donation_from_portal_token(token)
    settings = stripe_settings()
    form = FlaskForm()  # the CSRF token only
    if request.method == "GET" or settings is None or not form.validate_on_submit():
        status = 200 if request.method == "GET" else 400
        return render_template("payments/manage.html", form=form, enabled=settings is not None), status
    customer_id, donation_id, locale = donation.donor.stripe_customer_id, donation.id, donation.locale
    config = current_app.config
    try:
        configuration = _portal_configuration(settings)
        portal = gateway.create_portal_session(
            settings, customer_id=customer_id, return_url=f"{config['BASE_URL']}/spenden", locale=locale,
            idempotency_key=f"beitrag-portal-{donation_id}-{int(time.time() // 300)}",
            configuration=configuration,
        )  # fmt: skip
    except gateway.GatewayError as exc:
        current_app.logger.warning("portal could not start: %s", exc)
        return render_template(
            "payments/manage.html", form=form, enabled=True,
            error=_("The payment service cannot be reached right now. Please try again in a few minutes."),
        ), 502  # fmt: skip
    return redirect(portal["url"], 303)


def _portal_configuration(settings: gateway.StripeSettings) -> str | None:
    """The portal configuration that offers the preset amounts; None (the account's default portal) when
    it cannot be made, so that changing the card or ending the donation still works."""
    config = current_app.config
    try:
        with force_locale(config.get("BABEL_DEFAULT_LOCALE") or "de"):
            name = _("Monthly donation to %(name)s", name=config["NEWSROOM_NAME"])
        return prices.portal_configuration(
            db.session, settings, product_id=settings.product_id, product_name=name,
            currency=config["DONATION_CURRENCY"], presets=tuple(config["DONATION_PRESETS_CENTS"]),
        )  # fmt: skip
    except gateway.GatewayError as exc:
        db.session.rollback()
        current_app.logger.warning("portal configuration not made, the account's default is used: %s", exc)
        return None
    finally:
        db.session.commit()


@bp.get("/spenden/unterstuetzer")
def wall():
    return render_template("payments/wall.html", wall=states.wall(db.session, limit=500))
