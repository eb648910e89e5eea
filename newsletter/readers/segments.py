"""Segments: saved filters over one newsletter's readers. The terms (supporter state, language, source,
sign-up and confirmation days, ask frequency) become SQL conditions on ``subscribers``, so the reader list,
its count and CSV export, and the send ledger's ``INSERT ... SELECT`` all evaluate the same terms in the
database. The supporter state comes from the donations side as a SQL SELECT (``ports.supporter_state_query``)
joined in by address; without a donations side every reader counts as "never gave".

Plain functions; the caller owns the transaction."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, false, func, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from newsletter.ports import SUPPORTER_STATES, supporter_state_query
from newsletter.readers.models import (
    AskFrequency,
    Newsletter,
    Segment,
    Subscriber,
    SubscriberStatus,
    Subscription,
)

LOCALES = ("de", "en")
ASK_FREQUENCIES = tuple(f.value for f in AskFrequency)
MAX_NAME = 120
MAX_SOURCE = 255
DEFAULT_ZONE = "Europe/Berlin"


class SegmentError(ValueError):
    """A segment or filter term Beitrag cannot take; the message (translated) says which and why."""


@dataclass(frozen=True)
class SegmentTerms:
    """The terms of a segment or of the reader list's filter. Empty values match everyone."""

    supporter_state: str = ""
    locale: str = ""
    source: str = ""
    signed_up_from: date | None = None
    signed_up_to: date | None = None
    confirmed_from: date | None = None
    confirmed_to: date | None = None
    ask_frequency: str = ""

    def as_args(self) -> dict[str, str]:
        """The terms as query arguments (the names :func:`terms_from` reads)."""
        args = {f.name: getattr(self, f.name) for f in fields(self)}
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in args.items() if v}

    @property
    def empty(self) -> bool:
        return not self.as_args()


TERM_NAMES = tuple(f.name for f in fields(SegmentTerms))


def _day(raw: str, label: Any) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise SegmentError(_l("%(field)s is not a date (YYYY-MM-DD): %(value)s", field=label,
                              value=raw[:20])) from None  # fmt: skip


def terms_from(args: Mapping[str, str]) -> SegmentTerms:
    """Terms from a form or query string; an unknown state, language or ask frequency, a date that is
    not one, or a range that ends before it starts raises :class:`SegmentError`."""
    state = (args.get("supporter_state") or "").strip()
    if state and state not in SUPPORTER_STATES:
        raise SegmentError(_l("there is no supporter state %(value)s", value=state[:40]))
    locale = (args.get("locale") or "").strip()
    if locale and locale not in LOCALES:
        raise SegmentError(_l("there is no language %(value)s", value=locale[:20]))
    frequency = (args.get("ask_frequency") or "").strip()
    if frequency and frequency not in ASK_FREQUENCIES:
        raise SegmentError(_l("there is no ask frequency %(value)s", value=frequency[:40]))
    source = (args.get("source") or "").strip()
    if len(source) > MAX_SOURCE:
        raise SegmentError(_l("the source is longer than %(n)s characters", n=MAX_SOURCE))
    terms = SegmentTerms(
        supporter_state=state, locale=locale, source=source, ask_frequency=frequency,
        signed_up_from=_day(args.get("signed_up_from", ""), _l("Signed up from")),
        signed_up_to=_day(args.get("signed_up_to", ""), _l("Signed up until")),
        confirmed_from=_day(args.get("confirmed_from", ""), _l("Confirmed from")),
        confirmed_to=_day(args.get("confirmed_to", ""), _l("Confirmed until")),
    )  # fmt: skip
    for start, end in (
        (terms.signed_up_from, terms.signed_up_to),
        (terms.confirmed_from, terms.confirmed_to),
    ):
        if start and end and end < start:
            raise SegmentError(_l("a date range ends before it starts"))
    return terms


def terms_of(segment: Segment) -> SegmentTerms:
    return SegmentTerms(
        supporter_state=segment.supporter_state or "", locale=segment.locale or "",
        source=segment.source or "", ask_frequency=segment.ask_frequency or "",
        signed_up_from=segment.signed_up_from, signed_up_to=segment.signed_up_to,
        confirmed_from=segment.confirmed_from, confirmed_to=segment.confirmed_to,
    )  # fmt: skip


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _within_days(column, start: date | None, end: date | None, zone: ZoneInfo) -> list:
    """``column`` on or after the first moment of ``start`` and before the day after ``end`` (both days
    included), in the newsroom's time zone."""
    found = []
    if start is not None:
        found.append(column >= _midnight(start, zone))
    if end is not None:
        found.append(column < _midnight(end + timedelta(days=1), zone))
    return found


