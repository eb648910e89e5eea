"""Articles in the staff pages: create, edit, list, search; Markdown rendered and cleaned; "Anzeige" marked.
Bad inputs tried: <script>, onerror/onclick handlers, javascript: and data: links, style attributes and
<style> blocks (CSS tricks) in Markdown; a javascript: image or article URL; an empty title; a form
without a CSRF token."""

from __future__ import annotations

import pytest

from newsletter.editorial import articles
from newsletter.editorial.models import Article
from tests.editorial.factories import make_article
from tests.support.web import csrf_token, text_of

HOSTILE_MARKDOWN = """Erster Absatz mit **Gewicht**.

<script>alert('x')</script>
<img src="https://img.example/a.png" onerror="alert(1)">
[Klick](javascript:alert(1)) <a href="javascript:alert(2)">auch</a> <a href="data:text/html,x">daten</a>
<p style="position:fixed;top:0;left:0;width:100%">Overlay</p>
<style>body { display:none }</style>
<a href="https://ki-kompass.example/" onclick="steal()">sicher</a>
"""


def test_markdown_is_rendered_and_every_trick_is_removed():
    html = articles.render_markdown(HOSTILE_MARKDOWN)
    assert "<strong>Gewicht</strong>" in html
    lowered = html.lower()
    for forbidden in (
        "<script",
        "alert('x')",
        "onerror",
        "onclick",
        'href="javascript',
        'href="data:',
        "style=",
        "<style",
        "display:none",
    ):
        assert forbidden not in lowered, forbidden
    assert "[Klick](javascript:alert(1))" in html  # a javascript: Markdown link stays inert text
    assert '<a href="https://ki-kompass.example/"' in html
    assert "Overlay" in html  # the text stays, only the trick goes


def _form(client, url, **fields):
    data = {
        "csrf_token": csrf_token(client, url),
        "title": "",
        "teaser": "",
        "body": "",
        "author": "",
        "image_url": "",
        "image_credit": "",
        "canonical_url": "",
        "tags": "",
        "published_at": "",
    }
    data.update(fields)
    return client.post(url, data=data)


def test_editor_creates_edits_lists_and_searches_articles(client, db, editor):
    response = _form(
        client,
        "/staff/articles/new",
        title="Sprachmodelle im Rathaus",
        teaser="Was die Stadt plant.",
        body=HOSTILE_MARKDOWN,
        author="Mara Schulz",
        tags="Verwaltung, KI",
        sponsored="y",
        canonical_url="https://ki-kompass.example/artikel/rathaus",
    )
    assert response.status_code == 302
    article = db.session.query(Article).one()
    assert (
        article.slug == "sprachmodelle-im-rathaus"
        and article.tags == ["Verwaltung", "KI"]
        and article.sponsored
    )
    page = text_of(client.get(response.headers["Location"]))
    assert "Anzeige" in page  # the sponsored mark
    shown = page.split('id="body-preview"', 1)[1]  # the rendered text below the form
    assert "<strong>Gewicht</strong>" in shown and "<script" not in shown and "onerror" not in shown

    response = _form(
        client,
        f"/staff/articles/{article.id}",
        title="Sprachmodelle im Rathaus: der Plan",
        teaser="Neu.",
        published_at="2026-11-20T09:30",
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Article, article.id).title == "Sprachmodelle im Rathaus: der Plan"
    assert not db.session.get(Article, article.id).sponsored

    make_article(db, "Robotik in der Pflege", author="Jonas Ek")
    listing = text_of(client.get("/staff/articles"))
    assert "Robotik in der Pflege" in listing and "Rathaus: der Plan" in listing
    found = text_of(client.get("/staff/articles?q=rathaus"))
    assert "Rathaus: der Plan" in found and "Robotik" not in found
    assert "Robotik" in text_of(client.get("/staff/articles?q=EK"))  # author, any case
    assert "Keine Artikel gefunden" in text_of(client.get("/staff/articles?q=%25_nichts"))


@pytest.mark.parametrize(
    ("field", "value"),
    [("image_url", "javascript:alert(1)"), ("canonical_url", "javascript:alert(1)"), ("title", "   ")],
)
def test_bad_article_input_is_refused_and_changes_nothing(client, db, editor, field, value):
    fields = {"title": "Gültiger Titel", field: value}
    response = _form(client, "/staff/articles/new", **fields)
    assert response.status_code == 400
    assert db.session.query(Article).count() == 0


def test_a_post_without_csrf_token_is_refused(client, db, editor):
    response = client.post("/staff/articles/new", data={"title": "Ohne Token"})
    assert response.status_code == 400
    assert db.session.query(Article).count() == 0
