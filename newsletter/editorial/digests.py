"""Automatic digests: a newsletter's schedule (weekdays and a time of day in a time zone), the slots it
gives, which articles a slot's issue holds, and an editor's skip or hold of a coming slot.

Slots are computed with ``zoneinfo`` in the digest's zone, day by day: "07:00 on weekdays" is 07:00 on the
wall clock on both sides of a daylight-saving change (06:00 UTC in Berlin's winter, 05:00 in its summer).
A wall time that does not exist on the day the clocks go forward (02:30) is read with the offset before
the change, one that happens twice when they go back is the first of the two: one slot a day either way.

Building a slot is the send path's (``sending.digest_runs``): it claims the slot by inserting its
:class:`DigestRun` row. A skip or a hold is that row written ahead of time, so the database decides
between an editor and a clock as it decides between two clocks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from db import dialect_insert, utcnow
from newsletter.editorial.articles import parse_tags
from newsletter.editorial.models import (
    Article,
    Digest,
    DigestRun,
    Feed,
    Issue,
    IssueLayout,
    IssueState,
    issue_newsletters,
)
from newsletter.platform import audit
from newsletter.readers.models import Newsletter

MODES = ("draft", "send")
MAX_ARTICLES = 50
FIRST_LOOKBACK = timedelta(days=7)  # how far back a newsletter's first issue reaches
OWN_ARTICLES = 0  # in ``feed_ids``: the newsroom's own articles (no feed)
# Editor's marks on a coming slot, and what a built slot ended as.
SKIP, HOLD = "skip", "hold"
BUILDING, DRAFT, SENDING, EMPTY, SKIPPED = "building", "draft", "sending", "empty", "skipped"
# Runs that made an issue: its articles are not offered again by the next slot.
MADE_ISSUE = (DRAFT, SENDING)
# Issues to a newsletter whose readers got (or are getting) their articles.
_GONE_OUT = (IssueState.SENDING, IssueState.PAUSED, IssueState.SENT)


class DigestError(ValueError):
    """A schedule or a change a digest cannot take; the message says why."""


@dataclass
class DigestInput:
    newsletter_id: int
    subject: str
    weekdays: Sequence[int | str]
    time_of_day: str  # "HH:MM"
    timezone: str
    layout: str = IssueLayout.DIGEST.value
    mode: str = "draft"
    tags: str = ""  # separated by commas
    feed_ids: Sequence[int] = field(default_factory=list)
    sender_name: str = ""
    sender_address: str = ""
    active: bool = True


def parse_time(value: str) -> tuple[int, int]:
    """``"07:00"`` as ``(7, 0)``; anything else is a :class:`DigestError`."""
    text = (value or "").strip()
    hours, colon, minutes = text.partition(":")
    if not (colon and hours.isdigit() and minutes.isdigit() and len(minutes) == 2 and len(hours) <= 2):
        raise DigestError(_l("the time %(value)s is not a time of day like 07:00", value=text[:20]))
    hour, minute = int(hours), int(minutes)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise DigestError(_l("the time %(value)s is not a time of day like 07:00", value=text[:20]))
    return hour, minute


def check_zone(name: str) -> ZoneInfo:
    name = (name or "").strip()
    if name not in _zones():
        raise DigestError(_l("there is no time zone %(name)s", name=name[:64]))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise DigestError(_l("there is no time zone %(name)s", name=name[:64])) from None


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


def _apply(session: Session, digest: Digest, data: DigestInput) -> None:
    newsletter = session.get(Newsletter, int(data.newsletter_id or 0))
    if newsletter is None:
        raise DigestError(_l("a chosen newsletter does not exist"))
    subject = " ".join((data.subject or "").split())
    if not subject:
        raise DigestError(_l("a digest needs a subject"))
    if len(subject) > 150:
        raise DigestError(_l("the subject is longer than 150 characters"))
    days = sorted({int(d) for d in data.weekdays if str(d).isdigit() and 1 <= int(d) <= 7})
    if not days or len(days) != len(set(data.weekdays)):
        raise DigestError(_l("choose at least one weekday"))
    hour, minute = parse_time(data.time_of_day)
    zone = check_zone(data.timezone)
    if data.layout not in {layout.value for layout in IssueLayout}:
        raise DigestError(_l("there is no layout %(name)s", name=str(data.layout)[:20]))
    if data.mode not in MODES:
        raise DigestError(_l("choose whether the digest is sent or left as a draft"))
    sender_name = " ".join((data.sender_name or "").split())
    if not sender_name:
        raise DigestError(_l("the sender needs a name"))
    try:
        sender_address = validate_email(data.sender_address or "", check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise DigestError(_l("the sender address is not valid (%(reason)s)", reason=str(exc))) from None
    feed_ids = sorted({int(i) for i in data.feed_ids})
    known = set(session.scalars(select(Feed.id).where(Feed.id.in_(feed_ids))))
    if any(i != OWN_ARTICLES and i not in known for i in feed_ids):
        raise DigestError(_l("a chosen feed does not exist"))
    schedule = ("".join(map(str, days)), hour, minute, zone.key)
    switched_on = bool(data.active) and digest.active is False
    if switched_on or schedule != (digest.weekdays, digest.hour, digest.minute, digest.timezone):
        digest.schedule_changed_at = utcnow()  # a run that passed before this is not built now
    digest.weekdays, digest.hour, digest.minute, digest.timezone = schedule
    digest.newsletter = newsletter
    digest.subject = subject
    digest.layout = data.layout
    digest.mode = data.mode
    digest.tags = parse_tags(data.tags or "")
    digest.feed_ids = feed_ids
    digest.sender_name = sender_name[:200]
    digest.sender_address = sender_address
    digest.active = bool(data.active)


def create_digest(session: Session, data: DigestInput, *, created_by_id: int | None = None) -> Digest:
    digest = Digest(created_by_id=created_by_id, schedule_changed_at=utcnow())
    _apply(session, digest, data)
    session.add(digest)
    session.flush()
    audit.record(session, "digest.create", target=digest, detail=_summary(digest))
    return digest


def update_digest(session: Session, digest: Digest, data: DigestInput) -> Digest:
    _apply(session, digest, data)
    session.flush()
    audit.record(session, "digest.update", target=digest, detail=_summary(digest))
    return digest


def _summary(digest: Digest) -> dict:
    return {
        "newsletter": digest.newsletter_id,
        "weekdays": digest.weekdays,
        "time": f"{digest.hour:02d}:{digest.minute:02d}",
        "zone": digest.timezone,
        "mode": digest.mode,
    }


# --- Slots ----------------------------------------------------------------------------------------------


def slot_on(digest: Digest, day: date) -> datetime | None:
    """The digest's slot on the local ``day`` (UTC), or None when it does not run that weekday."""
    if str(day.isoweekday()) not in digest.weekdays:
        return None
    local = datetime.combine(day, time(digest.hour, digest.minute), tzinfo=ZoneInfo(digest.timezone))
    return local.astimezone(UTC)


