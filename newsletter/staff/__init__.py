"""Staff: the newsroom's accounts (editors, admins), signing in and out on sessions kept on the server, with
an optional second factor, the limits on signing in, invitations and password resets, API tokens, the audit
log's page and its retention purge, the staff pages of their own, and the captured-mail viewer of
development."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext

from newsletter.platform import clock, queues
from newsletter.platform.extensions import login_manager
from newsletter.staff import account_views, audit_views, cli, signin, signin_limits, views  # noqa: F401

# (account_views adds its routes to views.bp when imported)


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.register_blueprint(audit_views.bp)
    app.cli.add_command(cli.users_cli)
    # Audit entries older than AUDIT_RETENTION_DAYS go; hourly, so none outlives its time by much.
    clock.register(app, queues.PURGE_AUDIT_LOG, 3600)
    login_manager.login_view = "staff.login"
    login_manager.login_message_category = "info"
    # Flask-Login's own message is English only; this one is translated when shown.
    login_manager.login_message = lazy_gettext("Please sign in to see this page.")
    login_manager.session_protection = "strong"
    login_manager.user_loader(signin.load_user)
    signin.init_app(app)
    signin_limits.init_app(app)
