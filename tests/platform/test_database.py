"""The schema: migrations match the models, times come back in UTC, addresses are unique in any case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from newsletter.readers.models import Newsletter, Subscriber
from tests.conftest import TEST_DATABASE_URL


# SQLite cannot reflect expression indexes (lower(email)); PostgreSQL compares them too.
@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning")
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_migrations_create_exactly_the_models_schema(app, db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_times_come_back_timezone_aware_in_utc(db):
    berlin = timezone(timedelta(hours=1))
    created = datetime(2026, 3, 29, 1, 30, tzinfo=berlin)
    db.session.add(Newsletter(slug="ki", name="KI-News", created_at=created))
    db.session.commit()
    db.session.expire_all()
    stored = db.session.query(Newsletter).one().created_at
    assert stored.tzinfo is not None
    assert stored == created and stored.utcoffset() == timedelta(0)
    assert stored == datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


def test_naive_times_are_refused(db):
    db.session.add(Newsletter(slug="naive", name="Naiv", created_at=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        db.session.commit()
    db.session.rollback()
    assert db.session.query(Newsletter).count() == 0


def test_subscriber_address_is_unique_in_any_case(db):
    db.session.add(Subscriber(email="Leser@Example.org"))
    db.session.commit()
    db.session.add(Subscriber(email="leser@example.ORG"))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    assert db.session.query(Subscriber).count() == 1


def test_reader_ids_are_never_reused(db):
    first = Subscriber(email="erste@example.org")
    db.session.add(first)
    db.session.commit()
    old_id = first.id
    db.session.delete(first)
    db.session.commit()
    second = Subscriber(email="zweite@example.org")
    db.session.add(second)
    db.session.commit()
    assert second.id > old_id  # an old unsubscribe link cannot reach the new reader


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="PostgreSQL only: the server ends idle transactions")
def test_a_transaction_left_open_by_a_vanished_client_gives_its_locks_back():
    """A worker host cut off between an UPDATE and its COMMIT must not hold its rows for the two hours the
    server's TCP keepalive takes: the server ends the transaction after DATABASE_IDLE_TRANSACTION_SECONDS."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import DBAPIError

    from newsletter.platform.settings import _engine_options

    options = _engine_options({"DATABASE_IDLE_TRANSACTION_SECONDS": "1"}, TEST_DATABASE_URL)
    vanished, waiting = create_engine(TEST_DATABASE_URL, **options), create_engine(TEST_DATABASE_URL)
    try:
        with vanished.connect() as gone:
            gone.execute(text("SELECT pg_advisory_xact_lock(4242)"))  # held, then nothing more is said
            with waiting.connect() as sweep:
                sweep.execute(text("SET lock_timeout = '10s'"))
                sweep.execute(text("SELECT pg_advisory_xact_lock(4242)"))  # waits about a second, not forever
                sweep.rollback()
            with pytest.raises(DBAPIError, match="idle-in-transaction timeout"):
                gone.execute(text("SELECT 1"))
    finally:
        vanished.dispose()
        waiting.dispose()
