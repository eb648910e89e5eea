"""The statistics pages and their CSV export: the staff overview, the issue statistics (readers and issues,
no money; editors too) and the admin dashboard, which adds the donations side's money figures
(``ports.money_report``). CSV tables follow the same rule, table by table. Thin views over ``figures`` and
``tables``."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_login import current_user

from db import db, utcnow
from newsletter import ports
from newsletter.platform import audit
from newsletter.platform.access import StaffRole, guard_blueprint, requires_role
from newsletter.platform.forms import ActionForm
from newsletter.platform.i18n import newsroom_zone
from newsletter.stats import figures, tables
from newsletter.stats.periods import PRESETS, Period, PeriodError, period_from

bp = Blueprint("stats", __name__, url_prefix="/staff")
guard_blueprint(bp, StaffRole.EDITOR)


@bp.get("/")
def overview():
    """The staff's first page: readers by state, newsletters, articles, staff, the latest articles."""
    counts, latest = figures.overview(db.session)
    return render_template("admin/dashboard.html", counts=counts, latest=latest, test_mail_form=ActionForm())


def _render(template: str, *, money: bool):
    error = None
    try:
        period = period_from(request.args, zone=newsroom_zone(), now=utcnow())
    except PeriodError as exc:
        error = str(exc)
        period = period_from({}, zone=newsroom_zone(), now=utcnow())
    shown = figures.page_figures(db.session, period, money=money)
    if not money:
        shown = {**shown, "shares": figures.share_figures(db.session, period)}
    html = render_template(
        template, figures=shown, period=period, error=error, presets=PRESETS,
        welcomes=figures.welcome_rows(db.session, period),
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


@bp.get("/stats/export/<name>.csv")
def export(name: str):
    report = ports.money_report()
    money_tables = report.table_names if report is not None else ()
    if name not in tables.PLAIN_TABLES + money_tables:
        abort(404)
    money = name in money_tables
    if money and not current_user.has_role(StaffRole.ADMIN):
        abort(403)
    try:
        period = period_from(request.args, zone=newsroom_zone(), now=utcnow())
    except PeriodError as exc:
        return Response(str(exc), status=400, mimetype="text/plain")
    shown = figures.page_figures(db.session, period, money=money)
    if name == "shares":
        shown = {**shown, "shares": figures.share_figures(db.session, period)}
    header, rows = (report.tables(shown) if money else tables.plain_tables(shown))[name]
    days = {"from": period.first_day.isoformat(), "to": period.last_day.isoformat()}
    audit.record(db.session, "stats.export", target=("export", name), detail=days)
    db.session.commit()
    filename = f"beitrag-{name}-{period.first_day.isoformat()}-{period.last_day.isoformat()}.csv"
    return Response(tables.csv_text(header, rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})  # fmt: skip


def csv_url(name: str, period: Period) -> str:
    return url_for("stats.export", name=name, period="custom", **{"from": period.first_day.isoformat(),
                                                                   "to": period.last_day.isoformat()})


@bp.app_context_processor
def _stats_helpers():
    return {"stats_csv_url": csv_url}
