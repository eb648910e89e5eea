"""Staff: the newsroom's accounts (editors, admins), signing in and out with an optional second factor,
invitations and password resets, API tokens, the staff pages of their own, and the captured-mail viewer of
development."""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import lazy_gettext

from db import db
from newsletter.platform.extensions import login_manager
from newsletter.staff import account_views, accounts, cli, two_factor, views  # noqa: F401  (account_views

# adds its routes to views.bp when imported)


def _load_user(user_id: str):
    user = accounts.load_staff_user(db.session, user_id)
    if user is None or user.two_factor_enabled:
        return user
    if two_factor.required(db.session, current_app.config):
        # The newsroom requires a second factor this account has not set up: no page opens until it signs
        # in again and sets one up.
        return None
    return user


def init_app(app: Flask) -> None:
    app.register_blueprint(views.bp)
    app.cli.add_command(cli.users_cli)
    login_manager.login_view = "staff.login"
    login_manager.login_message_category = "info"
    # Flask-Login's own message is English only; this one is translated when shown.
    login_manager.login_message = lazy_gettext("Please sign in to see this page.")
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_user)
