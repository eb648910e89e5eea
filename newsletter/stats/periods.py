"""Reporting periods for the statistics: a half-open span [start, end) of instants, chosen in the
newsroom's time zone, cut into calendar months of that zone.

Every boundary is computed here, in Python, as an aware UTC instant; the SQL only compares columns with
these instants (``edge_index``), so the figures are the same on PostgreSQL and SQLite and midnight in
Berlin is midnight in Berlin whatever the database's own time zone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, case, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from db import UTCDateTime

PRESETS = ("this_month", "last_30_days", "this_year", "past_12_months", "last_12_months", "custom")
# The default includes today: the eleven months before this one and this month up to now, so a send or a
# sign-up of today shows at once ("last_12_months" is the twelve whole months before this one).
DEFAULT_PRESET = "past_12_months"
MAX_DAYS = 5 * 366  # a custom period may span at most five years (60 months on a chart)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PeriodError(ValueError):
    """A period that cannot be used; the message says why, in words for the staff member."""


@dataclass(frozen=True)
class Month:
    """A calendar month of the newsroom's zone, clipped to the period: ``label`` is ``YYYY-MM``."""

    label: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Period:
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC, exclusive
    zone: str
    preset: str = "custom"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def previous(self) -> Period:
        """The period of the same length just before this one (the comparison)."""
        length = self.end - self.start
        return Period(self.start - length, self.start, self.zone, "previous")

    def months(self) -> list[Month]:
        """The calendar months (in the zone) the period touches, each clipped to the period."""
        months: list[Month] = []
        local = self.start.astimezone(self.tz)
        cursor = datetime(local.year, local.month, 1, tzinfo=self.tz)
        while cursor.astimezone(UTC) < self.end:
            following = _next_month(cursor)
            start = max(cursor.astimezone(UTC), self.start)
            end = min(following.astimezone(UTC), self.end)
            months.append(Month(f"{cursor.year:04d}-{cursor.month:02d}", start, end))
            cursor = following
        return months

    @property
    def first_day(self) -> date:
        return self.start.astimezone(self.tz).date()

    @property
    def last_day(self) -> date:
        """The last local day the period touches (the ``to`` of the form: inclusive)."""
        return (self.end - timedelta(microseconds=1)).astimezone(self.tz).date()

    def as_dict(self) -> dict:
        return {
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "time_zone": self.zone,
        }


def _next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=moment.tzinfo)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _parse_date(value: str) -> date:
    from flask_babel import gettext as _

    value = (value or "").strip()
    if not _DATE.match(value):
        raise PeriodError(_("Dates must be written YYYY-MM-DD, e.g. 2026-01-31."))
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise PeriodError(_("There is no such day: %(value)s.", value=value)) from None
    if not 2000 <= day.year <= 2100:
        raise PeriodError(_("Dates between the years 2000 and 2100 only."))
    return day


def parse_period(preset: str | None, start: str | None, end: str | None, *, zone: str,
                 now: datetime) -> Period:  # fmt: skip
    """The period a staff member asked for: a preset, or ``custom`` with ``from`` and ``to`` dates
    (both inclusive, local days). Anything else raises :class:`PeriodError` with a readable reason."""
    from flask_babel import gettext as _

    tz = ZoneInfo(zone)
    if not preset:
        preset = "custom" if (start or end) else DEFAULT_PRESET
    if preset not in PRESETS:
        raise PeriodError(_("Unknown period."))
    today = now.astimezone(tz).date()
    if preset == "this_month":
        return Period(_midnight(today.replace(day=1), tz), now, zone, preset)
    if preset == "last_30_days":
        return Period(_midnight(today - timedelta(days=29), tz), now, zone, preset)
    if preset == "this_year":
        return Period(_midnight(date(today.year, 1, 1), tz), now, zone, preset)
    if preset == "past_12_months":
        first = today.replace(day=1)
        month = first.year * 12 + first.month - 1 - 11
        return Period(_midnight(date(month // 12, month % 12 + 1, 1), tz), now, zone, preset)
    if preset == "last_12_months":
        first = today.replace(day=1)
        begin = date(first.year - 1, first.month, 1)
        return Period(_midnight(begin, tz), _midnight(first, tz), zone, preset)
    if not start or not end:
        raise PeriodError(_("Give both dates of the period: from and to."))
    first_day, last_day = _parse_date(start), _parse_date(end)
    if first_day > last_day:
        raise PeriodError(_("The start date is after the end date."))
    if (last_day - first_day).days + 1 > MAX_DAYS:
        raise PeriodError(_("A period may span at most five years."))
    return Period(_midnight(first_day, tz), _midnight(last_day + timedelta(days=1), tz), zone, "custom")


class edge_index(FunctionElement):  # lower case: it reads like the SQL function it is
    """A SQL expression: how many of ``edges`` (ascending) lie at or before ``column`` (NULL stays NULL),
    so ``column < edges[k]`` exactly when it is ``<= k``, and ``edges[k] <= column < edges[k + 1]`` when
    it is ``k + 1``. PostgreSQL has this very function, ``width_bucket(value, thresholds)``, a binary
    search in C; elsewhere it is a CASE of comparisons (:func:`_edge_index_case`)."""

    type = Integer()
    inherit_cache = True
    name = "edge_index"

    def __init__(self, column, edges: list[datetime]) -> None:
        super().__init__(column, *(literal(edge, UTCDateTime()) for edge in edges))


@compiles(edge_index)
def _edge_index_case(element: edge_index, compiler, **kw) -> str:
    column, *edges = element.clauses.clauses
    whens = [(column < edge, index) for index, edge in enumerate(edges)]
    return compiler.process(case((column.is_(None), None), *whens, else_=len(edges)), **kw)


@compiles(edge_index, "postgresql")
def _edge_index_width_bucket(element: edge_index, compiler, **kw) -> str:
    column, *edges = element.clauses.clauses
    if not edges:
        return _edge_index_case(element, compiler, **kw)
    thresholds = ", ".join(compiler.process(edge, **kw) for edge in edges)
    return f"width_bucket({compiler.process(column, **kw)}, ARRAY[{thresholds}])"


def month_edges(*periods: Period) -> list[datetime]:
    """Every start and end of the months of ``periods``, ascending: a month ``m`` holds the instants whose
    :func:`edge_index` is ``edges.index(m.start) + 1``."""
    return sorted({e for p in periods for m in p.months() for e in (m.start, m.end)})


def period_from(args: Mapping[str, str], *, zone: str, now: datetime) -> Period:
    """The period a request's arguments ask for: ``?period=`` (a preset) or ``?from=&to=`` (days)."""
    return parse_period(args.get("period"), args.get("from"), args.get("to"), zone=zone, now=now)
