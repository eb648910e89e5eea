"""Fixtures for the send path: an issue with readers, a DKIM key and dkimpy's verifier, and for the fault
tests a Redis server of the test's own, an app on it and real worker processes."""

from __future__ import annotations

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from newsletter.editorial.models import Article, Issue, IssueArticle
from newsletter.mail import signing
from newsletter.readers.models import Newsletter, Subscriber, SubscriberStatus, Subscription
from newsletter.sending import control, ledger
from tests.support.processes import Workers

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
    prepared = ledger.prepare_send(db.session, issue)
    db.session.commit()
    control.queue_batches(prepared.issue_id, prepared.batches)
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
