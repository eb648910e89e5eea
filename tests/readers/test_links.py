"""The per-recipient links the sender signs. Bad inputs tried: a token of the other purpose, another
key, a changed reader id, a changed issue time, non-ASCII and over-long tokens, an expired link."""

from __future__ import annotations

import time

import pytest

from newsletter import links, tokens

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
