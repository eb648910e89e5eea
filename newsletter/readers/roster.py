"""The staff's view of the readers: search and filters with keyset pages, adding one reader, changing one.
Plain functions; the caller owns the transaction. Suppression is checked here as everywhere else."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from db import starts_with, utcnow
from newsletter.platform import audit
from newsletter.readers import addresses, errors, reader_mails, segments, subscribers
from newsletter.readers.models import (
    ConsentBasis,
    ImportRow,
    Newsletter,
    Subscriber,
    SubscriberStatus,
    Subscription,
)
from newsletter.readers.segments import ChosenSegment, SegmentTerms

PAGE_SIZE = 50
LOCALES = ("de", "en")
# Staff change a reader's status only in the ways that make sense: unsubscribe them (any state), send a
# pending reader the opt-in mail again, or erase them. Confirming belongs to the reader, bounces and
# complaints to the mail system; nobody but the reader lifts a suppression.


@dataclass(frozen=True)
class SubscriberFilter:
    """What the staff list shows. Every field is optional. ``terms`` are a segment's terms (supporter
    state, language, source, sign-up and confirmation days, ask frequency; ``readers.segments``), and
    ``segment`` a saved segment whose terms and newsletter apply as well."""

    query: str = ""  # a prefix of the address, any case
    status: SubscriberStatus | None = None
    newsletter_id: int | None = None
    terms: SegmentTerms = field(default_factory=SegmentTerms)
    segment: ChosenSegment | None = None
    zone: str | None = None  # the newsroom's time zone, for the days in ``terms``

    @property
    def source(self) -> str:
        return self.terms.source

    def as_args(self) -> dict[str, str]:
        args = {
            "q": self.query,
            "status": self.status.value if self.status else "",
            "newsletter": str(self.newsletter_id or ""),
            "segment": str(self.segment.id) if self.segment is not None else "",
            **self.terms.as_args(),
        }
        return {k: v for k, v in args.items() if v}


@dataclass
class Page:
    rows: list[Subscriber]
    next_after: int | None  # the id to continue after, or None on the last page
    newsletters: dict[int, list[int]] = field(default_factory=dict)


def filtered(flt: SubscriberFilter) -> Select:
    """The readers matching ``flt``, newest first (by id). No OFFSET anywhere: pages continue by id."""
    stmt = select(Subscriber)
    query = flt.query.strip().lower()
    if query:
        stmt = stmt.where(starts_with(func.lower(Subscriber.email), query))
    if flt.status is not None:
        stmt = stmt.where(Subscriber.status == flt.status)
    conditions = segments.conditions(flt.terms, zone=flt.zone)
    if conditions:
        stmt = stmt.where(*conditions)
    if flt.segment is not None:
        stmt = stmt.where(segments.segment_condition(flt.segment, zone=flt.zone))
    if flt.newsletter_id is not None:
        stmt = stmt.where(segments.on_newsletter(flt.newsletter_id))
    return stmt.order_by(Subscriber.id.desc())


def count(session: Session, flt: SubscriberFilter) -> int:
    """How many readers match ``flt`` (all pages)."""
    matching = filtered(flt).order_by(None).with_only_columns(Subscriber.id).subquery()
    return session.scalar(select(func.count()).select_from(matching)) or 0


def page(session: Session, flt: SubscriberFilter, *, after: int | None = None, size: int = PAGE_SIZE) -> Page:
    stmt = filtered(flt)
    if after is not None:
        stmt = stmt.where(Subscriber.id < after)
    rows = list(session.scalars(stmt.limit(size + 1)))
    next_after = rows[size - 1].id if len(rows) > size else None
    rows = rows[:size]
    memberships: dict[int, list[int]] = {}
    if rows:
        for sid, nid in session.execute(
            select(Subscription.subscriber_id, Subscription.newsletter_id).where(
                Subscription.subscriber_id.in_([r.id for r in rows])
            )
        ):
            memberships.setdefault(sid, []).append(nid)
    return Page(rows=rows, next_after=next_after, newsletters=memberships)


def iter_filtered(session: Session, flt: SubscriberFilter, *, chunk: int = 2000) -> Iterator[Subscriber]:
    """Every matching reader, in keyset chunks (for the CSV export): memory stays flat at any size."""
    after = None
    while True:
        result = page(session, flt, after=after, size=chunk)
        yield from result.rows
        session.expunge_all()
        if result.next_after is None:
            return
        after = result.next_after


def sources(session: Session, limit: int = 100) -> list[str]:
    """Sources readers came from, for the filter's choices (the most common ones)."""
    rows = session.execute(
        select(Subscriber.source, func.count())
        .where(Subscriber.source.is_not(None))
        .group_by(Subscriber.source)
        .order_by(func.count().desc())
        .limit(limit)
    )
    return [source for source, _n in rows]


