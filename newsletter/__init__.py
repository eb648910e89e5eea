"""The newsletter side of Beitrag: staff, readers, articles, issues and the send path."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from . import admin, cli, errors, reader_views, rendering, session_cookie, signup_limits, views
    from .accounts import load_staff_user
    from .extensions import login_manager

    app.register_blueprint(views.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(reader_views.bp)
    from . import subscriber_admin

    app.register_blueprint(subscriber_admin.bp)
    from . import archive, editorial_admin

    app.register_blueprint(editorial_admin.bp)
    app.register_blueprint(archive.bp)
    from . import ses_webhook

    app.register_blueprint(ses_webhook.bp)
    cli.init_app(app)
    errors.init_app(app)
    rendering.init_app(app)
    signup_limits.init_app(app)
    session_cookie.init_app(app)

    login_manager.login_view = "staff.login"
    login_manager.login_message_category = "info"
    # Flask-Login's own message is English only; this one is translated when shown.
    from flask_babel import lazy_gettext

    login_manager.login_message = lazy_gettext("Please sign in to see this page.")
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def _load_user(user_id: str):
        from db import db

        return load_staff_user(db.session, user_id)
