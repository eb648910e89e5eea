"""Articles made through the editor's own service, and issues of chosen articles for chosen newsletters.

Both commit: an article or an issue is what a test then opens in the staff pages, renders or sends."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from db import utcnow
from newsletter.editorial import articles
from newsletter.editorial.models import Article, Issue, IssueArticle
from newsletter.readers.models import Newsletter


def make_article(db, title: str, days_ago: float = 1, **kw) -> Article:
    data = articles.ArticleInput(
        title=title,
        teaser=kw.pop("teaser", f"Worum es in {title} geht."),
        author=kw.pop("author", "Mara Schulz"),
        canonical_url=kw.pop("canonical_url", None),
        published_at=utcnow() - timedelta(days=days_ago),
        **kw,
    )
    article = articles.create_article(db.session, data)
    db.session.commit()
    return article


def make_issue(
    db, *, articles: Iterable[Article] = (), newsletters: Iterable[Newsletter] = (), **fields
) -> Issue:
    """A draft with ``articles`` in their order, for ``newsletters``; subject and sender as given, else the
    KI-Kompass defaults."""
    values = {"subject": "Die KI-Woche", "sender_name": "KI-Kompass",
              "sender_address": "redaktion@ki-kompass.example", **fields}  # fmt: skip
    issue = Issue(newsletters=list(newsletters), **values)
    db.session.add(issue)
    db.session.flush()
    for position, article in enumerate(articles):
        db.session.add(IssueArticle(issue_id=issue.id, article_id=article.id, position=position))
    db.session.commit()
    return issue