def _slots_from(digest: Digest, day: date, step: int) -> Iterator[datetime]:
    for n in range(0, 8 * 60):  # enough days for any weekday set; stops far before
        slot = slot_on(digest, day + timedelta(days=n * step))
        if slot is not None:
            yield slot


def next_slots(digest: Digest, after: datetime, count: int = 5) -> list[datetime]:
    """The next ``count`` slots strictly after ``after``."""
    day = after.astimezone(ZoneInfo(digest.timezone)).date() - timedelta(days=1)
    found = []
    for slot in _slots_from(digest, day, 1):
        if slot > after:
            found.append(slot)
            if len(found) == count:
                break
    return found


def previous_slot(digest: Digest, at: datetime) -> datetime | None:
    """The latest slot at or before ``at``."""
    day = at.astimezone(ZoneInfo(digest.timezone)).date() + timedelta(days=1)
    return next((slot for slot in _slots_from(digest, day, -1) if slot <= at), None)


def due_slot(digest: Digest, now: datetime, grace: timedelta) -> datetime | None:
    """The slot to build now: the latest one that has come, unless it is older than ``grace`` (the clock
    was away; the next slot takes over) or not after the schedule was last changed."""
    slot = previous_slot(digest, now)
    if slot is None or slot < now - grace or slot <= digest.schedule_changed_at:
        return None
    return slot


# --- What a slot's issue holds ---------------------------------------------------------------------------


def last_issue_time(session: Session, digest: Digest) -> datetime | None:
    """When the newsletter last had an issue: the latest send to it (finished: ``sent_at``; still
    running: when it last changed) or the latest issue this digest built, as a draft too."""
    went_out = session.scalar(
        select(func.max(func.coalesce(Issue.sent_at, Issue.updated_at)))
        .join(issue_newsletters, issue_newsletters.c.issue_id == Issue.id)
        .where(issue_newsletters.c.newsletter_id == digest.newsletter_id, Issue.state.in_(_GONE_OUT))
    )
    built = session.scalar(
        select(func.max(DigestRun.built_at)).where(
            DigestRun.digest_id == digest.id, DigestRun.state.in_(MADE_ISSUE)
        )
    )
    times = [_aware(t) for t in (went_out, built) if t is not None]
    return max(times) if times else None


