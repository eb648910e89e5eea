"""content: feed items belong to their feed; a sent issue keeps its articles and its place in the archive

Articles get ``feed_id``, and the GUID is unique per feed instead of across all articles. Before, no
article recorded which feed brought it: an article with a GUID (only feed imports set one, besides the
demo data) is given to the one feed on the same site (host of the article's link, else of its GUID, ``www.``
ignored); when no feed or several feeds match it stays the newsroom's own, and its feed imports the item
anew as its own article.

Issues get ``public_archive`` and ``sent_content``. Issues whose send has started (sending, paused, sent,
and cancelled ones that have delivery rows) are sealed as a send seals them now: ``public_archive`` true
when one of their newsletters is public, ``sent_content`` the articles as they are at the upgrade (the
nearest thing to what was sent that is still known).

Revision ID: 0024_content
Revises: 0023_audit
"""
from collections import defaultdict
from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = "0024_content"
down_revision = "0023_audit"
branch_labels = None
depends_on = None

STARTED = ("sending", "paused", "sent")

articles = sa.table(
    "articles",
    sa.column("id", sa.Integer), sa.column("feed_id", sa.Integer), sa.column("guid", sa.String),
    sa.column("canonical_url", sa.String), sa.column("title", sa.String), sa.column("teaser", sa.Text),
    sa.column("author", sa.String), sa.column("image_url", sa.String), sa.column("image_credit", sa.String),
    sa.column("sponsored", sa.Boolean),
)
issues = sa.table(
    "issues",
    sa.column("id", sa.Integer), sa.column("state", sa.String), sa.column("public_archive", sa.Boolean),
    sa.column("sent_content", sa.JSON(none_as_null=True)),
)
issue_articles = sa.table(
    "issue_articles", sa.column("issue_id", sa.Integer), sa.column("article_id", sa.Integer),
    sa.column("position", sa.Integer),
)
issue_newsletters = sa.table(
    "issue_newsletters", sa.column("issue_id", sa.Integer), sa.column("newsletter_id", sa.Integer)
)
newsletters = sa.table("newsletters", sa.column("id", sa.Integer), sa.column("is_public", sa.Boolean))
deliveries = sa.table("deliveries", sa.column("issue_id", sa.Integer))


def _site(url):
    try:
        host = (urlsplit(url or "").hostname or "").lower()
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


def _give_feed_articles_their_feed(bind):
    feeds_by_site = defaultdict(list)
    for feed_id, url in bind.execute(sa.text("SELECT id, url FROM feeds")):
        feeds_by_site[_site(url)].append(feed_id)
    if not feeds_by_site:
        return
    owned = []
    rows = bind.execute(
        sa.select(articles.c.id, articles.c.guid, articles.c.canonical_url).where(articles.c.guid.is_not(None))
    )
    for article_id, guid, link in rows:
        candidates = feeds_by_site.get(_site(link or guid)) or []
        if len(candidates) == 1:
            owned.append({"article": article_id, "feed": candidates[0]})
    if owned:
        bind.execute(
            articles.update().where(articles.c.id == sa.bindparam("article"))
            .values(feed_id=sa.bindparam("feed")),
            owned,
        )


def _seal_started_issues(bind):
    started = sa.or_(
        issues.c.state.in_(STARTED),
        sa.and_(issues.c.state == "cancelled", sa.exists().where(deliveries.c.issue_id == issues.c.id)),
    )
    public = sa.exists().where(
        issue_newsletters.c.issue_id == issues.c.id,
        issue_newsletters.c.newsletter_id == newsletters.c.id,
        newsletters.c.is_public.is_(True),
    )
    bind.execute(issues.update().where(started).values(public_archive=public))
    for (issue_id,) in bind.execute(sa.select(issues.c.id).where(started)).all():
        rows = bind.execute(
            sa.select(
                articles.c.title, articles.c.teaser, articles.c.author, articles.c.canonical_url,
                articles.c.image_url, articles.c.image_credit, articles.c.sponsored,
            )
            .join(issue_articles, issue_articles.c.article_id == articles.c.id)
            .where(issue_articles.c.issue_id == issue_id)
            .order_by(issue_articles.c.position)
        )
        content = {
            "articles": [
                {"title": title, "teaser": teaser, "author": author, "url": url, "image_url": image_url,
                 "image_credit": image_credit, "sponsored": bool(sponsored)}
                for title, teaser, author, url, image_url, image_credit, sponsored in rows
            ]
        }
        bind.execute(issues.update().where(issues.c.id == issue_id).values(sent_content=content))


def upgrade():
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("feed_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_articles_feed_id_feeds", "feeds", ["feed_id"], ["id"], ondelete="SET NULL"
        )
        batch.drop_constraint("uq_articles_guid", type_="unique")
        batch.create_unique_constraint("uq_articles_feed_id_guid", ["feed_id", "guid"])
    with op.batch_alter_table("issues") as batch:
        batch.add_column(sa.Column("public_archive", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("sent_content", sa.JSON(), nullable=True))
    bind = op.get_bind()
    _give_feed_articles_their_feed(bind)
    _seal_started_issues(bind)


def downgrade():
    # Two feeds' items may share a GUID now; the old global uniqueness keeps the oldest of each.
    op.execute(
        "UPDATE articles SET guid = NULL WHERE guid IS NOT NULL AND id NOT IN "
        "(SELECT min(id) FROM articles WHERE guid IS NOT NULL GROUP BY guid)"
    )
    with op.batch_alter_table("issues") as batch:
        batch.drop_column("sent_content")
        batch.drop_column("public_archive")
    with op.batch_alter_table("articles") as batch:
        batch.drop_constraint("uq_articles_feed_id_guid", type_="unique")
        batch.create_unique_constraint("uq_articles_guid", ["guid"])
        batch.drop_constraint("fk_articles_feed_id_feeds", type_="foreignkey")
        batch.drop_column("feed_id")
