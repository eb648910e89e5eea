"""Fixtures for the reader flows: newsletters, a real SMTP relay, and a browser-like sign-up."""

from __future__ import annotations

import re

import pytest

from newsletter.readers.models import Newsletter
from tests.support.web import text_of

_FORM_TOKEN = re.compile(r'name="form_token" type="hidden" value="([^"]+)"')


@pytest.fixture
def newsletters(db):
    rows = [
        Newsletter(slug="ki-news", name="KI-News täglich", is_default=True, position=0),
        Newsletter(slug="wochenrueckblick", name="Wochenrückblick", position=1),
        Newsletter(slug="intern", name="Nur für Förderer", is_public=False, position=2),
    ]
    db.session.add_all(rows)
    db.session.commit()
    return {n.slug: n for n in rows}


def form_token(client, url: str = "/subscribe") -> str:
    page = client.get(url)
    assert page.status_code == 200
    return _FORM_TOKEN.search(text_of(page)).group(1)


def sign_up(client, email: str, *, ip: str = "198.51.100.1", token: str | None = None, **fields):
    data = {"email": email, "language": "de", "form_token": token or form_token(client), **fields}
    return client.post("/subscribe", data=data, environ_base={"REMOTE_ADDR": ip})
