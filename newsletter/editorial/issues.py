"""Issues: compose (subject, intro, articles in order, newsletters, layout, sender), render, preview.

Sending is the sending package's; here an issue moves only between draft and cancelled, and the
states scheduled, sending and sent are modelled for it. Rendering is once per issue and variant: the
per-recipient values are slots (``rendering.SLOTS``) filled later.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session, object_session, selectinload

from db import utcnow
from newsletter.editorial.articles import markdown_text, reading_url, render_markdown
from newsletter.editorial.models import Article, Issue, IssueArticle, IssueLayout, IssueState
from newsletter.mail import rendering
from newsletter.ports import supporter_goal
from newsletter.readers.models import Newsletter, Segment

# The donation ask per supporter state (chosen in the send ledger's SQL, ``ledger.ask_variant_sql``):
# "never_gave", "one_time", "monthly", "lapsed" and "failing"; "no_ask" for readers who asked never to be
# asked; "default" while supporter states are not known (no donations side).
VARIANTS = ("default", "never_gave", "one_time", "monthly", "lapsed", "failing", "no_ask")
MAX_ARTICLES = 200
EDITABLE = (IssueState.DRAFT,)


class IssueError(ValueError):
    """A change an issue cannot take; the message says why."""


@dataclass
class IssueInput:
    subject: str
    preheader: str = ""
    intro: str = ""
    layout: str = IssueLayout.DIGEST.value
    newsletter_ids: Sequence[int] = ()
    sender_name: str = ""
    sender_address: str = ""
    show_goal: bool = False
    segment_id: int | None = None  # a segment of one of the newsletters: only its readers get the issue
    # The English version (optional): readers who chose English get these; empty ones fall back to German.
    subject_en: str = ""
    preheader_en: str = ""
    intro_en: str = ""


def _require_draft(issue: Issue) -> None:
    if issue.state not in EDITABLE:
        raise IssueError(_l("only a draft can be changed"))


def _apply(session: Session, issue: Issue, data: IssueInput) -> None:
    subject = " ".join((data.subject or "").split())
    if not subject:
        raise IssueError(_l("an issue needs a subject"))
    if len(subject) > 200:
        raise IssueError(_l("the subject is longer than 200 characters"))
    try:
        layout = IssueLayout(data.layout)
    except ValueError:
        raise IssueError(_l("there is no layout %(name)s", name=data.layout)) from None
    sender_name = " ".join((data.sender_name or "").split())
    if not sender_name:
        raise IssueError(_l("the sender needs a name"))
    try:
        sender_address = validate_email(data.sender_address or "", check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise IssueError(_l("the sender address is not valid (%(reason)s)", reason=str(exc))) from None
    ids = list(dict.fromkeys(int(i) for i in data.newsletter_ids))
    newsletters = list(session.scalars(select(Newsletter).where(Newsletter.id.in_(ids)))) if ids else []
    if len(newsletters) != len(ids):
        raise IssueError(_l("a chosen newsletter does not exist"))
    issue.subject = subject
    issue.preheader = " ".join((data.preheader or "").split())[:300]
    issue.intro = data.intro or ""
    issue.subject_en = " ".join((data.subject_en or "").split())[:200] or None
    issue.preheader_en = " ".join((data.preheader_en or "").split())[:300] or None
    intro_en = data.intro_en or ""
    issue.intro_en = intro_en if intro_en.strip() else None
    issue.layout = layout
    issue.sender_name = sender_name[:200]
    issue.sender_address = sender_address
    issue.newsletters = newsletters
    issue.segment = _segment_of(session, data.segment_id, ids)
    issue.show_goal = bool(data.show_goal)


def _segment_of(session: Session, segment_id: int | None, newsletter_ids: list[int]) -> Segment | None:
    """The chosen segment, which must belong to one of the issue's newsletters."""
    if segment_id is None:
        return None
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise IssueError(_l("the chosen segment does not exist"))
    if segment.newsletter_id not in newsletter_ids:
        raise IssueError(_l("the segment “%(name)s” belongs to a newsletter the issue does not go to",
                            name=segment.name))  # fmt: skip
    return segment


def create_issue(session: Session, data: IssueInput, *, created_by_id: int | None = None) -> Issue:
    issue = Issue(state=IssueState.DRAFT, created_by_id=created_by_id)
    _apply(session, issue, data)
    session.add(issue)
    session.flush()
    return issue


def update_issue(session: Session, issue: Issue, data: IssueInput) -> Issue:
    _require_draft(issue)
    _apply(session, issue, data)
    session.flush()
    return issue


