"""The staff package's job: a password-reset mail, for an address someone typed in or an admin chose."""

from __future__ import annotations

from flask import current_app

from db import db
from newsletter.mail import transactional
from newsletter.staff import account_links, accounts


def send_password_reset(email: str, locale: str = "de") -> str:
    """Mail a reset link to the active account with this address; nothing for any other address. Looked up
    here, in the worker, so that the web page answers alike and as fast for every address. A temporary SMTP
    failure raises and RQ tries again; the link it then makes is as good as the first."""
    user = accounts.find_staff_user(db.session, email)
    if user is None or not user.active:
        return "no active account with this address"
    config = current_app.config
    token = account_links.password_reset_token(user)
    context = {"reset_url": config["BASE_URL"] + account_links.reset_path(token),
               "hours": account_links.RESET_HOURS}  # fmt: skip
    return transactional.send(config, "staff_password_reset", user.email, context, locale)
