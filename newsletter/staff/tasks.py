"""The staff package's jobs: the audit log's retention purge, queued hourly by the clock (also ``flask --app
app newsletter purge-audit-log``; safe to run twice: a second run finds nothing old enough), and a
password-reset mail, for an address someone typed in or an admin chose."""

from __future__ import annotations

from flask import current_app

from db import db
from newsletter.mail import transactional
from newsletter.platform import audit
from newsletter.staff import account_links, accounts


def purge_audit_log(actor: str | None = audit.SYSTEM) -> int:
    """Remove the audit entries older than ``AUDIT_RETENTION_DAYS``; returns how many went. ``actor``: None
    for whoever runs it (the command line)."""
    return audit.purge_expired(db.session, retention_days=current_app.config["AUDIT_RETENTION_DAYS"],
                               actor=actor)  # fmt: skip


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