def _renumber(issue: Issue) -> None:
    for position, item in enumerate(issue.items):
        item.position = position


def add_article(session: Session, issue: Issue, article_id: int) -> None:
    _require_draft(issue)
    article = session.get(Article, article_id)
    if article is None:
        raise IssueError(_l("this article does not exist"))
    if any(item.article_id == article_id for item in issue.items):
        raise IssueError(_l("this article is already in the issue"))
    if len(issue.items) >= MAX_ARTICLES:
        raise IssueError(_l("an issue holds at most %(count)d articles", count=MAX_ARTICLES))
    issue.items.append(IssueArticle(article=article, position=len(issue.items)))
    session.flush()


def remove_article(session: Session, issue: Issue, article_id: int) -> None:
    _require_draft(issue)
    item = next((i for i in issue.items if i.article_id == article_id), None)
    if item is None:
        raise IssueError(_l("this article is not in the issue"))
    issue.items.remove(item)
    _renumber(issue)
    session.flush()


def move_article(session: Session, issue: Issue, article_id: int, offset: int) -> None:
    """Move an article ``offset`` places (-1 up, +1 down); at either end it stays where it is."""
    _require_draft(issue)
    items = list(issue.items)
    index = next((n for n, i in enumerate(items) if i.article_id == article_id), None)
    if index is None:
        raise IssueError(_l("this article is not in the issue"))
    target = max(0, min(len(items) - 1, index + offset))
    items.insert(target, items.pop(index))
    for position, item in enumerate(items):
        item.position = position
    session.flush()
    session.expire(issue, ["items"])


def cancel_issue(session: Session, issue: Issue) -> None:
    if issue.state not in (IssueState.DRAFT, IssueState.SCHEDULED):
        raise IssueError(_l("only a draft or a scheduled issue can be cancelled"))
    issue.state = IssueState.CANCELLED
    issue.scheduled_at = None
    session.flush()


def duplicate_issue(session: Session, issue: Issue, *, created_by_id: int | None = None) -> Issue:
    """A new draft saying what ``issue`` says, to the same newsletters from the same sender, with its
    articles in the same order: "Copy of" its subject. Not its state, schedule, sealed content, archive
    choice or statistics: the copy starts as any new draft does. Articles deleted since are left out."""
    subject = str(_l("Copy of %(subject)s", subject=issue.subject))
    copy = Issue(
        state=IssueState.DRAFT,
        subject=subject[:200],
        preheader=issue.preheader,
        intro=issue.intro,
        subject_en=issue.subject_en,
        preheader_en=issue.preheader_en,
        intro_en=issue.intro_en,
        layout=issue.layout,
        sender_name=issue.sender_name,
        sender_address=issue.sender_address,
        show_goal=issue.show_goal,
        newsletters=list(issue.newsletters),
        segment=issue.segment,
        created_by_id=created_by_id,
    )
    copy.items = [IssueArticle(article=item.article, position=n) for n, item in enumerate(issue.items)]
    session.add(copy)
    session.flush()
    return copy


@dataclass(frozen=True)
class SentIn:
    """An issue that went out with an article: where the desk says "sent in issue N (date)"."""

    issue_id: int
    subject: str
    sent_at: datetime | None


# An issue whose readers got (or are getting) its articles.
_GONE_OUT = (IssueState.SENDING, IssueState.PAUSED, IssueState.SENT)


