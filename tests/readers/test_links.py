"""The per-recipient links the sender signs. Bad inputs tried: a token of the other purpose, another
key, a changed reader id, a changed issue time, non-ASCII and over-long tokens, an expired link, links
made by the sender's batch maker under another key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from newsletter.platform import tokens
from newsletter.readers import links

KEY = "a-secret-key-for-links-a-secret-key-for-links"


def test_purposes_do_not_mix():
    unsubscribe = links.unsubscribe_token(KEY, 42)
    preferences = links.preferences_token(KEY, 42)
    with pytest.raises(tokens.TokenError):
        links.read_preferences_token(KEY, unsubscribe)  # an unsubscribe link never opens the reader's data
    with pytest.raises(tokens.TokenError):
        links.read_unsubscribe_token(KEY, preferences)


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: links.preferences_token("another-key-another-key-another-key-0", 42),
        lambda t: t.replace("42.", "43.", 1),
        lambda t: f"42.{int(time.time()) + 10**6}.{t.rsplit('.', 1)[1]}",
        lambda t: t + "ä",
        lambda t: t * 20,
        lambda t: "",
    ],
)
def test_forged_preference_links_are_refused(forge):
    with pytest.raises(tokens.TokenError) as info:
        links.read_preferences_token(KEY, forge(links.preferences_token(KEY, 42)))
    assert not info.value.expired


def test_preference_links_expire_after_their_lifetime():
    old = links.preferences_token(KEY, 42, now=time.time() - tokens.LIFETIMES["preferences"] - 5)
    with pytest.raises(tokens.TokenError) as info:
        links.read_preferences_token(KEY, old)
    assert info.value.expired
    fresh = links.preferences_token(KEY, 42, now=time.time() - tokens.LIFETIMES["preferences"] + 60)
    assert links.read_preferences_token(KEY, fresh) == 42


def _standard_mac(key: str, purpose: str, payload: str) -> str:
    """The MAC as the standard library's one-shot HMAC makes it (how links were signed before)."""
    derived = hmac.new(key.encode(), f"beitrag.links.{purpose}".encode(), hashlib.sha256).digest()
    digest = hmac.digest(derived, payload.encode(), "sha256")[:20]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_links_in_newsletters_mailed_before_still_open():
    issued = int(time.time()) - 86400
    old_unsubscribe = f"42-7.{_standard_mac(KEY, 'unsubscribe', '42-7')}"
    old_preferences = f"42.{issued}.{_standard_mac(KEY, 'preferences', f'42.{issued}')}"
    assert links.read_unsubscribe_token(KEY, old_unsubscribe) == (42, 7)
    assert links.read_preferences_token(KEY, old_preferences) == 42
    assert links.unsubscribe_token(KEY, 42, 7) == old_unsubscribe
    assert links.preferences_token(KEY, 42, now=issued) == old_preferences


def test_the_senders_batch_links_open_the_same_pages_and_only_under_their_key():
    now = time.time()
    batch = links.ReaderLinks("https://news.example.org", KEY, now=now)
    url, token = batch.unsubscribe_url_and_token(42, 7)
    single = links.unsubscribe_url("https://news.example.org", KEY, 42, 7)
    assert url == batch.unsubscribe_url(42, 7) == single
    assert url == f"https://news.example.org/unsubscribe/{token}"
    assert links.read_unsubscribe_token(KEY, token) == (42, 7)
    assert links.read_unsubscribe_token(KEY, batch.unsubscribe_token(42)) == (42, None)
    preferences = batch.preferences_url(42)
    assert preferences == f"https://news.example.org/preferences/{links.preferences_token(KEY, 42, now=now)}"
    assert links.read_preferences_token(KEY, preferences.rsplit("/", 1)[1]) == 42
    other = links.ReaderLinks("https://news.example.org", "another-key-another-key-another-key-0", now=now)
    with pytest.raises(tokens.TokenError):
        links.read_unsubscribe_token(KEY, other.unsubscribe_token(42, 7))
    with pytest.raises(tokens.TokenError):
        links.read_preferences_token(KEY, other.preferences_url(42).rsplit("/", 1)[1])


def test_an_issues_unsubscribe_token_names_the_issue_and_older_tokens_name_none():
    batch = links.ReaderLinks("https://news.example.org", KEY)
    _url, token = batch.unsubscribe_url_and_token(42, 7, 1234)
    assert token == links.unsubscribe_token(KEY, 42, 7, 1234) and token.startswith("42-7-1234.")
    assert links.read_unsubscribe_link(KEY, token) == (42, 7, 1234)
    assert links.read_unsubscribe_token(KEY, token) == (42, 7)
    assert links.read_unsubscribe_link(KEY, links.unsubscribe_token(KEY, 42, None, 1234)) == (42, None, 1234)
    old = f"42-7.{_standard_mac(KEY, 'unsubscribe', '42-7')}"  # mailed before tokens named the issue
    assert links.read_unsubscribe_link(KEY, old) == (42, 7, None)
    mac = token.split(".")[1]
    # Bad inputs: another issue, the issue dropped, a fourth number, a sign, under the right MAC.
    for forged in ("42-7-1235", "42-7", "42-7-1234-1", "42-7--1234"):
        with pytest.raises(tokens.TokenError):
            links.read_unsubscribe_link(KEY, f"{forged}.{mac}")
    for unsigned in ("42-7-1234-1", "42-7-x", "42--7"):  # well signed, but not three numbers
        with pytest.raises(tokens.TokenError):
            links.read_unsubscribe_link(KEY, f"{unsigned}.{links._mac(KEY, 'unsubscribe', unsigned)}")
