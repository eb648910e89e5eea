"""Statistics: reporting periods, the readers' and issues' figures, the statistics pages, their CSV export,
the staff JSON API and the admins' deliverability page. Read-only: the summaries the figures read are
written where the facts change (``sending.tallies``, and the donations side's own)."""

from __future__ import annotations

from flask import Flask

from newsletter.staff import views as staff_views
from newsletter.stats import api_views, deliverability_views, tables, views


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(api_views.bp)
    app.register_blueprint(deliverability_views.bp)
    tables.init_app(app)
    staff_views.set_home(app, "stats.overview")
