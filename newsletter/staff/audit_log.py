"""Reading the audit log (``newsletter.platform.audit`` writes it): filters, keyset pages newest first and
the CSV download. Plain functions over a session; nothing here changes an entry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from newsletter.platform.audit import ACTIONS, OTHER_ACTORS, AuditEntry
from newsletter.platform.csv_cells import csv_line

PAGE_SIZE = 50
CSV_HEADER = ("id", "time_utc", "actor", "actor_id", "action", "target", "address", "detail")


class FilterError(ValueError):
    """A filter value that cannot be read; the message is meant for the admin."""


@dataclass(frozen=True)
class AuditFilter:
    """What the page shows. ``actor``: ``staff:<id>`` or one of ``OTHER_ACTORS``; ``action``: a name in
    ``ACTIONS``; ``target``: ``kind`` or ``kind:id``; days in the newsroom's time zone, both included."""

    actor: str = ""
    action: str = ""
    target: str = ""
    first_day: date | None = None
    last_day: date | None = None
    zone: str = "UTC"
    args: dict[str, str] = field(default_factory=dict)  # as typed, for the form and the links

    def as_args(self) -> dict[str, str]:
        return {k: v for k, v in self.args.items() if v}


def _day(raw: str, what: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise FilterError(what) from None


def read_filter(args, zone: str) -> AuditFilter:
    """The filter from the page's query string. Raises :class:`FilterError` for a day that is no date or
    a range that ends before it begins; an actor or action that is not offered is refused likewise."""
    typed = {key: (args.get(key) or "")[:100] for key in ("actor", "action", "target", "from", "to")}
    actor, action, target = typed["actor"].strip(), typed["action"].strip(), typed["target"].strip()
    if actor and actor not in OTHER_ACTORS and not (actor.startswith("staff:") and actor[6:].isdigit()):
        raise FilterError("actor")
    if action and action not in ACTIONS:
        raise FilterError("action")
    first, last = _day(typed["from"], "from"), _day(typed["to"], "to")
    if first and last and last < first:
        raise FilterError("range")
    return AuditFilter(actor=actor, action=action, target=target.lower(), first_day=first, last_day=last,
                       zone=zone, args=typed)  # fmt: skip


def _start_of(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(), tzinfo=ZoneInfo(zone))


def filtered(flt: AuditFilter) -> Select:
    """The matching entries, newest first (by id, which grows with time). No OFFSET: pages continue by id."""
    stmt = select(AuditEntry)
    if flt.actor.startswith("staff:"):
        stmt = stmt.where(AuditEntry.actor_id == int(flt.actor[6:]))
    elif flt.actor:
        stmt = stmt.where(AuditEntry.actor == flt.actor, AuditEntry.actor_id.is_(None))
    if flt.action:
        stmt = stmt.where(AuditEntry.action == flt.action)
    if flt.target:
        kind, _sep, ident = flt.target.partition(":")
        stmt = stmt.where(AuditEntry.target_kind == kind.strip())
        if ident.strip():
            stmt = stmt.where(AuditEntry.target_id == ident.strip())
    if flt.first_day:
        stmt = stmt.where(AuditEntry.at >= _start_of(flt.first_day, flt.zone))
    if flt.last_day:
        stmt = stmt.where(AuditEntry.at < _start_of(flt.last_day + timedelta(days=1), flt.zone))
    return stmt.order_by(AuditEntry.id.desc())


@dataclass
class Page:
    rows: list[AuditEntry]
    next_before: int | None  # the id to continue before, or None on the last page


def page(session: Session, flt: AuditFilter, *, before: int | None = None, size: int = PAGE_SIZE) -> Page:
    stmt = filtered(flt)
    if before is not None:
        stmt = stmt.where(AuditEntry.id < before)
    rows = list(session.scalars(stmt.limit(size + 1)))
    next_before = rows[size - 1].id if len(rows) > size else None
    return Page(rows=rows[:size], next_before=next_before)


def csv_cells(entry: AuditEntry) -> list[str]:
    detail = json.dumps(entry.detail or {}, ensure_ascii=False, sort_keys=True, default=str)
    actor_id = "" if entry.actor_id is None else str(entry.actor_id)
    return [str(entry.id), entry.at.isoformat(), entry.actor, actor_id, entry.action, entry.target,
            entry.address or "", detail]  # fmt: skip


def iter_csv(session: Session, flt: AuditFilter, *, chunk: int = 1000) -> Iterator[str]:
    """Every matching entry as CSV (UTF-8 with BOM for spreadsheets), streamed in keyset chunks; cells a
    spreadsheet would run as a formula are neutralised."""
    yield "\ufeff" + csv_line(CSV_HEADER)
    before = None
    while True:
        result = page(session, flt, before=before, size=chunk)
        for entry in result.rows:
            yield csv_line(csv_cells(entry))
        session.expunge_all()
        if result.next_before is None:
            return
        before = result.next_before
