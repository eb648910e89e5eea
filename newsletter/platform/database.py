"""Start-up checks for the database, the schema upgrade that development runs on every start, and the
session of its own a response body streamed after its view returned reads through."""

from __future__ import annotations

import fcntl
import select
from pathlib import Path

from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session

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


def _idle_socket_is_quiet(dbapi_connection, _record, _proxy) -> None:
    """Checkout check for PostgreSQL: an idle connection's socket has nothing to read unless the server
    has hung up (a restart sends its FATAL message and closes; a killed server's kernel closes the
    socket). Polling it costs no round trip, where a pre-ping costs one on every request; a connection
    found readable or broken is dropped and the pool takes another (SQLAlchemy retries the checkout)."""
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection was closed")
    poller = select.poll()
    poller.register(dbapi_connection.pgconn.socket, select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection (restart or shutdown)")


def watch_idle_connections(app: Flask) -> None:
    """PostgreSQL: every checkout runs :func:`_idle_socket_is_quiet` (the settings leave the pre-ping off
    there; SQLite keeps it)."""
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "postgresql":
            event.listen(engine, "checkout", _idle_socket_is_quiet)


def init_database(app: Flask) -> None:
    watch_idle_connections(app)
    if app.config.get("CHECK_SERVICES", True):
        check_connection(app)
    if app.config.get("AUTO_MIGRATE"):
        upgrade_schema(app)


def streamed(make_lines):
    """A response body produced after the view returned: it reads through its own database session on
    the app's engine (the request's session is gone by then), chunk by chunk."""
    engine = db.engine

    def generate():
        with Session(engine) as session:
            yield from make_lines(session)

    return generate()
