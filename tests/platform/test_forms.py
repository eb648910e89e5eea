"""Reading a submitted value that may be absent (``forms.given``), as the sign-up form and the language
choice read the form, the query string and the cookies."""

from __future__ import annotations

from werkzeug.datastructures import ImmutableMultiDict

from newsletter.platform.forms import given


def test_a_submitted_value_is_its_first_and_an_absent_one_is_none():
    sent = ImmutableMultiDict([("newsletters", "ki-news"), ("newsletters", "wochenende"), ("website", "")])
    assert given(sent, "newsletters") == "ki-news"
    assert given(sent, "website") == ""  # sent empty is not absent (the honeypot left blank)
    assert given(sent, "email") is None
    assert given(ImmutableMultiDict(), "lang") is None


def test_the_language_cookie_and_query_are_read_whether_or_not_they_are_there(client):
    assert 'lang="de"' in client.get("/subscribe").get_data(as_text=True)
    assert 'lang="en"' in client.get("/subscribe?lang=en").get_data(as_text=True)
    # The choice is remembered in the cookie and read from it on the next page.
    assert 'lang="en"' in client.get("/subscribe").get_data(as_text=True)