def _aware(value: datetime) -> datetime:
    # func.max over a UTCDateTime column comes back without the column type's processing on SQLite.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def articles_for(
    session: Session, digest: Digest, slot: datetime, *, since: datetime | None, until: datetime
) -> list[Article]:
    """The articles of ``slot``: published after ``since`` (the newsletter's last issue; without one, a
    week before the slot) and by ``until`` (when it is built), from the chosen feeds and with one of the
    chosen tags (nothing chosen: all), newest first, at most ``MAX_ARTICLES``."""
    if since is None:
        since = slot - FIRST_LOOKBACK
    query = select(Article).where(Article.published_at > since, Article.published_at <= until)
    feeds = [i for i in digest.feed_ids or [] if i != OWN_ARTICLES]
    if digest.feed_ids:
        source = Article.feed_id.in_(feeds)
        query = query.where(source | Article.feed_id.is_(None) if OWN_ARTICLES in digest.feed_ids else source)
    query = query.order_by(Article.published_at.desc(), Article.id.desc()).limit(20 * MAX_ARTICLES)
    wanted = {t.casefold() for t in digest.tags or []}
    found = [a for a in session.scalars(query) if not wanted or wanted & {t.casefold() for t in a.tags or []}]
    return found[:MAX_ARTICLES]


# --- An editor's skip or hold of a coming slot -------------------------------------------------------------


@dataclass(frozen=True)
class ComingRun:
    slot_at: datetime
    mark: str | None  # SKIP, HOLD or None


def coming_runs(session: Session, digest: Digest, now: datetime, count: int = 5) -> list[ComingRun]:
    slots = next_slots(digest, max(now, digest.schedule_changed_at), count)
    marks = dict(
        session.execute(
            select(DigestRun.slot_at, DigestRun.state).where(
                DigestRun.digest_id == digest.id, DigestRun.slot_at.in_(slots)
            )
        ).all()
    )
    return [ComingRun(slot, marks.get(slot)) for slot in slots]


def recent_runs(session: Session, digest: Digest, limit: int = 10) -> list[DigestRun]:
    return list(
        session.scalars(
            select(DigestRun)
            .where(DigestRun.digest_id == digest.id, DigestRun.state.not_in((SKIP, HOLD)))
            .order_by(DigestRun.slot_at.desc())
            .limit(limit)
        )
    )


def mark_slot(
    session: Session,
    digest: Digest,
    slot_at: datetime,
    mark: str,
    *,
    by_id: int | None,
    now: datetime | None = None,
) -> None:
    """Skip or hold (``mark``) one coming slot of the digest. Held: it is built, but left as a draft for
    the editors, also when the digest sends. Raises :class:`DigestError` for a time that is not one of the
    digest's coming slots, or a slot a clock has taken already."""
    now = now or utcnow()
    if mark not in (SKIP, HOLD):
        raise DigestError(_l("choose skip or hold"))
    slot_at = slot_at.astimezone(UTC)
    if slot_at <= now or slot_at not in next_slots(digest, max(now, digest.schedule_changed_at), 60):
        raise DigestError(_l("this is not a coming run of the digest"))
    written = session.scalar(
        dialect_insert(session, DigestRun)
        .values(digest_id=digest.id, slot_at=slot_at, state=mark, by_id=by_id)
        .on_conflict_do_nothing()
        .returning(DigestRun.id)
    )
    if written is None:  # marked before, or a clock has it: its row decides
        existing = session.scalar(
            select(DigestRun)
            .where(DigestRun.digest_id == digest.id, DigestRun.slot_at == slot_at)
            .with_for_update()
        )
        if existing is None or existing.state not in (SKIP, HOLD):
            raise DigestError(_l("this run has started already"))
        existing.state, existing.by_id = mark, by_id
    audit.record(session, f"digest.{mark}", target=digest, detail={"slot": slot_at.isoformat()})
    session.flush()


def release_slot(session: Session, digest: Digest, slot_at: datetime) -> None:
    """Take an editor's skip or hold of a coming slot back: it runs as the digest says."""
    removed = session.execute(
        delete(DigestRun).where(
            DigestRun.digest_id == digest.id,
            DigestRun.slot_at == slot_at.astimezone(UTC),
            DigestRun.state.in_((SKIP, HOLD)),
        )
    )
    if not removed.rowcount:
        raise DigestError(_l("this run has no skip or hold to take back"))
    audit.record(session, "digest.release", target=digest, detail={"slot": slot_at.isoformat()})
    session.flush()


def all_digests(session: Session) -> list[Digest]:
    return list(session.scalars(select(Digest).order_by(Digest.id)))


def active_digests(session: Session) -> list[int]:
    return list(session.scalars(select(Digest.id).where(Digest.active).order_by(Digest.id)))
