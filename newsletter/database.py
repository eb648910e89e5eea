"""Start-up checks for the database, and the schema upgrade that development runs on every start."""

from __future__ import annotations

import fcntl
from pathlib import Path

from flask import Flask
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from db import db


class DatabaseUnavailable(RuntimeError):
    """The database could not be reached; the message names it (without password) and the cause."""


def check_connection(app: Flask) -> None:
    with app.app_context():
        try:
            with db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            url = db.engine.url.render_as_string(hide_password=True)
            cause = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            raise DatabaseUnavailable(
                f"the database at {url} is unreachable ({cause}). "
                "Check DATABASE_URL and that the server runs."
            ) from None


def upgrade_schema(app: Flask) -> None:
    """Alembic upgrade to the newest revision, one process at a time (web, worker and CLI start together)."""
    from flask_migrate import upgrade

    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    with open(Path(app.instance_path) / "migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with app.app_context():
            upgrade()


def init_database(app: Flask) -> None:
    if app.config.get("CHECK_SERVICES", True):
        check_connection(app)
    if app.config.get("AUTO_MIGRATE"):
        upgrade_schema(app)
