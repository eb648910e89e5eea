"""Fixtures of the sending tests: the app on a Redis server of the test's own, with a short lease, real
worker processes, and a dovecot for the mailbox tests. (An issue with readers and Send pressed for it:
tests/sending/factories.py.)"""

from __future__ import annotations

import pytest

from tests.support import dovecot as dovecot_support
from tests.support.processes import Workers

LEASE_SECONDS = 2  # short, so that a killed worker's rows are decided within the test


@pytest.fixture
def fault_app(own_redis_app, monkeypatch):
    """The app on the test's own Redis, with a short lease so that a killed worker's rows are decided
    within the test."""
    monkeypatch.setitem(own_redis_app.config, "MAIL_LEASE_SECONDS", float(LEASE_SECONDS))
    return own_redis_app


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


@pytest.fixture
def dovecot():
    """A dovecot of the test's own (IMAP and POP3), for the mailbox the poller reads."""
    server = dovecot_support.Dovecot()
    server.start()
    yield server
    server.stop()
