"""Reader pages for gifts by transfer: a personal reference on request, the account and the GiroCode.
Thin: parse input, call a service, answer.

The reference page's address is a signed token, not the reference: nobody finds another donor's page by
trying references, and the request for one is rate-limited and answers the same for every address."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from db import db
from newsletter import api as newsletter_api
from newsletter.platform.extensions import limiter
from payments import amounts
from payments.amounts import money
from payments.checkout import donations
from payments.models import Donation, DonationStatus
from payments.transfers import girocode, iban, recording, references
from payments.transfers.forms import ReferenceForm

bp = Blueprint("transfers", __name__)

TOKEN_PURPOSE = "bank-transfer"  # noqa: S105 (names what a signed link is for)
TOKEN_LIFETIME = 400 * 24 * 3600  # a standing order's donor comes back to it within a year
MAX_TRANSFER_CENTS = 10_000_000  # 100,000 EUR: what the page accepts as an intended amount


def account() -> dict | None:
    """The newsroom's account as the pages show it, or None when gifts by transfer are off."""
    config = current_app.config
    if not config.get("BANK_IBAN"):
        return None
    return {"recipient": config["BANK_RECIPIENT"], "iban": iban.grouped(config["BANK_IBAN"]),
            "bic": config.get("BANK_BIC")}  # fmt: skip


@bp.app_context_processor
def _bank_transfer():
    return {"bank_transfer": account}


def _locale() -> str:
    locale = str(get_locale() or "de")
    return locale if locale in ("de", "en") else "de"


def _limit() -> str:
    return current_app.config["BANK_REFERENCE_RATE_LIMIT"]


@bp.route("/spenden/ueberweisung", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def request_reference():
    if account() is None:
        abort(404)
    form = ReferenceForm()
    if request.method == "GET":
        for name in ("issue", "link", "utm_source", "utm_medium", "utm_campaign", "article"):
            getattr(form, name).data = request.args.get(name, "")[:200]
        return render_template("payments/transfer_request.html", form=form)
    if not form.validate_on_submit():
        return render_template("payments/transfer_request.html", form=form,
                               error=_("Please check the highlighted fields.")), 400  # fmt: skip
    config = current_app.config
    amount = None
    if (form.amount.data or "").strip():
        try:
            amount = amounts.parse_amount(form.amount.data, min_cents=config["DONATION_MIN_CENTS"],
                                          max_cents=MAX_TRANSFER_CENTS)  # fmt: skip
        except amounts.DonationError:
            form.amount.errors = [*form.amount.errors, _(
                "Please type the amount in euros, for example 12 or 12,50, at least %(amount)s.",
                amount=money(config["DONATION_MIN_CENTS"]),
            )]  # fmt: skip
            return render_template("payments/transfer_request.html", form=form,
                                   error=_("Please check the highlighted fields.")), 400  # fmt: skip
    donation = recording.start_waiting_donation(
        db.session, amount_cents=amount, currency=config["DONATION_CURRENCY"], locale=_locale(),
        email=(form.email.data or "").strip() or None, attribution=donations.attribution_from(request.form),
    )  # fmt: skip
    db.session.commit()
    token = newsletter_api.make_token(TOKEN_PURPOSE, donation.id)
    return redirect(url_for("transfers.details", token=token), 303)


def _donation(token: str) -> Donation:
    try:
        donation_id = newsletter_api.read_token(TOKEN_PURPOSE, token, max_age=TOKEN_LIFETIME)
    except newsletter_api.TokenError as exc:
        abort(400, _("This link has expired.") if exc.expired else _("This link is not valid."))
    donation = db.session.get(Donation, donation_id) if isinstance(donation_id, int) else None
    if donation is None or donation.payment_method != recording.BANK_TRANSFER or account() is None:
        abort(404)
    return donation


def _code(donation: Donation):
    config = current_app.config
    return girocode.make(
        name=config["BANK_RECIPIENT"], iban=config["BANK_IBAN"], bic=config.get("BANK_BIC"),
        reference=references.shown(donation.reference),
        amount_cents=donation.amount_cents if donation.status is DonationStatus.OPEN else None,
    )  # fmt: skip


@bp.get("/spenden/ueberweisung/<token>")
def details(token: str):
    donation = _donation(token)
    intended = donation.amount_cents if donation.amount_cents > 0 else None
    return render_template(
        "payments/transfer_details.html", account=account(), token=token,
        reference=references.shown(donation.reference),
        amount=money(intended, donation.currency) if intended else None,
        received=donation.status is not DonationStatus.OPEN,
    )  # fmt: skip


@bp.get("/spenden/ueberweisung/<token>/girocode.svg")
def girocode_svg(token: str):
    body = girocode.svg(_code(_donation(token)))
    return Response(body, mimetype="image/svg+xml", headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/spenden/ueberweisung/<token>/girocode.png")
def girocode_png(token: str):
    body = girocode.png(_code(_donation(token)))
    return Response(body, mimetype="image/png", headers={
        "Cache-Control": "private, max-age=3600", "Content-Disposition": "inline; filename=girocode.png",
    })  # fmt: skip
