"""The SQLAlchemy base shared by every package: typed declarative base, naming convention, UTC times.

Flask-SQLAlchemy binds one engine and one scoped session per app; Flask-Migrate reads ``db.metadata``.
"""

from __future__ import annotations

import enum
import threading
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Enum, MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, registry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime that always comes back in UTC, on PostgreSQL and on SQLite alike.

    SQLite stores no offset, so values are normalised to UTC on the way in and marked UTC on the way out.
    Naive datetimes are refused: they are a bug waiting for a daylight-saving change.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column; use an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_column(cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column: VARCHAR plus a CHECK constraint, the same on PostgreSQL and SQLite."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION), type_annotation_map={datetime: UTCDateTime()}
    )


db = SQLAlchemy(model_class=Base)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:
    """Foreign keys on, WAL for concurrent readers and a busy timeout, for every SQLite connection."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def dialect_insert(session: Session, table):
    """An ``INSERT`` for the session's database, with its ``ON CONFLICT`` clauses (PostgreSQL or SQLite)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def starts_with(column, prefix: str):
    """``column LIKE 'prefix%'``, the prefix's own ``%``, ``_`` and backslashes taken literally."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(escaped + "%", escape="\\")


class Beside:
    """Read-only work started beside the caller's own: on PostgreSQL, ``fn(session)`` runs in a thread on
    a second connection whose REPEATABLE READ, READ ONLY transaction imports the snapshot of the caller's
    transaction at the start (``pg_export_snapshot``), so it sees exactly the committed data the caller
    saw at that instant while the caller goes on with its own queries on the other core. Elsewhere
    (SQLite, one writer and a file) ``fn`` runs at once, in the caller's session. ``result()`` waits for it
    and re-raises what it raised. Only for reading: the second transaction cannot write, and it does not
    see what the caller's own transaction has written and not yet committed.

    The second transaction runs without parallel workers (it is itself the parallel part) and tells the
    planner that random page reads cost little more than sequential ones (``random_page_cost`` 1.1, the
    usual setting for data in memory or on SSD): the statistics' join of memberships and readers then
    merges two indexes in reader order instead of hashing one table, about twice as fast at 200,000
    readers."""

    def __init__(self, session, fn) -> None:
        self._value = self._error = None
        self._thread = None
        connection = session.connection()
        if connection.dialect.name != "postgresql":
            self._value = fn(session)
            return
        snapshot = connection.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
        engine = connection.engine

        def work() -> None:
            try:
                with engine.connect().execution_options(isolation_level="REPEATABLE READ") as side:
                    side.exec_driver_sql("SET TRANSACTION READ ONLY")
                    side.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
                    side.exec_driver_sql("SET LOCAL random_page_cost = 1.1")
                    side.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                    with Session(bind=side) as reader:
                        self._value = fn(reader)
                    side.rollback()
            except BaseException as error:  # handed to the caller by result()
                self._error = error

        self._thread = threading.Thread(target=work, name="beside", daemon=True)
        self._thread.start()

    def result(self):
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None:
            raise self._error
        return self._value
