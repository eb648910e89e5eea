"""Fixtures for the send path: an issue with readers, a DKIM key and dkimpy's verifier, and for the fault
tests a Redis server of the test's own, an app on it and real worker processes."""

from __future__ import annotations

import dkim
import pytest
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from db import db
from newsletter import jobs, sending, signing
from newsletter.models import (
    Article,
    Issue,
    IssueArticle,
    Newsletter,
    Subscriber,
    SubscriberStatus,
    Subscription,
)
from tests.support.processes import RedisServer, Workers

DKIM_DOMAIN = "ki-kompass.example"
DKIM_SELECTOR = "beitrag2026"
LEASE_SECONDS = 2  # short, so that a killed worker's rows are decided within the test


def add_reader(db, email, newsletters, status=SubscriberStatus.ACTIVE, **kw) -> Subscriber:
    reader = Subscriber(email=email, status=status, **kw)
    db.session.add(reader)
    db.session.flush()
    for n in newsletters:
        db.session.add(Subscription(subscriber_id=reader.id, newsletter_id=n.id))
    return reader


def make_issue(db, readers=("a@example.org", "b@example.org", "c@example.org"), **fields) -> Issue:
    news = Newsletter(slug="ki-news", name="KI-News täglich", is_default=True)
    db.session.add(news)
    db.session.flush()
    for email in readers:
        add_reader(db, email, [news])
    article = Article(slug="a", title="Sprachmodelle erklärt", teaser="Was steckt dahinter?", body="Text")
    values = {"subject": "Die KI-Woche", "sender_name": "KI-Kompass",
              "sender_address": "redaktion@ki-kompass.example", **fields}  # fmt: skip
    issue = Issue(newsletters=[news], **values)
    db.session.add_all([article, issue])
    db.session.flush()
    db.session.add(IssueArticle(issue_id=issue.id, article_id=article.id, position=0))
    db.session.commit()
    return issue


def start_send(db, issue):
    prepared = sending.prepare_send(db.session, issue)
    db.session.commit()
    jobs.enqueue_send(prepared)
    return prepared


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


def dkim_verifies(raw: bytes, key: signing.DKIMKey) -> bool:
    """dkimpy's own verifier; its documented ``dnsfunc`` hook answers with our public key record."""
    record = key.public_record().encode("ascii")

    def dnsfunc(name, timeout=5):
        return record if name == f"{key.selector}._domainkey.{key.domain}.".encode() else None

    return dkim.verify(raw, dnsfunc=dnsfunc)


def signed_headers(raw: bytes) -> set[str]:
    from email import message_from_bytes

    value = message_from_bytes(raw)["DKIM-Signature"]
    tags = dict(part.strip().split("=", 1) for part in "".join(value.split()).split(";") if "=" in part)
    return {name.lower() for name in tags["h"].split(":")}


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
