"""Demo content: a German AI newsroom with newsletters, articles, readers and two staff accounts.

Later capabilities add their own demo data here (donations, sent issues). Deterministic for a seed,
except the staff passwords, which are random and shown once.
"""

from __future__ import annotations

import random
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta

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


def load_demo(session: Session, *, subscribers: int = 3000, seed: int = 2026) -> DemoResult:
    """Fill an empty database. Refuses a database that already has newsletters or these staff users."""
    _refuse_unless_empty(session)
    rng = random.Random(seed)
    now = utcnow()
    result = DemoResult()
    for email, role, name in DEMO_STAFF:
        password = secrets.token_urlsafe(12)
        accounts.create_staff_user(session, email, password, role, name=name)
        result.staff.append((email, role.value, password))
    newsletters = _add_newsletters(session)
    result.newsletters = len(newsletters)
    result.articles = _add_articles(session, rng, now)
    session.execute(insert(Subscriber), _reader_rows(rng, now, subscribers))
    ids = session.scalars(select(Subscriber.id).order_by(Subscriber.id)).all()
    default = next(n for n in newsletters if n.is_default)
    session.execute(insert(Subscription), _memberships(rng, now, ids, newsletters, default))
    _add_reader_records(session, rng, now)
    result.subscribers = len(ids)
    _load_demo_issues(session, default, now)
    tallies.blame_unsubscribes(session)  # the history was written in bulk: blame leavers on issues now
    result.donations = run_demo_loaders(session, seed=seed, now=now)
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


def _reader_rows(rng: random.Random, now, count: int) -> list[dict]:
    """``count`` readers with made-up German names, in every state, signed up over the last two years."""
    rows, seen = [], set()
    statuses, weights = list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values())
    while len(rows) < count:
        first = rng.choice(newsroom.FIRST_NAMES)
        last = rng.choice(newsroom.LAST_NAMES)
        local = rng.choice(
            [f"{first}.{last}", f"{first[0]}.{last}", f"{first}{rng.randint(1, 99)}", f"{last}.{first}"]
        )
        email = f"{_ascii(local)}@{rng.choice(newsroom.EMAIL_DOMAINS)}"
        if email in seen:
            continue
        seen.add(email)
        status = rng.choices(statuses, weights)[0]
        created = now - timedelta(days=rng.randint(1, 700), minutes=rng.randint(0, 1440))
        confirmed = (
            created + timedelta(minutes=rng.randint(2, 600)) if status != SubscriberStatus.PENDING else None
        )
        if status == SubscriberStatus.PENDING:
            created = now - timedelta(hours=rng.randint(1, 40))
        rows.append(
            {
                "email": email,
                "status": status,
                "locale": "en" if rng.random() < 0.07 else "de",
                "source": rng.choice(newsroom.SOURCES),
                "created_at": created,
                "confirmed_at": confirmed,
                "unsubscribed_at": now - timedelta(days=rng.randint(0, 60))
                if status == SubscriberStatus.UNSUBSCRIBED
                else None,
            }
        )
    return rows


def _memberships(rng: random.Random, now, ids, newsletters: list[Newsletter],
                 default: Newsletter) -> list[dict]:  # fmt: skip
    """Most readers on the default newsletter, a third on each other public one, a few on the hidden."""
    public = [n for n in newsletters if n.is_public and n is not default]
    hidden = [n for n in newsletters if not n.is_public]
    links = []
    for subscriber_id in ids:
        chosen = {default.id} if rng.random() < 0.85 else set()
        chosen.update(n.id for n in public if rng.random() < 0.35)
        chosen.update(n.id for n in hidden if rng.random() < 0.05)
        if not chosen:
            chosen.add(default.id)
        links.extend(
            {"subscriber_id": subscriber_id, "newsletter_id": nid, "created_at": now} for nid in chosen
        )
    return links


