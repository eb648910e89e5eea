"""Demo content: a German AI newsroom with newsletters, articles, readers, sent issues and two staff accounts.

One story over the last year: readers sign up, confirm, some pause, leave, bounce or complain; the weekly
digests of the last five weeks and a year of monthly supporters' briefings were sent, each with its ledger
rows (sent, a few bounced or failed) and tally; the donations side adds gifts, some attributed to an issue
their giver received. The history ends the evening before the load (before midnight in the newsroom's zone
and in UTC), so "today" and "this month" show what happens from now on, not a burst of made-up events.
Deterministic for a seed and a day, except the staff passwords, which are random.
"""

from __future__ import annotations

import random
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.demo import newsroom
from newsletter.editorial import issues
from newsletter.editorial.models import Article, Issue, IssueArticle, IssueLayout, IssueState
from newsletter.platform.access import StaffRole
from newsletter.ports import run_demo_loaders
from newsletter.readers.addresses import email_hash
from newsletter.readers.models import (
    AskFrequency,
    ConsentBasis,
    Newsletter,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    Subscription,
    Suppression,
    SuppressionReason,
)
from newsletter.sending import tallies
from newsletter.sending.ledger import ask_variant
from newsletter.sending.models import Delivery, DeliveryStatus
from newsletter.staff import accounts

DEMO_STAFF = (
    ("admin@example.org", StaffRole.ADMIN, "Alex Admin"),
    ("editor@example.org", StaffRole.EDITOR, "Eda Editorin"),
)

# How demo readers are spread over the states a real list has.
STATUS_WEIGHTS = {
    SubscriberStatus.ACTIVE: 82,
    SubscriberStatus.PENDING: 6,
    SubscriberStatus.UNSUBSCRIBED: 9,
    SubscriberStatus.BOUNCED: 2,
    SubscriberStatus.COMPLAINED: 1,
}


class DemoError(RuntimeError):
    pass


@dataclass
class DemoResult:
    newsletters: int = 0
    articles: int = 0
    subscribers: int = 0
    donations: int = 0
    staff: list[tuple[str, str, str]] = field(default_factory=list)


def _ascii(text: str) -> str:
    text = text.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def is_loaded(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).select_from(Newsletter)))


HISTORY_DAYS = 360  # the oldest reader signed up about a year before the load
WEEKLY = (  # the weekly digests of the last five weeks (days before the history's end), with articles
    (35, "Wochenrückblick: Was von der KI-Woche bleibt", "digest"),
    (28, "Die Woche im Überblick: Chips, Schulen, Gerichte", "digest"),
    (21, "Schwerpunkt: Wer haftet, wenn die Maschine irrt?", "feature"),
    (14, "Wochenrückblick: Neue Modelle, alte Fragen", "digest"),
    (7, "Schwerpunkt: KI im Alltag – was wirklich hilft", "feature"),
)
BRIEFINGS = 11  # monthly, to the supporters' newsletter, back to about a year ago
MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
          "November", "Dezember")  # fmt: skip
FAILED_SHARE = 0.003  # ledger rows refused for good by the relay


def history_end(now: datetime, zone: str) -> datetime:
    """The last instant of the demo's history: a few minutes before the midnight that began today, in the
    newsroom's zone or in UTC, whichever came first, so nothing is dated today in either."""
    local = datetime.combine(now.astimezone(ZoneInfo(zone)).date(), time(), ZoneInfo(zone)).astimezone(UTC)
    midnight = datetime.combine(now.astimezone(UTC).date(), time(), UTC)
    return min(local, midnight) - timedelta(minutes=5)


@dataclass
class _Reader:
    email: str
    status: SubscriberStatus
    locale: str
    source: str
    created: datetime
    confirmed: datetime | None
    newsletters: set[str]
    left: datetime | None = None
    left_by: int | None = None  # the planned issue whose delivery bounced or was complained about
    asks: AskFrequency = AskFrequency.NORMAL
    id: int = 0


@dataclass
class _PlannedIssue:
    subject: str
    layout: str
    newsletter: str  # slug
    sent_at: datetime
    intro: str
    with_articles: bool  # the week's articles; otherwise the month's report from the newsroom (made here)


