"""Fixtures of the fault tests: a Redis server of the test's own, an app on it, real worker processes."""

from __future__ import annotations

import pytest

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
def fault_app(app, make_app, own_redis, relay):
    """The app on the test's own Redis (which the test may flush or restart), mailing to ``relay``."""
    faulty = make_app(REDIS_URL=own_redis.url, SMTP_URL=relay.url, MAIL_LEASE_SECONDS=float(LEASE_SECONDS))
    with faulty.app_context():
        yield faulty
        db.session.remove()


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
