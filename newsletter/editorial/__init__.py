"""Editorial: articles (written here or imported from feeds), feeds and their guarded fetch, issues
composed from articles and rendered per variant, the home page and the public archive of sent issues."""

from __future__ import annotations

from flask import Flask

from newsletter.editorial import (
    archive,
    cli,  # noqa: F401  (its command joins the newsletter group)
    digest_views,
    staff_views,
    views,
)


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(archive.bp)
    app.register_blueprint(staff_views.bp)
    app.register_blueprint(digest_views.bp)
