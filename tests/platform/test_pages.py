"""What a visitor sees first: the home page, error pages, and the security headers on every page."""

from __future__ import annotations

from tests.editorial.factories import make_article
from tests.readers.factories import make_newsletter
from tests.support.web import text_of


def test_home_page_shows_public_newsletters_and_latest_articles(client, db):
    make_newsletter(db, "ki", "KI-News täglich", description="Jeden Morgen.", is_public=True)
    make_newsletter(db, "intern", "Förderkreis intern", is_public=False)
    make_article(db, "Sprachmodelle erklärt", teaser="Was steckt dahinter?", author="Lena Brandt")
    make_article(db, "Webinar unseres Partners", sponsored=True)
    page = text_of(client.get("/"))
    assert "KI-News täglich" in page and "Jeden Morgen." in page
    assert "Förderkreis intern" not in page
    assert "Sprachmodelle erklärt" in page and "Lena Brandt" in page
    assert "Anzeige" in page  # the sponsored piece is marked


def test_every_page_carries_the_security_headers(client):
    for url in ("/", "/staff/login", "/no-such-page"):
        headers = client.get(url).headers
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert headers["X-Frame-Options"] == "DENY"
        assert "Strict-Transport-Security" not in headers  # only over https


def test_hsts_over_https(client):
    response = client.get("/", base_url="https://news.example.org")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_staff_pages_are_not_cached(client):
    assert client.get("/staff/login").headers["Cache-Control"] == "no-store"


def test_unknown_page_is_a_friendly_404_in_german(client):
    response = client.get("/gibt-es-nicht")
    assert response.status_code == 404
    assert "Seite nicht gefunden" in text_of(response)


def test_health_check_answers(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_stylesheet_is_served(client):
    response = client.get("/static/css/beitrag.css")
    assert response.status_code == 200
    assert b"--" in response.data  # custom properties: the real stylesheet, not an empty file