def load_demo(session: Session, *, subscribers: int = 3000, seed: int = 2026, sender: str | None = None,
              zone: str = "Europe/Berlin", now: datetime | None = None) -> DemoResult:  # fmt: skip
    """Fill an empty database. Refuses a database that already has newsletters or these staff users.
    ``sender`` is the issues' sender address (the app's MAIL_FROM, so that it aligns with its DKIM and
    bounce domains); ``zone`` the newsroom's time zone, for where "yesterday" ends."""
    _refuse_unless_empty(session)
    rng = random.Random(seed)
    now = now or utcnow()
    end = history_end(now, zone)
    result = DemoResult()
    for email, role, name in DEMO_STAFF:
        password = secrets.token_urlsafe(12)
        accounts.create_staff_user(session, email, password, role, name=name)
        result.staff.append((email, role.value, password))
    newsletters = _add_newsletters(session)
    result.newsletters = len(newsletters)
    result.articles = _add_articles(session, rng, end)
    plan = _plan_issues(end)
    readers = _readers(rng, end, subscribers, plan)
    _add_readers(session, readers)
    _add_reader_records(session, rng, now, end, readers)
    result.subscribers = len(readers)
    sender_address = sender or newsroom.NEWSROOM["sender_email"]
    _add_issues(session, rng, plan, readers, {n.slug: n for n in newsletters}, sender_address, end)
    tallies.blame_unsubscribes(session)  # the history was written in bulk: blame leavers on issues now
    result.articles = session.scalar(select(func.count()).select_from(Article))  # with the monthly reports
    result.donations = run_demo_loaders(session, seed=seed, now=end)
    return result


def _refuse_unless_empty(session: Session) -> None:
    if is_loaded(session):
        raise DemoError("the database already has newsletters; demo data goes only into an empty database")
    for email, _role, _name in DEMO_STAFF:
        if accounts.find_staff_user(session, email) is not None:
            raise DemoError(
                f"the staff user {email} exists already; demo data goes only into an empty database"
            )


def _add_newsletters(session: Session) -> list[Newsletter]:
    newsletters = []
    for position, spec in enumerate(newsroom.NEWSLETTERS):
        newsletter = Newsletter(
            slug=spec["slug"],
            name=spec["name"],
            description=spec["description"],
            is_public=spec["public"],
            is_default=spec["default"],
            position=position,
        )
        session.add(newsletter)
        newsletters.append(newsletter)
    session.flush()
    return newsletters


def _add_articles(session: Session, rng: random.Random, now) -> int:
    domain = newsroom.NEWSROOM["domain"]
    for spec in newsroom.ARTICLES:
        published = (now - timedelta(days=spec["days_ago"], hours=rng.randint(0, 10))).replace(microsecond=0)
        session.add(
            Article(
                slug=spec["slug"],
                title=spec["title"],
                teaser=spec["teaser"],
                body=spec["body"],
                author=spec["author"],
                tags=list(spec["tags"]),
                sponsored=spec["sponsored"],
                image_credit=spec.get("image_credit"),
                canonical_url=f"https://{domain}/artikel/{spec['slug']}",
                guid=f"https://{domain}/artikel/{spec['slug']}",
                published_at=published,
                created_at=published,
                updated_at=published,
            )
        )
    return len(newsroom.ARTICLES)