def _add_reader_records(session: Session, rng: random.Random, now) -> None:
    """What the reader flows would have left behind: consent proof for everyone who confirmed, a history
    of events, the suppression list, and a few readers who paused or asked for fewer donation asks."""
    suppressed_by = {
        SubscriberStatus.UNSUBSCRIBED: SuppressionReason.UNSUBSCRIBED,
        SubscriberStatus.BOUNCED: SuppressionReason.BOUNCED,
        SubscriberStatus.COMPLAINED: SuppressionReason.COMPLAINED,
    }
    events, suppressions, paused, fewer, never = [], [], [], [], []
    readers = session.execute(
        select(Subscriber.id, Subscriber.email, Subscriber.status, Subscriber.created_at,
               Subscriber.confirmed_at, Subscriber.unsubscribed_at, Subscriber.source)
    ).all()  # fmt: skip
    for r in readers:
        events.append({"subscriber_id": r.id, "kind": "subscribed", "created_at": r.created_at,
                       "detail": {"via": "web", "source": r.source}})  # fmt: skip
        events.append({"subscriber_id": r.id, "kind": "confirmation_sent", "created_at": r.created_at,
                       "detail": {}})  # fmt: skip
        if r.confirmed_at is not None:
            events.append({"subscriber_id": r.id, "kind": "confirmed", "created_at": r.confirmed_at,
                           "detail": {"via": "confirmation link"}})  # fmt: skip
            if r.status == SubscriberStatus.ACTIVE:
                roll = rng.random()
                if roll < 0.03:
                    paused.append(r.id)
                    events.append({"subscriber_id": r.id, "kind": "preferences_changed", "created_at": now,
                                   "detail": {"via": "preference center", "paused": True}})  # fmt: skip
                elif roll < 0.10:
                    (fewer if roll < 0.08 else never).append(r.id)
        if r.status in suppressed_by:
            kind = {"unsubscribed": "unsubscribed", "bounced": "bounced", "complained": "complained"}[
                r.status
            ]
            via = "one-click" if kind == "unsubscribed" else "relay"
            events.append({"subscriber_id": r.id, "kind": kind, "created_at": r.unsubscribed_at or now,
                           "detail": {"via": via}})  # fmt: skip
            suppressions.append({"email_hash": email_hash(r.email), "reason": suppressed_by[r.status],
                                 "created_at": r.unsubscribed_at or now})  # fmt: skip
    session.execute(
        update(Subscriber)
        .where(Subscriber.confirmed_at.is_not(None))
        .values(
            consent_basis=ConsentBasis.DOUBLE_OPT_IN,
            consent_at=Subscriber.confirmed_at,
            consent_detail="confirmed from the link in the confirmation mail",
        )
    )
    if paused:
        until = now + timedelta(days=21)
        session.execute(update(Subscriber).where(Subscriber.id.in_(paused)).values(paused_until=until))
    for ids, frequency in ((fewer, AskFrequency.LESS), (never, AskFrequency.NEVER)):
        if ids:
            session.execute(update(Subscriber).where(Subscriber.id.in_(ids)).values(ask_frequency=frequency))
    if events:
        session.execute(insert(SubscriberEvent), events)
    if suppressions:
        session.execute(insert(Suppression), suppressions)


# Sent issues (weekly, the articles of the week before) and one draft with this week's articles.
DEMO_ISSUES = (
    (35, "Wochenrückblick: Was von der KI-Woche bleibt", "digest"),
    (28, "Die Woche im Überblick: Chips, Schulen, Gerichte", "digest"),
    (21, "Schwerpunkt: Wer haftet, wenn die Maschine irrt?", "feature"),
    (14, "Wochenrückblick: Neue Modelle, alte Fragen", "digest"),
    (7, "Schwerpunkt: KI im Alltag – was wirklich hilft", "feature"),
)


def _load_demo_issues(session: Session, newsletter: Newsletter, now) -> None:
    session.flush()
    articles = session.scalars(select(Article).order_by(Article.published_at.desc())).all()
    sender = (newsroom.NEWSROOM["name"], newsroom.NEWSROOM["sender_email"])
    intro = (
        "Liebe Leserinnen und Leser,\n\nhier ist unsere Auswahl der Woche. Alle Artikel sind frei "
        "zugänglich – **teilen Sie sie gern**."
    )
    for days_ago, subject, layout in DEMO_ISSUES:
        sent_at = (now - timedelta(days=days_ago)).replace(hour=7, minute=0, second=0, microsecond=0)
        chosen = [a for a in articles if sent_at - timedelta(days=7) <= a.published_at < sent_at][:8]
        issue = Issue(
            subject=subject,
            preheader=", ".join(a.title for a in chosen[:2])[:300],
            intro=intro,
            layout=IssueLayout(layout),
            state=IssueState.SENT,
            sender_name=sender[0],
            sender_address=sender[1],
            sent_at=sent_at,
            created_at=sent_at - timedelta(hours=20),
            newsletters=[newsletter],
        )
        issue.items = [IssueArticle(article=a, position=n) for n, a in enumerate(chosen)]
        issues.seal_for_sending(issue)  # as a real send does: its articles as sent, its place in the archive
        session.add(issue)
    recent = [a for a in articles if a.published_at >= now - timedelta(days=7)][:10]
    draft = Issue(
        subject="Entwurf: Die KI-Woche",
        preheader="Unsere Auswahl der letzten sieben Tage",
        intro=intro,
        layout=IssueLayout.DIGEST,
        state=IssueState.DRAFT,
        sender_name=sender[0],
        sender_address=sender[1],
        newsletters=[newsletter],
    )
    draft.items = [IssueArticle(article=a, position=n) for n, a in enumerate(recent)]
    session.add(draft)
    session.flush()