def _set_newsletters(session: Session, subscriber: Subscriber, newsletter_ids: Sequence[int]) -> None:
    known = set(session.scalars(select(Newsletter.id).where(Newsletter.id.in_(list(newsletter_ids)))))
    current = {s.newsletter_id for s in subscriber.subscriptions}
    for sub in list(subscriber.subscriptions):
        if sub.newsletter_id not in known:
            subscriber.subscriptions.remove(sub)
    for nid in sorted(known - current):
        subscriber.subscriptions.append(Subscription(newsletter_id=nid))


def add_subscriber(
    session: Session,
    email: str,
    *,
    newsletter_ids: Sequence[int],
    locale: str,
    source: str | None,
    recorded_consent: bool,
    consent_detail: str,
    staff_email: str,
) -> Subscriber:
    """A reader added by staff. With recorded consent they are active at once; otherwise they are
    pending and get the opt-in mail. A suppressed or already known address is refused."""
    address = addresses.normalize_email(email)
    if addresses.is_suppressed(session, address):
        raise errors.Suppressed(
            "this address is on the suppression list (it left, bounced, complained or was erased); "
            "only the reader can subscribe it again, from their own mailbox"
        )
    if subscribers.find_subscriber(session, address) is not None:
        raise errors.SubscriberError("a reader with this address already exists")
    if locale not in LOCALES:
        raise errors.SubscriberError("unknown language")
    reader = Subscriber(email=address, locale=locale, source=(source or "").strip() or None)
    session.add(reader)
    if recorded_consent:
        if not consent_detail.strip():
            raise errors.SubscriberError("say where and when the reader gave consent")
        now = utcnow()
        reader.status = SubscriberStatus.ACTIVE
        reader.confirmed_at = now
        reader.consent_basis = ConsentBasis.RECORDED
        reader.consent_at = now
        reader.consent_detail = f"{consent_detail.strip()[:400]} (added by {staff_email})"
    else:
        reader.status = SubscriberStatus.PENDING
    _set_newsletters(session, reader, newsletter_ids)
    session.flush()
    subscribers.record_event(
        session, reader, "added_by_staff", staff=staff_email, consent=bool(recorded_consent)
    )
    audit.record(session, "reader.add", target=reader,
                 detail={"consent": "recorded" if recorded_consent else "double opt-in"})  # fmt: skip
    if not recorded_consent:
        reader_mails.request_confirmation(session, reader)
    return reader


def update_subscriber(
    session: Session,
    reader: Subscriber,
    *,
    newsletter_ids: Sequence[int],
    locale: str,
    staff_email: str,
) -> list[str]:
    """Change newsletters and language. Returns what changed (also written to the history)."""
    if locale not in LOCALES:
        raise errors.SubscriberError("unknown language")
    changed = []
    before = sorted(s.newsletter_id for s in reader.subscriptions)
    _set_newsletters(session, reader, newsletter_ids)
    session.flush()
    after = sorted(s.newsletter_id for s in reader.subscriptions)
    if before != after:
        changed.append("newsletters")
    if locale != reader.locale:
        reader.locale = locale
        changed.append("locale")
    if changed:
        subscribers.record_event(
            session,
            reader,
            "changed_by_staff",
            staff=staff_email,
            fields=changed,
            newsletters=after,
            locale=reader.locale,
        )
        audit.record(session, "reader.update", target=reader,
                     detail={"fields": changed, "newsletters": after, "locale": reader.locale})  # fmt: skip
    return changed


def unsubscribe_subscriber(session: Session, reader: Subscriber, *, staff_email: str) -> bool:
    """Staff take the reader off every newsletter (the address goes on the suppression list). False when
    the reader had already left."""
    if not subscribers.unsubscribe(session, reader, via="staff", staff=staff_email):
        return False
    audit.record(session, "reader.unsubscribe", target=reader)
    return True


def erase_subscriber(session: Session, reader: Subscriber, *, staff_email: str) -> str:
    """Erase the reader (see ``subscribers.erase``) and their lines in import reports."""
    lower = reader.email.lower()
    session.execute(delete(ImportRow).where(ImportRow.email_lower == lower))
    audit.record(session, "reader.erase", target=reader, detail={"via": "staff"})
    return subscribers.erase(session, reader, via=f"staff:{staff_email}")
