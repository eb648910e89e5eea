"""What a flush changed, and how the summaries write it: an attribute's value before the flush (from the
ORM's history, which still holds it in ``after_flush``), and one summary row added to or created by a
single ``INSERT ... ON CONFLICT DO UPDATE``."""

from __future__ import annotations

from sqlalchemy.orm import Session

from db import dialect_insert


def old_value(state, name: str):
    history = state.attrs[name].history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return getattr(state.object, name) if not history.added else None


def upsert(session: Session, table, index: list[str], values: dict, set_: dict):
    statement = dialect_insert(session, table).values(**values)
    excluded = statement.excluded
    updates = {name: make(table.c[name], excluded[name]) for name, make in set_.items()}
    session.connection().execute(statement.on_conflict_do_update(index_elements=index, set_=updates))
