"""The staff package's job: the audit log's retention purge, queued hourly by the clock (also ``flask --app
app newsletter purge-audit-log``). Safe to run twice: a second run finds nothing old enough."""

from __future__ import annotations

from flask import current_app

from db import db
from newsletter.platform import audit


def purge_audit_log(actor: str | None = audit.SYSTEM) -> int:
    """Remove the audit entries older than ``AUDIT_RETENTION_DAYS``; returns how many went. ``actor``: None
    for whoever runs it (the command line)."""
    return audit.purge_expired(db.session, retention_days=current_app.config["AUDIT_RETENTION_DAYS"],
                               actor=actor)  # fmt: skip