def sent_in(session: Session, article_ids: Sequence[int]) -> dict[int, list[SentIn]]:
    """For each of ``article_ids``, the issues that went out with it, latest first."""
    ids = list(dict.fromkeys(article_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(IssueArticle.article_id, Issue.id, Issue.subject, Issue.sent_at)
        .join(Issue, Issue.id == IssueArticle.issue_id)
        .where(IssueArticle.article_id.in_(ids), Issue.state.in_(_GONE_OUT))
        .order_by(Issue.id.desc())
    ).all()
    found: dict[int, list[SentIn]] = {}
    for article_id, issue_id, subject, sent_at in rows:
        found.setdefault(article_id, []).append(SentIn(issue_id, subject, sent_at))
    return found


def create_issue_from_recent(
    session: Session,
    days: int,
    *,
    sender_name: str,
    sender_address: str,
    newsletter_ids: Sequence[int] = (),
    created_by_id: int | None = None,
    now: datetime | None = None,
) -> Issue:
    """A draft with every article of the last ``days`` days, newest first, and a subject to edit."""
    if not 1 <= days <= 90:
        raise IssueError(_l("choose between 1 and 90 days"))
    now = now or utcnow()
    articles = session.scalars(
        select(Article)
        .where(Article.published_at >= now - timedelta(days=days), Article.published_at <= now)
        .order_by(Article.published_at.desc(), Article.id.desc())
        .limit(MAX_ARTICLES)
    ).all()
    subject = articles[0].title if articles else f"Newsletter {now:%d.%m.%Y}"
    issue = create_issue(
        session,
        IssueInput(
            subject=subject[:200],
            newsletter_ids=newsletter_ids,
            sender_name=sender_name,
            sender_address=sender_address,
        ),
        created_by_id=created_by_id,
    )
    issue.items = [IssueArticle(article=a, position=n) for n, a in enumerate(articles)]
    session.flush()
    return issue


# --- Rendering ----------------------------------------------------------------------------------------

# An issue's intro is the same for all its variants and previews: rendered once. A pure function of the
# text; the intro is at most 50,000 characters (IssueForm), so the cache stays small.
_intro_html = functools.lru_cache(maxsize=32)(render_markdown)


def archive_key(secret_key: str, issue_id: int) -> str:
    """The key in the mail's "read in the browser" link: it opens the issue's web version even when the
    issue is not in the public archive (sent to hidden newsletters only). It names the issue, not the
    reader: everyone who got the issue gets the same link, and it opens nothing else."""
    mac = hmac.new(secret_key.encode(), f"beitrag.archive:{int(issue_id)}".encode(), hashlib.sha256)
    return mac.hexdigest()[:32]


def web_url(base_url: str, issue: Issue, secret_key: str | None = None, *, locale: str = "de") -> str:
    """The issue's web version; with ``secret_key`` (the mail's link) keyed so that it opens for readers of
    an issue the public archive does not show; in ``locale`` when that is not the site's default."""
    query = [f"k={archive_key(secret_key, issue.id)}"] if secret_key else []
    if locale != "de":
        query.append(f"lang={locale}")
    return f"{base_url}/archive/{issue.id}" + ("?" + "&".join(query) if query else "")


def article_content(article: Article) -> dict[str, Any]:
    """What an issue shows of an article: the values its templates, the archive and the feed use.
    ``url`` is the article's own address; an article without one is read on its page here, found by
    ``slug`` (see :func:`issue_articles`)."""
    return {
        "title": article.title,
        "teaser": article.teaser,
        "author": article.author,
        "url": article.canonical_url,
        "slug": None if article.canonical_url else article.slug,
        "image_url": article.image_url,
        "image_alt": article.image_alt,
        "image_credit": article.image_credit,
        "sponsored": article.sponsored,
    }


# The keys of ``article_content`` that content sealed earlier may lack, and what they mean there.
_SEALED_BEFORE: dict[str, Any] = {"url": None, "slug": None, "image_alt": None, "image_credit": None}


def issue_articles(issue: Issue, *, base_url: str | None = None) -> list[dict[str, Any]]:
    """The issue's articles as its readers get them: as they were when the send started, once it has (an
    article edited or deleted later changes nothing there); as they are now, before. With ``base_url``,
    ``url`` is where each is read: its own address, else its page here. Content sealed before articles
    had pages carries no ``slug``; those keep ``url`` empty and the issue's web version stands in."""
    if issue.sent_content is not None:  # sealed perhaps before some keys existed: those are empty
        found = [{**_SEALED_BEFORE, **a} for a in issue.sent_content.get("articles") or []]
    else:
        found = [article_content(a) for a in issue.articles]
    if base_url is None:
        return found
    return [{**a, "url": reading_url(base_url, url=a["url"], slug=a["slug"])} for a in found]


def seal_for_sending(issue: Issue) -> None:
    """Fix what the issue says and where it is shown, in the transaction that makes it ``sending``: its
    articles as they are now (every batch's mail, the archive and the Atom feed show these from then on)
    and, unless an editor chose already, whether the public archive shows it: only when one of its
    newsletters is public. Safe to call again: what was fixed stays."""
    if issue.sent_content is None:
        issue.sent_content = {"articles": [article_content(a) for a in issue.articles]}
    if issue.public_archive is None:
        issue.public_archive = archive_default(issue)


def archive_default(issue: Issue) -> bool:
    """Whether the public archive shows the issue when nobody decided otherwise: when it goes to at least one
    public newsletter, and to all its readers. Members-only newsletters stay members-only, and an issue
    written for a segment (say, thanks to monthly supporters) stays with that segment."""
    return issue.segment is None and any(n.is_public for n in issue.newsletters)


def shown_in_archive(issue: Issue) -> bool:
    """Whether the public archive shows (or, before the send, will show) the issue."""
    return issue.public_archive if issue.public_archive is not None else archive_default(issue)


def named_newsletters(issue: Issue) -> list[Newsletter]:
    """The newsletters the issue's web version says it belongs to: its public ones; when it went to hidden
    ones only (its readers open it by their mail's key, or an editor published it), those."""
    return [n for n in issue.newsletters if n.is_public] or list(issue.newsletters)


def set_public_archive(session: Session, issue: Issue, shown: bool) -> None:
    """An editor's choice: show the issue in the public archive and its Atom feed, or not. Allowed in every
    state: an issue to a hidden newsletter is published this way after it was sent."""
    issue.public_archive = bool(shown)
    session.flush()


def _supporter_goal(issue: Issue) -> dict[str, int] | None:
    """Running monthly donations against the configured goal, from the donations side; None without one."""
    session = object_session(issue)
    return supporter_goal(session) if session is not None else None


def issue_context(
    issue: Issue, variant: str, *, base_url: str, secret_key: str | None = None, locale: str = "de"
) -> dict[str, Any]:
    """Plain values for the issue templates; the per-recipient values are slot tokens. With ``secret_key``
    the web version's link carries its key (:func:`web_url`). With ``locale`` "en" the issue's English
    subject, preheader and intro where the editor wrote them, the German ones where not."""
    if variant not in VARIANTS:
        raise IssueError(_l("there is no variant %(name)s", name=variant))
    intro = issue.intro_for(locale)
    intro_html = _intro_html(intro)
    return {
        "issue_subject": issue.subject_for(locale),
        "preheader": issue.preheader_for(locale),
        "intro_html": Markup(intro_html),  # noqa: S704 (sanitised by nh3)
        "intro_text": markdown_text(intro, intro_html),
        "articles": issue_articles(issue, base_url=base_url),
        "variant": variant,
        "web_url": web_url(base_url, issue, secret_key, locale=locale),
        # Counted when the issue is rendered (once per variant of a send), not per reader.
        "goal": _supporter_goal(issue) if issue.show_goal else None,
        # The donate page stores where a gift came from (issue, link, UTM) with the donation.
        "donate_url": f"{base_url}/spenden?issue={issue.id}&link=ask&utm_source=newsletter&utm_medium=email"
                      + ("" if locale == "de" else f"&lang={locale}"),
        **rendering.SLOTS,
    }


def render_issue(
    issue: Issue, variant: str = "default", *, base_url: str, locale: str = "de",
    secret_key: str | None = None,
):  # fmt: skip
    """Subject, HTML and text of the issue for one variant in one language (the issue's text and the
    mail's own words), slots unfilled. Raises RenderError."""
    locale = reader_locale(locale)
    return rendering.render_email(
        f"issue_{issue.layout.value}",
        issue_context(issue, variant, base_url=base_url, secret_key=secret_key, locale=locale),
        locale,
    )


def reader_locale(locale: str | None) -> str:
    """The language an issue is rendered in: English when asked, German otherwise."""
    return "en" if str(locale or "") == "en" else "de"


def editor_slot_values(base_url: str) -> dict[str, str]:
    """What the preview puts in the per-recipient slots: harmless links, no reader's token."""
    return {
        "unsubscribe_url": f"{base_url}/", "preferences_url": f"{base_url}/",
        "share_url": f"{base_url}/subscribe",
    }  # fmt: skip


def html_size(html: str) -> int:
    return len(html.encode("utf-8"))


def sent_issues(session: Session, *, limit: int = 50) -> list[Issue]:
    """The public archive: sent issues it shows, newest first."""
    return list(
        session.scalars(
            select(Issue)
            .options(selectinload(Issue.newsletters))
            .where(Issue.state == IssueState.SENT, Issue.public_archive.is_(True))
            .order_by(Issue.sent_at.desc())
            .limit(limit)
        )
    )


def archived_issue(session: Session, issue_id: int, *, key: str | None, secret_key: str) -> Issue | None:
    """A sent issue's web version, when the public archive shows it or ``key`` is the one its mail carried;
    None otherwise (the page answers 404, as for an issue that does not exist)."""
    issue = session.scalar(select(Issue).where(Issue.id == issue_id, Issue.state == IssueState.SENT))
    if issue is None:
        return None
    if issue.public_archive:
        return issue
    if key and key.isascii() and hmac.compare_digest(key, archive_key(secret_key, issue.id)):
        return issue
    return None
