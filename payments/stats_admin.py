"""The statistics pages, their CSV export and the staff JSON API: thin views over ``payments.stats``.

Who sees what: the dashboard with money and donor figures is for admins; the issue statistics (readers and
issues, no money) for editors too. CSV tables follow the same rule, table by table. The API takes a staff
API token (``Authorization: Bearer ...``): an admin's token gets every figure, an editor's the figures
without money (the same as the issue page), and asking it for a money table answers 403.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, format_number
from flask_babel import gettext as _
from flask_login import current_user

from db import db, utcnow
from newsletter import api as newsletter_api

from . import stats
from .views import money

bp = Blueprint("stats", __name__, url_prefix="/staff/stats")
newsletter_api.guard_blueprint(bp, newsletter_api.StaffRole.EDITOR)
api_bp = Blueprint("stats_api", __name__, url_prefix="/api/staff")


def _zone() -> str:
    return str(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Berlin")


def _currency() -> str:
    return str(current_app.config.get("DONATION_CURRENCY", "eur")).lower()


def _period(args):
    return newsletter_api.parse_period(
        args.get("period"), args.get("from"), args.get("to"), zone=_zone(), now=utcnow()
    )


@bp.app_template_filter("month_label")
def month_label(value: str) -> str:
    """``2026-01`` as the reader's language writes a month: "Jan. 2026", "Jan 2026"."""
    year, month = value.split("-")
    return format_date(date(int(year), int(month), 1), "MMM yyyy")


def _n(value) -> str:
    return format_number(value)


def _m(cents: int, currency: str) -> str:
    return money(cents, currency)


@bp.app_template_filter("readers_row")
def readers_row(r: dict) -> list:
    keys = ("new", "confirmed", "unsubscribed", "bounced", "net")
    return [month_label(r["month"]), *(_n(r[k]) for k in keys)]


@bp.app_template_filter("issue_row")
def issue_row(r: dict) -> list:
    counts = [_n(r[k]) for k in ("recipients", "sent", "failed", "bounced", "unsubscribed")]
    clicks = "–" if r["clicks"] is None else _n(r["clicks"])
    return [r["subject"], format_datetime(r["sent_at"], "short"), *counts, clicks]


@bp.app_template_filter("link_clicks_row")
def link_clicks_row(link: tuple[str, int]) -> list:
    return [link[0], _n(link[1])]


@bp.app_template_filter("issue_bar")
def issue_bar(r: dict) -> dict:
    return {"label": r["subject"], "value": r["recipients"], "shown": _n(r["recipients"])}


@bp.app_template_filter("revenue_row")
def revenue_row(r: dict, currency: str) -> list:
    keys = ("gross_cents", "one_time_cents", "monthly_cents", "refunded_cents", "disputes_lost_cents",
            "net_cents")  # fmt: skip
    return [month_label(r["month"]), _n(r["payments"]), *(_m(r[k], currency) for k in keys)]


@bp.app_template_filter("mrr_row")
def mrr_row(r: dict, currency: str) -> list:
    return [month_label(r["month"]), _m(r["mrr_cents"], currency), _n(r["supporters"])]


@bp.app_template_filter("conversion_row")
def conversion_row(r: dict, key: str) -> list:
    name = r[key] or ("–" if key == "newsletter" else _("unknown"))
    return [name, _n(r["readers"]), _n(r["givers"]), format_decimal(r["percent"]) + " %"]


@bp.app_template_filter("conversion_bar")
def conversion_bar(r: dict, key: str) -> dict:
    shown = format_decimal(r["percent"]) + " %"
    return {"label": r[key] or _("unknown"), "value": r["percent"], "shown": shown}


@bp.app_template_filter("issue_donation_row")
def issue_donation_row(r: dict, currency: str) -> list:
    per = "–" if r["donations_per_1000"] is None else format_decimal(r["donations_per_1000"])
    cents = "–" if r["cents_per_1000"] is None else _m(r["cents_per_1000"], currency)
    return [r["subject"], _n(r["recipients"]), _n(r["donations"]), _n(r["monthly"]),
            _m(r["amount_cents"], currency), per, cents]  # fmt: skip


@bp.app_template_filter("issue_donation_bar")
def issue_donation_bar(r: dict) -> dict:
    value = r["donations_per_1000"] or 0
    return {"label": r["subject"], "value": value, "shown": format_decimal(value)}


@bp.app_template_filter("issue_link_row")
def issue_link_row(r: dict, currency: str) -> list:
    return [r["subject"], r["link"] or _("unknown"), _n(r["donations"]), _n(r["monthly"]),
            _m(r["amount_cents"], currency)]  # fmt: skip


def _render(template: str, *, money: bool):
    error = None
    try:
        period = _period(request.args)
    except newsletter_api.PeriodError as exc:
        error = str(exc)
        period = newsletter_api.parse_period(None, None, None, zone=_zone(), now=utcnow())
    figures = stats.dashboard(db.session, period, currency=_currency(), money=money)
    html = render_template(
        template, figures=figures, period=period, error=error, presets=newsletter_api.PRESETS,
        args={k: request.args.get(k, "") for k in ("period", "from", "to")},
    )  # fmt: skip
    return html, (400 if error else 200)


@bp.get("/")
@newsletter_api.requires_role(newsletter_api.StaffRole.ADMIN)
def dashboard():
    return _render("admin/stats.html", money=True)


@bp.get("/issues")
def issue_stats():
    return _render("admin/issue_stats.html", money=False)


# -- tables: the CSV export, from the same figures --------------------------------------------------


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else ("" if value is None else str(value))


