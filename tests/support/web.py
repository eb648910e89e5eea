"""Driving pages as a browser would: read the CSRF token from the form, post it back."""

from __future__ import annotations

import re

_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"')


def csrf_token(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, f"GET {url} answered {page.status_code}"
    match = _TOKEN.search(page.get_data(as_text=True))
    assert match, f"no CSRF token in the form at {url}"
    return match.group(1) or match.group(2)


def login(client, email: str, password: str, **extra):
    token = csrf_token(client, "/staff/login")
    return client.post(
        "/staff/login", data={"email": email, "password": password, "csrf_token": token, **extra}
    )


def text_of(response) -> str:
    return response.get_data(as_text=True)
