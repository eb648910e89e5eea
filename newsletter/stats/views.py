"""The statistics pages and their CSV export: the staff overview, the issue statistics (readers and issues,
no money; editors too) and the admin dashboard, which adds the donations side's money figures
(``ports.money_report``). CSV tables follow the same rule, table by table. Thin views over
``stats.figures`` and the money report."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import format_datetime, format_number
from flask_login import current_user
from sqlalchemy import func, select

from db import db, utcnow
from newsletter import ports
from newsletter.editorial.models import Article
from newsletter.platform.access import StaffRole, guard_blueprint, requires_role
from newsletter.platform.csv_cells import neutralize
from newsletter.platform.forms import ActionForm
from newsletter.platform.i18n import month_label
from newsletter.readers.models import Newsletter, Subscriber, SubscriberStatus
from newsletter.staff.models import StaffUser
from newsletter.stats import figures
from newsletter.stats.periods import PRESETS, Period, PeriodError, parse_period

bp = Blueprint("stats", __name__, url_prefix="/staff")
guard_blueprint(bp, StaffRole.EDITOR)


@bp.get("/")
def overview():
    """The staff's first page: readers by state, newsletters, articles, staff, the latest articles."""
    status_counts = dict(
        db.session.execute(select(Subscriber.status, func.count()).group_by(Subscriber.status)).all()
    )
    counts = {
        "active": status_counts.get(SubscriberStatus.ACTIVE, 0),
        "pending": status_counts.get(SubscriberStatus.PENDING, 0),
        "unsubscribed": status_counts.get(SubscriberStatus.UNSUBSCRIBED, 0),
        "bounced": status_counts.get(SubscriberStatus.BOUNCED, 0)
        + status_counts.get(SubscriberStatus.COMPLAINED, 0),
        "newsletters": db.session.scalar(select(func.count()).select_from(Newsletter)) or 0,
        "articles": db.session.scalar(select(func.count()).select_from(Article)) or 0,
        "staff": db.session.scalar(select(func.count()).select_from(StaffUser)) or 0,
    }
    latest = db.session.scalars(select(Article).order_by(Article.published_at.desc()).limit(5)).all()
    return render_template("admin/dashboard.html", counts=counts, latest=latest, test_mail_form=ActionForm())


def zone() -> str:
    return str(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Berlin")


def period_from(args) -> Period:
    """The period the request asks for (``?period=`` or ``?from=&to=``); raises :class:`PeriodError`."""
    return parse_period(args.get("period"), args.get("from"), args.get("to"), zone=zone(), now=utcnow())


def page_figures(period: Period, *, money: bool) -> dict:
    """Every figure of a statistics page: with ``money`` the donations side's whole dashboard (readers and
    issues included), else the newsletter's own figures."""
    report = ports.money_report()
    if money and report is not None:
        return report.figures(db.session, period)
    return figures.dashboard(db.session, period)


@bp.app_template_filter("readers_row")
def readers_row(r: dict) -> list:
    keys = ("new", "confirmed", "unsubscribed", "bounced", "net")
    return [month_label(r["month"]), *(format_number(r[k]) for k in keys)]


@bp.app_template_filter("issue_row")
def issue_row(r: dict) -> list:
    counts = [format_number(r[k]) for k in ("recipients", "sent", "failed", "bounced", "unsubscribed")]
    clicks = "–" if r["clicks"] is None else format_number(r["clicks"])
    return [r["subject"], format_datetime(r["sent_at"], "short"), *counts, clicks]


@bp.app_template_filter("link_clicks_row")
def link_clicks_row(link: tuple[str, int]) -> list:
    return [link[0], format_number(link[1])]


@bp.app_template_filter("issue_bar")
def issue_bar(r: dict) -> dict:
    return {"label": r["subject"], "value": r["recipients"], "shown": format_number(r["recipients"])}


def _render(template: str, *, money: bool):
    error = None
    try:
        period = period_from(request.args)
    except PeriodError as exc:
        error = str(exc)
        period = parse_period(None, None, None, zone=zone(), now=utcnow())
    html = render_template(
        template, figures=page_figures(period, money=money), period=period, error=error, presets=PRESETS,
        args={k: request.args.get(k, "") for k in ("period", "from", "to")},
    )  # fmt: skip
    return html, (400 if error else 200)


@bp.get("/stats/")
@requires_role(StaffRole.ADMIN)
def dashboard():
    if ports.money_report() is None:
        abort(404)
    return _render("admin/stats.html", money=True)


@bp.get("/stats/issues")
def issue_stats():
    return _render("admin/issue_stats.html", money=False)


# -- tables: the CSV export, from the same figures --------------------------------------------------


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else ("" if value is None else str(value))


def plain_tables(f: dict) -> dict[str, tuple[list[str], list[list]]]:
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


def _csv(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralize(cell) for cell in row])
    return "\ufeff" + buffer.getvalue()


@bp.get("/stats/export/<name>.csv")
def export(name: str):
    report = ports.money_report()
    money_tables = report.table_names if report is not None else ()
    if name not in PLAIN_TABLES + money_tables:
        abort(404)
    money = name in money_tables
    if money and not current_user.has_role(StaffRole.ADMIN):
        abort(403)
    try:
        period = period_from(request.args)
    except PeriodError as exc:
        return Response(str(exc), status=400, mimetype="text/plain")
    shown = page_figures(period, money=money)
    header, rows = (report.tables(shown) if money else plain_tables(shown))[name]
    filename = f"beitrag-{name}-{period.first_day.isoformat()}-{period.last_day.isoformat()}.csv"
    return Response(_csv(header, rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip


def csv_url(name: str, period: Period) -> str:
    return url_for("stats.export", name=name, period="custom", **{"from": period.first_day.isoformat(),
                                                                   "to": period.last_day.isoformat()})


@bp.app_context_processor
def _stats_helpers():
    return {"stats_csv_url": csv_url}
