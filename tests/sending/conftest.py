"""Fixtures of the fault tests: a Redis server of the test's own, an app on it, real worker processes."""

from __future__ import annotations

import pytest
import redis

from db import db
from tests.support.processes import RedisServer, Workers

LEASE_SECONDS = 2  # short, so that a killed worker's rows are decided within the test


@pytest.fixture
def own_redis(tmp_path):
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fault_app(app, own_redis, relay, monkeypatch):
    """The test app with its queue on the test's own Redis (which the test may flush or restart), mailing
    to ``relay``. Not a second app: ``create_app`` would rebind the shared Flask-Limiter to the short-lived
    server, and every later test's rate limits would fall back to memory."""
    connection = redis.Redis.from_url(own_redis.url, socket_connect_timeout=2, socket_timeout=10)
    monkeypatch.setitem(app.extensions, "beitrag.redis", connection)
    monkeypatch.setitem(app.config, "MAIL_LEASE_SECONDS", float(LEASE_SECONDS))
    yield app
    db.session.remove()
    connection.close()


@pytest.fixture
def workers(fault_app, database_url, base_config, own_redis, relay, tmp_path):
    """Real ``flask newsletter worker`` processes on the same database, Redis and SMTP server."""
    env = {
        "BEITRAG_ENV": "testing", "DATABASE_URL": database_url, "REDIS_URL": own_redis.url,
        "SMTP_URL": relay.url, "SECRET_KEY": base_config["SECRET_KEY"], "BASE_URL": base_config["BASE_URL"],
        "MAIL_LEASE_SECONDS": str(LEASE_SECONDS), "BEITRAG_INSTANCE": str(tmp_path / "instance"),
    }  # fmt: skip
    (tmp_path / "instance").mkdir()
    pool = Workers(env, tmp_path)
    yield pool
    pool.stop()
