"""Upgrading a database that already holds readers keeps every row: the migrations that rebuild tables on
SQLite must not cascade-delete subscriptions or history (foreign keys are off while migrating)."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

FIRST = "0001"


@pytest.fixture
def empty_database(tmp_path):
    server = os.environ.get("TEST_DATABASE_URL")
    if not server:
        yield f"sqlite:///{tmp_path / 'upgrade.db'}"
        return
    name = f"beitrag_upgrade_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield admin.url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


OLD_ROWS = [
    "INSERT INTO newsletters (id, slug, name, description, is_public, is_default, position, created_at)"
    " VALUES (1, 'ki', 'KI-News', '', true, true, 0, :now)",
    "INSERT INTO subscribers (id, email, status, locale, created_at)"
    " VALUES (1, 'Leserin@example.org', 'active', 'de', :now)",
    "INSERT INTO subscriptions (subscriber_id, newsletter_id, created_at) VALUES (1, 1, :now)",
    "INSERT INTO staff_users (id, email, name, password_hash, role, active, session_version, created_at)"
    " VALUES (1, 'Chefin@example.org', '', 'x', 'admin', true, 1, :now)",
]
SAME_STAFF_ADDRESS_OTHER_CASE = (
    "INSERT INTO staff_users (email, name, password_hash, role, active, created_at)"
    " VALUES ('CHEFIN@example.org', '', 'x', 'editor', true, :now)"
)
SAME_ADDRESS_OTHER_CASE = (
    "INSERT INTO subscribers (email, status, locale, created_at, updated_at, ask_frequency)"
    " VALUES ('LESERIN@example.org', 'pending', 'de', :now, :now, 'normal')"
)


def test_upgrading_a_populated_database_keeps_readers_and_their_newsletters(app, make_app, empty_database):
    from db import db

    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    old = make_app(DATABASE_URL=empty_database)
    with old.app_context():
        upgrade(revision=FIRST)
        with db.engine.begin() as conn:
            for statement in OLD_ROWS:
                conn.execute(text(statement), {"now": now})
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM subscriptions")).scalar() == 1
            assert conn.execute(text("SELECT email FROM subscribers")).scalar() == "Leserin@example.org"
            # The case-insensitive uniqueness survived every rebuild of the table.
            with pytest.raises(IntegrityError):
                conn.execute(text(SAME_ADDRESS_OTHER_CASE), {"now": now})
        with db.engine.connect() as conn:  # the staff table was rebuilt too (0021)
            assert conn.execute(text("SELECT email FROM staff_users")).scalar() == "Chefin@example.org"
            with pytest.raises(IntegrityError):
                conn.execute(text(SAME_STAFF_ADDRESS_OTHER_CASE), {"now": now})
        db.session.remove()
        db.engine.dispose()
