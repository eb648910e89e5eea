"""The sign-up form as a browser fills it: the form's own token read from the page, then the post."""

from __future__ import annotations

import re

from tests.support.web import text_of

_FORM_TOKEN = re.compile(r'name="form_token" type="hidden" value="([^"]+)"')


def form_token(client, url: str = "/subscribe") -> str:
    page = client.get(url)
    assert page.status_code == 200
    return _FORM_TOKEN.search(text_of(page)).group(1)


def sign_up(client, email: str, *, ip: str = "198.51.100.1", token: str | None = None, **fields):
    data = {"email": email, "language": "de", "form_token": token or form_token(client), **fields}
    return client.post("/subscribe", data=data, environ_base={"REMOTE_ADDR": ip})
