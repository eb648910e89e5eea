"""The staff JSON API: ``GET /api/staff/stats``, the figures of the statistics pages, for a staff API
token (``Authorization: Bearer ...``). An admin's token gets every figure, an editor's the figures without
money (the same as the issue page); asking with an editor's token for money answers 403."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, jsonify, request

from db import db, utcnow
from newsletter.platform.access import StaffRole
from newsletter.platform.extensions import csrf
from newsletter.platform.i18n import newsroom_zone
from newsletter.staff.accounts import staff_for_api_token
from newsletter.stats import figures
from newsletter.stats.periods import PeriodError, period_from

bp = Blueprint("stats_api", __name__, url_prefix="/api/staff")
csrf.exempt(bp)  # GET only, token in a header: no cookie to forge a request with


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


@bp.get("/stats")
def api_stats():
    """The figures of the statistics page as JSON. ``?from=YYYY-MM-DD&to=YYYY-MM-DD`` or ``?period=``;
    ``?money=0`` asks for the figures without money (what an editor's token always gets)."""
    scheme, _sep, token = (request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _api_error(401, "send a staff API token: Authorization: Bearer <token>")
    user = staff_for_api_token(db.session, token.strip())
    if user is None:
        db.session.rollback()
        return _api_error(401, "unknown or revoked token")
    db.session.commit()  # last used
    admin = user.has_role(StaffRole.ADMIN)
    wants_money = request.args.get("money", "1" if admin else "0") not in ("0", "false", "no")
    if wants_money and not admin:
        return _api_error(403, "money and donor figures are for admins; ask with money=0")
    try:
        period = period_from(request.args, zone=newsroom_zone(), now=utcnow())
    except PeriodError as exc:
        return _api_error(400, str(exc))
    return jsonify(_json_ready(figures.page_figures(db.session, period, money=wants_money)))

