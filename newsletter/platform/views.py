"""The platform's own page: the health check load balancers ask."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("platform", __name__)


@bp.get("/healthz")
def health():
    """For load balancers: answers without touching the database."""
    return {"status": "ok"}
