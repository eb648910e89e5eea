"""What a flush changed, and how the summaries write it: an attribute's value before the flush (from the
ORM's history, which still holds it in ``after_flush``), and one summary row added to or created by a
single ``INSERT ... ON CONFLICT DO UPDATE``."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from db import dialect_insert


def old_value(state, name: str):
    history = state.attrs[name].history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return getattr(state.object, name) if not history.added else None


# Built statements by (database, table, conflict columns, columns, update rules): a summary is written
# in every flush that changes a payment, and building an upsert (its ``excluded`` alias, its values) costs
# more than running it. A rule is a function of (current, excluded) without captured variables.
_UPSERTS: dict[tuple, Any] = {}


def upsert(session: Session, table, index: list[str], values: dict, set_: dict):
    dialect = session.get_bind().dialect.name
    key = (dialect, table.name, tuple(index), tuple(values), tuple((n, f.__code__) for n, f in set_.items()))
    statement = _UPSERTS.get(key)
    if statement is None:
        insert = dialect_insert(session, table)
        excluded = insert.excluded
        updates = {name: make(table.c[name], excluded[name]) for name, make in set_.items()}
        statement = insert.on_conflict_do_update(index_elements=index, set_=updates)
        if all(make.__closure__ is None for make in set_.values()):
            _UPSERTS[key] = statement
    session.connection().execute(statement, values)