def _plan_issues(end: datetime) -> list[_PlannedIssue]:
    """The sent issues, oldest first: a supporters' briefing each month, the weekly digests of the last
    five weeks. Sent at 07:00 (digests) or 17:00 (briefings, on the 15th) UTC on their day."""
    default = next(spec["slug"] for spec in newsroom.NEWSLETTERS if spec["default"])
    hidden = next(spec["slug"] for spec in newsroom.NEWSLETTERS if not spec["public"])
    planned = []
    for months_back in range(BRIEFINGS, 0, -1):  # the 15th of each of the last months
        month = end.year * 12 + end.month - 1 - months_back
        day = datetime(month // 12, month % 12 + 1, 15, 17, 0, tzinfo=UTC)
        planned.append(_PlannedIssue(
            subject=f"Förderkreis-Briefing {MONTHS[day.month - 1]} {day.year}", layout="feature",
            newsletter=hidden, sent_at=day, intro=BRIEFING_INTRO, with_articles=False,
        ))  # fmt: skip
    for days_back, subject, layout in WEEKLY:
        day = (end - timedelta(days=days_back)).replace(hour=7, minute=0, second=0, microsecond=0)
        planned.append(_PlannedIssue(subject, layout, default, day, DIGEST_INTRO, True))
    return sorted(planned, key=lambda p: p.sent_at)  # ids in the order they were sent


DIGEST_INTRO = (
    "Liebe Leserinnen und Leser,\n\nhier ist unsere Auswahl der Woche. Alle Artikel sind frei "
    "zugänglich – **teilen Sie sie gern**."
)
BRIEFING_INTRO = (
    "Liebe Mitglieder des Förderkreises,\n\ndanke, dass Sie unabhängigen Journalismus über künstliche "
    "Intelligenz möglich machen. In diesem Monat berichten wir aus der Redaktion: welche Recherchen "
    "laufen, was Ihre Beiträge finanziert haben und worüber wir als Nächstes schreiben wollen."
)


def _between(rng: random.Random, first: datetime, last: datetime) -> datetime:
    return first + (last - first) * rng.random() if last > first else last


def _readers(rng: random.Random, end: datetime, count: int, plan: list[_PlannedIssue]) -> list[_Reader]:
    """``count`` readers with made-up German names in every state, who signed up over the last year; those
    who left mostly did so after an issue (a bounce or a complaint always does)."""
    readers, seen = [], set()
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    public = [spec["slug"] for spec in newsroom.NEWSLETTERS if spec["public"] and not spec["default"]]
    hidden = [spec["slug"] for spec in newsroom.NEWSLETTERS if not spec["public"]]
    default = next(spec["slug"] for spec in newsroom.NEWSLETTERS if spec["default"])
    while len(readers) < count:
        first = rng.choice(newsroom.FIRST_NAMES)
        last = rng.choice(newsroom.LAST_NAMES)
        local = rng.choice(
            [f"{first}.{last}", f"{first[0]}.{last}", f"{first}{rng.randint(1, 99)}", f"{last}.{first}"]
        )
        email = f"{_ascii(local)}@{rng.choice(newsroom.EMAIL_DOMAINS)}"
        if email in seen:
            continue
        seen.add(email)
        status = rng.choices(statuses, weights)[0] if readers else SubscriberStatus.ACTIVE
        if status == SubscriberStatus.PENDING:  # asked in the last three days, not confirmed yet
            created, confirmed = end - timedelta(minutes=rng.randint(60, 3 * 1440)), None
        else:  # the first reader is the oldest: the history starts about a year back
            minutes = rng.randint(720, HISTORY_DAYS * 1440) if readers else HISTORY_DAYS * 1440
            created = end - timedelta(minutes=minutes)
            confirmed = created + timedelta(minutes=rng.randint(2, 600))
        chosen = {default} if rng.random() < 0.85 else set()
        chosen.update(slug for slug in public if rng.random() < 0.35)
        chosen.update(slug for slug in hidden if rng.random() < 0.05)
        reader = _Reader(email, status, "en" if rng.random() < 0.07 else "de", rng.choice(newsroom.SOURCES),
                         created, confirmed, chosen or {default})  # fmt: skip
        if status in (SubscriberStatus.UNSUBSCRIBED, SubscriberStatus.BOUNCED, SubscriberStatus.COMPLAINED):
            _leave(rng, reader, plan, end)
        readers.append(reader)
    return readers


def _leave(rng: random.Random, reader: _Reader, plan: list[_PlannedIssue], end: datetime) -> None:
    """When and after which issue the reader left: a bounce minutes after an issue, a complaint within
    two days of one, most unsubscribes within three days of one (the rest at any time)."""
    received = [
        n for n, p in enumerate(plan) if p.newsletter in reader.newsletters and p.sent_at > reader.confirmed
    ]
    if received and (reader.status != SubscriberStatus.UNSUBSCRIBED or rng.random() < 0.7):
        n = rng.choice(received)
        after = {SubscriberStatus.BOUNCED: (1, 30), SubscriberStatus.COMPLAINED: (30, 2880)}.get(
            reader.status, (10, 4320)
        )
        reader.left = min(plan[n].sent_at + timedelta(minutes=rng.randint(*after)), end)
        reader.left_by = n if reader.status != SubscriberStatus.UNSUBSCRIBED else None
    else:
        reader.left = _between(rng, reader.confirmed, end)


def _add_readers(session: Session, readers: list[_Reader]) -> None:
    rows = [
        {"email": r.email, "status": r.status, "locale": r.locale, "source": r.source,
         "created_at": r.created, "confirmed_at": r.confirmed, "unsubscribed_at": r.left}
        for r in readers
    ]  # fmt: skip
    ids = session.scalars(
        insert(Subscriber).returning(Subscriber.id, sort_by_parameter_order=True), rows
    ).all()
    for reader, subscriber_id in zip(readers, ids, strict=True):
        reader.id = subscriber_id
    by_slug = dict(session.execute(select(Newsletter.slug, Newsletter.id)).all())
    session.execute(insert(Subscription), [
        {"subscriber_id": r.id, "newsletter_id": by_slug[slug], "created_at": r.created}
        for r in readers for slug in sorted(r.newsletters)
    ])  # fmt: skip


def _add_reader_records(session: Session, rng: random.Random, now: datetime, end: datetime,
                        readers: list[_Reader]) -> None:  # fmt: skip
    """What the reader flows would have left behind: consent proof for everyone who confirmed, a history
    of events, the suppression list, and a few readers who paused or asked for fewer donation asks."""
    suppressed_by = {
        SubscriberStatus.UNSUBSCRIBED: SuppressionReason.UNSUBSCRIBED,
        SubscriberStatus.BOUNCED: SuppressionReason.BOUNCED,
        SubscriberStatus.COMPLAINED: SuppressionReason.COMPLAINED,
    }
    events, suppressions, paused, fewer, never = [], [], [], [], []
    for r in readers:
        events.append({"subscriber_id": r.id, "kind": "subscribed", "created_at": r.created,
                       "detail": {"via": "web", "source": r.source}})  # fmt: skip
        events.append({"subscriber_id": r.id, "kind": "confirmation_sent", "created_at": r.created,
                       "detail": {}})  # fmt: skip
        if r.confirmed is not None:
            events.append({"subscriber_id": r.id, "kind": "confirmed", "created_at": r.confirmed,
                           "detail": {"via": "confirmation link"}})  # fmt: skip
            if r.status == SubscriberStatus.ACTIVE:
                roll = rng.random()
                if roll < 0.03:
                    paused.append(r.id)
                    when = max(r.confirmed, end - timedelta(minutes=rng.randint(60, 10 * 1440)))
                    events.append({"subscriber_id": r.id, "kind": "preferences_changed", "created_at": when,
                                   "detail": {"via": "preference center", "paused": True}})  # fmt: skip
                elif roll < 0.10:
                    (fewer if roll < 0.08 else never).append(r.id)
        if r.status in suppressed_by:
            kind = r.status.value
            via = "one-click" if kind == "unsubscribed" else "relay"
            events.append({"subscriber_id": r.id, "kind": kind, "created_at": r.left, "detail": {"via": via}})
            suppressions.append({"email_hash": email_hash(r.email), "reason": suppressed_by[r.status],
                                 "created_at": r.left})  # fmt: skip
    session.execute(
        update(Subscriber)
        .where(Subscriber.confirmed_at.is_not(None))
        .values(
            consent_basis=ConsentBasis.DOUBLE_OPT_IN,
            consent_at=Subscriber.confirmed_at,
            consent_detail="confirmed from the link in the confirmation mail",
        )
    )
    if paused:  # paused now, for three weeks from the load
        until = now + timedelta(days=21)
        session.execute(update(Subscriber).where(Subscriber.id.in_(paused)).values(paused_until=until))
    for ids, frequency in ((fewer, AskFrequency.LESS), (never, AskFrequency.NEVER)):
        if ids:
            session.execute(update(Subscriber).where(Subscriber.id.in_(ids)).values(ask_frequency=frequency))
    if events:
        session.execute(insert(SubscriberEvent), events)
    if suppressions:
        session.execute(insert(Suppression), suppressions)
    for r in readers:  # the ledger rows give these readers the variant without the ask
        r.asks = AskFrequency.NEVER if r.id in never else AskFrequency.LESS if r.id in fewer else r.asks


def _add_issues(session: Session, rng: random.Random, plan: list[_PlannedIssue], readers: list[_Reader],
                newsletters: dict[str, Newsletter], sender: str, end: datetime) -> None:  # fmt: skip
    """The planned issues as sent, each with the ledger rows its send would have written (a row for every
    reader who was on its newsletter then: sent, bounced for the reader it bounced for, a few failed) and
    its tally; then this week's draft."""
    session.flush()
    articles = session.scalars(select(Article).order_by(Article.published_at.desc())).all()
    name = newsroom.NEWSROOM["name"]
    for n, planned in enumerate(plan):
        rows = _ledger_rows(rng, n, planned, readers, newsletters)
        if not rows:  # a small demo may have nobody on the supporters' newsletter yet: no issue to nobody
            continue
        if planned.with_articles:
            chosen = [
                a for a in articles if planned.sent_at - timedelta(days=7) <= a.published_at < planned.sent_at
            ]
            chosen = chosen[:8]
        else:
            chosen = [_report_article(session, planned.sent_at)]
        issue = Issue(
            subject=planned.subject,
            preheader=", ".join(a.title for a in chosen[:2])[:300] or "Neues aus der Redaktion",
            intro=planned.intro,
            layout=IssueLayout(planned.layout),
            state=IssueState.SENT,
            sender_name=name,
            sender_address=sender,
            sent_at=planned.sent_at,
            created_at=planned.sent_at - timedelta(hours=20),
            updated_at=planned.sent_at,
            newsletters=[newsletters[planned.newsletter]],
        )
        issue.items = [IssueArticle(article=a, position=k) for k, a in enumerate(chosen)]
        issues.seal_for_sending(issue)  # as a real send does: its articles as sent, its place in the archive
        session.add(issue)
        session.flush()
        for row in rows:
            row.update(issue_id=issue.id, variant=ask_variant(None, row["variant"], issue.id))
        session.execute(insert(Delivery), rows)
        tallies.tally_issue(session, issue.id)
    recent = [a for a in articles if a.published_at >= end - timedelta(days=7)][:10]
    draft = Issue(
        subject="Entwurf: Die KI-Woche",
        preheader="Unsere Auswahl der letzten sieben Tage",
        intro=DIGEST_INTRO,
        layout=IssueLayout.DIGEST,
        state=IssueState.DRAFT,
        sender_name=name,
        sender_address=sender,
        created_at=end,
        updated_at=end,
        newsletters=[next(n for n in newsletters.values() if n.is_default)],
    )
    draft.items = [IssueArticle(article=a, position=k) for k, a in enumerate(recent)]
    session.add(draft)
    session.flush()


def _report_article(session: Session, sent_at: datetime) -> Article:
    """The newsroom's monthly report to its readers, published the hour before the supporters' briefing
    that leads with it."""
    month = f"{MONTHS[sent_at.month - 1]} {sent_at.year}"
    slug = f"in-eigener-sache-{sent_at.year}-{sent_at.month:02d}"
    url = f"https://{newsroom.NEWSROOM['domain']}/artikel/{slug}"
    published = sent_at - timedelta(hours=1)
    article = Article(
        slug=slug,
        title=f"In eigener Sache: Was Ihre Beiträge im {month} möglich gemacht haben",
        teaser="Wofür wir das Geld unserer Leserinnen und Leser ausgegeben haben, welche Recherchen laufen "
        "und was wir uns für die nächsten Wochen vornehmen.",
        body=REPORT_BODY,
        author="Redaktion KI-Kompass",
        tags=["in-eigener-sache"],
        sponsored=False,
        canonical_url=url,
        guid=url,
        published_at=published,
        created_at=published,
        updated_at=published,
    )
    session.add(article)
    return article


REPORT_BODY = (
    "Der KI-Kompass ist frei zugänglich, weil Leserinnen und Leser ihn bezahlen. Jeden Monat legen wir "
    "offen, was mit diesem Geld geschieht.\n\n"
    "## Wofür das Geld ausgegeben wurde\n\n"
    "- **Recherche:** Reisen zu Gerichtsverhandlungen, Anfragen nach dem Informationsfreiheitsgesetz und "
    "Gutachten, die wir selbst in Auftrag gegeben haben.\n"
    "- **Redaktion:** die Honorare unserer freien Autorinnen und Autoren.\n"
    "- **Technik:** Server, Newsletter-Versand und Datensicherung.\n\n"
    "Wer uns unterstützt, bekommt einmal im Monat das Förderkreis-Briefing mit Einblicken in die "
    "Redaktionsarbeit. Danke, dass Sie unabhängigen Journalismus über künstliche Intelligenz möglich machen."
)


def _ledger_rows(rng: random.Random, n: int, planned: _PlannedIssue, readers: list[_Reader],
                 newsletters: dict[str, Newsletter]) -> list[dict]:  # fmt: skip
    """The rows of the ``n``-th planned issue, without the issue's id (it has none yet) and with the
    reader's ask frequency where the variant goes (which depends on the id)."""
    newsletter_id = newsletters[planned.newsletter].id
    rows = []
    for r in readers:
        if planned.newsletter not in r.newsletters or r.confirmed is None or r.confirmed > planned.sent_at:
            continue
        if r.left is not None and r.left <= planned.sent_at:
            continue
        sent_at = planned.sent_at + timedelta(seconds=rng.randint(5, 1800))
        status, reply = DeliveryStatus.SENT, "250 2.0.0 Ok: queued"
        if r.left_by == n and r.status == SubscriberStatus.BOUNCED:
            status, reply = DeliveryStatus.BOUNCED, "550 5.1.1 <recipient>: mailbox unavailable"
        elif rng.random() < FAILED_SHARE:
            status, reply, sent_at = DeliveryStatus.FAILED, "554 5.7.1 message refused", None
        rows.append({
            "subscriber_id": r.id, "newsletter_id": newsletter_id,
            "variant": r.asks, "status": status, "attempts": 1,
            "sent_at": sent_at, "reply": reply, "created_at": planned.sent_at,
        })  # fmt: skip
    return rows