def supporter_condition(state: str, now: datetime | None = None):
    """Readers in supporter ``state``, by their address among the donations side's states."""
    query = supporter_state_query(now)
    if query is None:
        return true() if state == "never" else false()
    states = query.subquery()
    address = func.lower(Subscriber.email)
    if state == "never":  # no donor row, or a donor whose gifts never arrived
        return address.not_in(select(states.c.email).where(states.c.state != "never"))
    return address.in_(select(states.c.email).where(states.c.state == state))


def conditions(terms: SegmentTerms, *, zone: str | None = None, now: datetime | None = None) -> list:
    """The terms as SQL conditions on ``subscribers`` (for a WHERE clause)."""
    tz = ZoneInfo(zone or DEFAULT_ZONE)
    found: list = []
    if terms.supporter_state:
        found.append(supporter_condition(terms.supporter_state, now))
    if terms.locale == "en":
        found.append(Subscriber.locale == "en")
    elif terms.locale == "de":  # anything but English gets German mail
        found.append(Subscriber.locale != "en")
    if terms.source:
        found.append(Subscriber.source == terms.source)
    if terms.ask_frequency:
        found.append(Subscriber.ask_frequency == AskFrequency(terms.ask_frequency))
    found += _within_days(Subscriber.created_at, terms.signed_up_from, terms.signed_up_to, tz)
    found += _within_days(Subscriber.confirmed_at, terms.confirmed_from, terms.confirmed_to, tz)
    return found


def on_newsletter(newsletter_id: int):
    """Readers on the newsletter (an EXISTS over their subscriptions)."""
    return (
        select(Subscription.subscriber_id)
        .where(Subscription.subscriber_id == Subscriber.id, Subscription.newsletter_id == newsletter_id)
        .exists()
    )


@dataclass(frozen=True)
class ChosenSegment:
    """A segment as plain values, for work that outlives the session it was read in (a streamed export)."""

    id: int
    name: str
    newsletter_id: int
    terms: SegmentTerms


def chosen(segment: Segment) -> ChosenSegment:
    return ChosenSegment(segment.id, segment.name, segment.newsletter_id, terms_of(segment))


def segment_condition(
    segment: Segment | ChosenSegment, *, zone: str | None = None, now: datetime | None = None
):  # fmt: skip
    """Readers of the segment: on its newsletter and matching every term (any status)."""
    terms = segment.terms if isinstance(segment, ChosenSegment) else terms_of(segment)
    return and_(on_newsletter(segment.newsletter_id), *conditions(terms, zone=zone, now=now))


def list_segments(session: Session, newsletter_id: int | None = None) -> list[Segment]:
    query = select(Segment).join(Newsletter, Newsletter.id == Segment.newsletter_id)
    if newsletter_id is not None:
        query = query.where(Segment.newsletter_id == newsletter_id)
    return list(session.scalars(query.order_by(Newsletter.position, Newsletter.id, Segment.name, Segment.id)))


def count_readers(
    session: Session, segment: Segment, *, zone: str | None = None, active_only: bool = True
) -> int:
    """How many readers the segment holds now (active ones unless ``active_only`` is false)."""
    query = select(func.count()).select_from(Subscriber).where(segment_condition(segment, zone=zone))
    if active_only:
        query = query.where(Subscriber.status == SubscriberStatus.ACTIVE)
    return session.scalar(query) or 0


def save_segment(
    session: Session, segment: Segment | None, *, newsletter_id: int | None, name: str, terms: SegmentTerms
) -> Segment:
    """Create (``segment`` None) or change a segment. The name is required, the newsletter must exist."""
    name = " ".join((name or "").split())
    if not name:
        raise SegmentError(_l("a segment needs a name"))
    if len(name) > MAX_NAME:
        raise SegmentError(_l("the name is longer than %(n)s characters", n=MAX_NAME))
    if newsletter_id is None or session.get(Newsletter, newsletter_id) is None:
        raise SegmentError(_l("choose the newsletter the segment belongs to"))
    if segment is None:
        segment = Segment(newsletter_id=newsletter_id, name=name)
        session.add(segment)
    segment.newsletter_id = newsletter_id
    segment.name = name
    for key, value in asdict(terms).items():
        setattr(segment, key, value or None)
    session.flush()
    return segment


def delete_segment(session: Session, segment: Segment) -> None:
    """Delete a segment no issue uses. The database refuses it while an issue or a ledger row names the
    segment (their foreign keys), so that an issue always says to whom it went or is going."""
    try:
        with session.begin_nested():
            session.delete(segment)
            session.flush()
    except IntegrityError:
        raise SegmentError(
            _l("an issue goes or went to this segment; it stays so that the issue says to whom")
        ) from None