def _money_tables(f: dict) -> dict[str, tuple[list[str], list[list]]]:
    return {
        "revenue": (
            ["month", "payments", "gross_cents", "one_time_cents", "monthly_cents", "refunded_cents",
             "disputes_lost_cents", "net_cents"],
            [[r[k] for k in ("month", "payments", "gross_cents", "one_time_cents", "monthly_cents",
                             "refunded_cents", "disputes_lost_cents", "net_cents")]
             for r in f["revenue"]["months"]],
        ),
        "mrr": (["month", "at", "mrr_cents", "supporters"],
                [[r["month"], _iso(r["at"]), r["mrr_cents"], r["supporters"]] for r in f["mrr"]["months"]]),
        "conversion-newsletters": (
            ["newsletter", "readers", "givers", "percent"],
            [[r["newsletter"], r["readers"], r["givers"], r["percent"]]
             for r in f["conversion"]["by_newsletter"]],
        ),
        "conversion-sources": (
            ["source", "readers", "givers", "percent"],
            [[r["source"], r["readers"], r["givers"], r["percent"]] for r in f["conversion"]["by_source"]],
        ),
        "issue-donations": (
            ["issue_id", "subject", "sent_at", "recipients", "donations", "monthly", "amount_cents",
             "donations_per_1000", "cents_per_1000"],
            [[r["issue_id"], r["subject"], _iso(r["sent_at"]), r["recipients"], r["donations"], r["monthly"],
              r["amount_cents"], r["donations_per_1000"], r["cents_per_1000"]]
             for r in f["issue_donations"]["issues"]],
        ),
        "issue-links": (
            ["issue_id", "subject", "link", "donations", "monthly", "amount_cents"],
            [[r["issue_id"], r["subject"], r["link"], r["donations"], r["monthly"], r["amount_cents"]]
             for r in f["issue_donations"]["links"]],
        ),
    }  # fmt: skip


def _plain_tables(f: dict) -> dict[str, tuple[list[str], list[list]]]:
    keys = ("month", "new", "confirmed", "unsubscribed", "bounced", "net")
    issue_keys = ("issue_id", "subject", "sent_at", "recipients", "sent", "failed", "bounced", "unsubscribed",
                  "clicks")  # fmt: skip
    return {
        "subscribers": (list(keys), [[r[k] for k in keys] for r in f["subscribers"]["months"]]),
        "issues": (
            list(issue_keys),
            [[_iso(r[k]) if k == "sent_at" else r[k] for k in issue_keys] for r in f["issues"]],
        ),
        "clicks": (
            ["issue_id", "subject", "link", "clicks"],
            [[r["issue_id"], r["subject"], url, n] for r in f["issues"] for url, n in r["links"]],
        ),
    }


PLAIN_TABLES = ("subscribers", "issues", "clicks")
MONEY_TABLES = ("revenue", "mrr", "conversion-newsletters", "conversion-sources", "issue-donations",
                "issue-links")  # fmt: skip


def _csv(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([newsletter_api.csv_cell(cell) for cell in row])
    return "\ufeff" + buffer.getvalue()


@bp.get("/export/<name>.csv")
def export(name: str):
    if name not in PLAIN_TABLES + MONEY_TABLES:
        abort(404)
    money = name in MONEY_TABLES
    if money and not current_user.has_role(newsletter_api.StaffRole.ADMIN):
        abort(403)
    try:
        period = _period(request.args)
    except newsletter_api.PeriodError as exc:
        return Response(str(exc), status=400, mimetype="text/plain")
    figures = stats.dashboard(db.session, period, currency=_currency(), money=money)
    header, rows = (_money_tables if money else _plain_tables)(figures)[name]
    filename = f"beitrag-{name}-{period.first_day.isoformat()}-{period.last_day.isoformat()}.csv"
    return Response(_csv(header, rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip


def csv_url(name: str, period) -> str:
    return url_for("stats.export", name=name, period="custom", **{"from": period.first_day.isoformat(),
                                                                   "to": period.last_day.isoformat()})


@bp.app_context_processor
def _stats_helpers():
    return {"stats_csv_url": csv_url}


# -- the staff JSON API ------------------------------------------------------------------------------


def _json_ready(value):
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    return value


def _api_error(status: int, message: str):
    response = jsonify({"error": message})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="beitrag"'
    return response


@api_bp.get("/stats")
def api_stats():
    """The figures of the statistics page as JSON. ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` or ``?period=``;
    ``?money=0`` asks for the figures without money (what an editor's token always gets)."""
    scheme, _sep, token = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _api_error(401, "send a staff API token: Authorization: Bearer <token>")
    user = newsletter_api.staff_for_api_token(db.session, token.strip())
    if user is None:
        db.session.rollback()
        return _api_error(401, "unknown or revoked token")
    db.session.commit()  # last used
    admin = user.has_role(newsletter_api.StaffRole.ADMIN)
    wants_money = request.args.get("money", "1" if admin else "0") not in ("0", "false", "no")
    if wants_money and not admin:
        return _api_error(403, "money and donor figures are for admins; ask with money=0")
    try:
        period = _period(request.args)
    except newsletter_api.PeriodError as exc:
        return _api_error(400, str(exc))
    figures = stats.dashboard(db.session, period, currency=_currency(), money=wants_money)
    return jsonify(_json_ready(figures))


def init_app(app) -> None:
    from newsletter.extensions import csrf

    app.register_blueprint(bp)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # GET only, token in a header: no cookie to forge a request with
