"""What every package stands on: settings, the Flask extensions, the database and Redis connections, the
queues and the clock, languages, security headers, error pages, the session cookie, staff access rules,
signed tokens, CSV cells and the audit log's record. It imports nothing of the domain packages."""

from __future__ import annotations

import os

from flask import Flask

from db import db
from newsletter.platform import (
    audit,  # noqa: F401  (its table joins the metadata)
    bodies,
    cli,
    errors,
    extensions,
    headers,
    i18n,
    ids,
    queues,
    redis_server,
    session_cookie,
    views,
)
from newsletter.platform.extensions import csrf, limiter, login_manager, migrate


def init_app(app: Flask) -> None:
    """Bind the extensions and the platform's own hooks, pages and command groups to ``app``."""
    ids.init_app(app)  # before any route is added: routes take their converters when they are added
    queues.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_server.limiter_storage_uri(app.config["REDIS_URL"]))
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(app.root_path, "migrations"), render_as_batch=True)
    with extensions.sparing_lean_endpoints(app):
        csrf.init_app(app)
        login_manager.init_app(app)
        limiter.init_app(app)
    bodies.init_app(app)  # its hook goes first, before the CSRF check and the limiter could read a body
    i18n.init_app(app)
    headers.init_app(app)
    errors.init_app(app)
    session_cookie.init_app(app)
    app.register_blueprint(views.bp)
    cli.init_app(app)
