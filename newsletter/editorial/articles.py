"""Articles: Markdown to safe HTML, create, edit, search, their public pages, and the import of feed items
as articles.

Markdown is rendered with markdown-it-py and the result is always cleaned with nh3: only a small set of
tags, no event handlers, no ``style``, links only to http(s) and mailto. Feed items are cleaned the same
way before they are stored.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser
import nh3
from flask_babel import lazy_gettext as _l
from markdown_it import MarkdownIt
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.editorial.feeds import check_url
from newsletter.editorial.models import Article, Feed
from newsletter.platform import audit

ALLOWED_TAGS = {
    "a",
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "ul",
    "ol",
    "li",
    "blockquote",
    "code",
    "pre",
    "h2",
    "h3",
    "h4",
    "hr",
    "img",
    "figure",
    "figcaption",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}}
URL_SCHEMES = {"http", "https", "mailto"}

_markdown = MarkdownIt("commonmark", {"html": True, "linkify": False, "typographer": False})


class ArticleError(ValueError):
    """Article input that cannot be stored; the message says what to fix."""


def clean_html(html: str) -> str:
    """Keep the harmless part of some HTML: allowed tags, no scripts, styles, handlers or odd links."""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        clean_content_tags={"script", "style"},
    )


def render_markdown(source: str) -> str:
    """Markdown (raw HTML inside it allowed as input) to sanitised HTML."""
    return clean_html(_markdown.render(source or ""))


def plain_text(html_or_text: str) -> str:
    """Text without any tags, whitespace collapsed (teasers from feed items, the plain-text mail part)."""
    text = nh3.clean(html_or_text or "", tags=set(), clean_content_tags={"script", "style"})
    text = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    text = text.replace("&#39;", "'").replace("&nbsp;", " ")
    return " ".join(text.split())


def markdown_text(source: str, html: str | None = None) -> str:
    """The text of some Markdown, paragraphs kept apart by blank lines (for the plain-text part).
    ``html``: the Markdown's rendering, when the caller has it already."""
    html = render_markdown(source) if html is None else html
    blocks = re.split(r"</(?:p|h2|h3|h4|li|blockquote|pre)>", html)
    return "\n\n".join(t for t in (plain_text(b) for b in blocks) if t)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL or nothing: ``javascript:`` and friends never reach a template."""
    url = (url or "").strip()
    if not url:
        return None
    if not re.match(r"^https?://[^\s/]", url, re.IGNORECASE):
        raise ArticleError(_l("only http:// or https:// addresses are allowed, not %(url)s", url=url[:60]))
    if any(ch in url for ch in "\"'<> \t\r\n"):
        raise ArticleError(_l("the address contains characters that are not allowed"))
    return url


def slugify(title: str) -> str:
    text = title.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:150] or "artikel"


def _unique_slug(session: Session, title: str, exclude_id: int | None = None) -> str:
    base = slugify(title)
    slug, n = base, 1
    while True:
        query = select(Article.id).where(Article.slug == slug)
        if exclude_id is not None:
            query = query.where(Article.id != exclude_id)
        if session.scalar(query) is None:
            return slug
        n += 1
        slug = f"{base}-{n}"


@dataclass
class ArticleInput:
    title: str
    teaser: str = ""
    body: str = ""
    author: str = ""
    image_url: str | None = None
    image_credit: str | None = None
    image_alt: str | None = None
    canonical_url: str | None = None
    tags: list[str] | None = None
    sponsored: bool = False
    published_at: datetime | None = None


def _apply(article: Article, data: ArticleInput) -> None:
    title = " ".join((data.title or "").split())
    if not title:
        raise ArticleError(_l("an article needs a title"))
    article.title = title[:300]
    article.teaser = (data.teaser or "").strip()
    article.body = data.body or ""
    article.author = (data.author or "").strip()[:200]
    article.image_url = safe_url(data.image_url)
    article.image_credit = (data.image_credit or "").strip()[:300] or None
    article.image_alt = " ".join((data.image_alt or "").split())[:500] or None
    article.canonical_url = safe_url(data.canonical_url)
    article.tags = [t for t in dict.fromkeys(" ".join(x.split()) for x in (data.tags or [])) if t][:20]
    article.sponsored = bool(data.sponsored)
    if data.published_at is not None:
        article.published_at = data.published_at


def parse_tags(raw: str) -> list[str]:
    return [t.strip() for t in (raw or "").split(",") if t.strip()]


def create_article(session: Session, data: ArticleInput) -> Article:
    article = Article()
    _apply(article, data)
    article.slug = _unique_slug(session, article.title)
    if data.published_at is None:
        article.published_at = utcnow()
    session.add(article)
    session.flush()
    return article


def update_article(session: Session, article: Article, data: ArticleInput) -> Article:
    _apply(article, data)
    session.flush()
    return article


def search_articles(session: Session, query: str = "", *, limit: int = 50, offset: int = 0) -> list[Article]:
    """Newest first; ``query`` matches title, teaser, author or tags, case-insensitively."""
    stmt = select(Article).order_by(Article.published_at.desc(), Article.id.desc())
    words = (query or "").split()[:8]
    for word in words:
        pattern = "%" + word.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(
            or_(
                func.lower(Article.title).like(pattern, escape="\\"),
                func.lower(Article.teaser).like(pattern, escape="\\"),
                func.lower(Article.author).like(pattern, escape="\\"),
            )
        )
    return list(session.scalars(stmt.limit(limit).offset(offset)))


# --- Public pages -------------------------------------------------------------------------------------

PAGE_PREFIX = "/artikel/"


def page_path(slug: str) -> str:
    """Where an article written here is read on the site (the ``editorial.article`` route)."""
    return f"{PAGE_PREFIX}{slug}"


def reading_url(base_url: str, *, url: str | None, slug: str | None) -> str | None:
    """Where readers read an article: its own address when it has one (a feed item's source, a page
    elsewhere), else its page here; None when neither is known (content sealed before issues kept the
    slug)."""
    if url:
        return url
    return f"{base_url}{page_path(slug)}" if slug else None


def published_article(session: Session, slug: str, *, now: datetime | None = None) -> Article | None:
    """The article behind ``slug`` once it is published; None for an unknown slug or one still to come."""
    if not slug or len(slug) > 200:
        return None
    return session.scalar(
        select(Article).where(Article.slug == slug, Article.published_at <= (now or utcnow()))
    )


def recent_articles(session: Session, limit: int, *, now: datetime | None = None) -> list[Article]:
    """The newest published articles (none whose publication is still to come)."""
    stmt = select(Article).where(Article.published_at <= (now or utcnow()))
    return list(session.scalars(stmt.order_by(Article.published_at.desc(), Article.id.desc()).limit(limit)))


# --- Feed import ----------------------------------------------------------------------------------------


class FeedError(ValueError):
    """A feed that could not be read; the message is shown to the editor."""


@dataclass
class ImportResult:
    new: int = 0
    updated: int = 0


def add_feed(session: Session, url: str, interval_minutes: int = 60) -> Feed:
    url = url.strip()
    check_url(url)  # raises FetchRefused (a ValueError) for a non-http(s) address
    if session.scalar(select(Feed).where(Feed.url == url)) is not None:
        raise FeedError(_l("this feed is already in the list"))
    if not 5 <= interval_minutes <= 7 * 24 * 60:
        raise FeedError(_l("the interval must be between 5 minutes and one week"))
    feed = Feed(url=url, interval_minutes=interval_minutes)
    session.add(feed)
    session.flush()
    audit.record(session, "feed.create", target=feed, detail={"url": url, "minutes": interval_minutes})
    return feed


def _entry_time(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        value = entry.get(key)
        if value:
            return datetime(*value[:6], tzinfo=UTC)
    return None


def _entry_link(entry: Any) -> str | None:
    try:
        return safe_url(entry.get("link"))
    except ArticleError:
        return None


def parse_feed(body: bytes) -> Any:
    parsed = feedparser.parse(body, sanitize_html=True, resolve_relative_uris=False)
    if not parsed.entries and (parsed.bozo or not parsed.feed):
        reason = getattr(parsed, "bozo_exception", None)
        raise FeedError(_l("this is not a readable RSS or Atom feed (%(reason)s)", reason=str(reason or "–")))
    return parsed


def import_entries(
    session: Session, feed_id: int, parsed: Any, *, now: datetime | None = None
) -> ImportResult:
    """The feed's new items become its articles; its known ones (same GUID, else same link, among this
    feed's articles only) are updated, never doubled. Another feed's articles and the newsroom's own are
    never matched, whatever GUID or link an item claims: a feed can only ever change what it brought."""
    now = now or utcnow()
    result = ImportResult()
    for entry in parsed.entries[:500]:
        link = _entry_link(entry)
        guid = (entry.get("id") or link or "").strip()[:2000] or None
        title = plain_text(entry.get("title") or "")[:300]
        if not guid or not title:
            continue
        mine = select(Article).where(Article.feed_id == feed_id)
        article = session.scalar(mine.where(Article.guid == guid))
        if article is None and link:  # the same item under a new GUID
            article = session.scalar(mine.where(Article.canonical_url == link).order_by(Article.id).limit(1))
        content = ""
        if entry.get("content"):
            content = entry["content"][0].get("value") or ""
        summary = entry.get("summary") or ""
        body = clean_html(content or summary)
        data = ArticleInput(
            title=title,
            teaser=plain_text(summary)[:600],
            body=body,
            author=plain_text(entry.get("author") or "")[:200],
            canonical_url=link,
            tags=[plain_text(t.get("term") or "") for t in entry.get("tags") or []],
            published_at=_entry_time(entry) or (None if article else now),
        )
        if article is None:
            article = create_article(session, data)
            article.feed_id, article.guid = feed_id, guid
            result.new += 1
        else:
            data.sponsored = article.sponsored
            data.image_url, data.image_credit = article.image_url, article.image_credit
            data.image_alt = article.image_alt
            update_article(session, article, data)
            result.updated += 1
        session.flush()
    return result
