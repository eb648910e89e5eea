"""DKIM on messages of every shape a receiver may see: each is verified by dkimpy's own verifier. Bad
inputs tried: runs of spaces and tabs, spaces at line ends, empty lines at the end, an empty body, folded
and repeated headers, a header the signature lists but the message lacks, bare LF line ends (dkimpy signs
those), a relay that changes whitespace (still verifies, as relaxed canonicalization promises) and one
that changes a word or a signed header (fails)."""

from __future__ import annotations

import pytest

from newsletter.mail import signing
from tests.support.dkim import DKIM_DOMAIN, DKIM_SELECTOR, dkim_verifies

HEAD = (
    b"From: KI-Kompass <redaktion@ki-kompass.example>\r\nTo: leserin@example.org\r\n"
    b"Subject: Die KI-Woche:\r\n  Sprachmodelle\tund Schulen \r\nReceived: from a\r\nReceived: from b\r\n"
    b"Date: Tue, 24 Nov 2026 07:00:00 +0000\r\nMessage-ID: <1.2.abc@ki-kompass.example>\r\n"
    b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"
)

BODIES = {
    "plain": b"Hallo,\r\nhier ist die Woche.\r\n",
    "whitespace": b"  Hallo,   Welt\t\t!  \r\n\t\r\n a \t b \r\nEnde\t \r\n",
    "trailing empty lines": b"Hallo\r\n\r\n\r\n\r\n",
    "empty": b"",
    "no line end at the end": b"Hallo  Welt ",
}


@pytest.fixture
def key(dkim_key_file) -> signing.DKIMKey:
    return signing.load_key(str(dkim_key_file), DKIM_SELECTOR, DKIM_DOMAIN)


@pytest.mark.parametrize("body", list(BODIES.values()), ids=list(BODIES))
def test_messages_of_every_shape_verify(key, body):
    raw = signing.sign(HEAD + b"\r\n" + body, key)
    assert raw.startswith(b"DKIM-Signature: ")
    assert dkim_verifies(raw, key)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_bare_line_feeds_are_signed_too(key):
    raw = signing.sign(HEAD.replace(b"\r\n", b"\n") + b"\nHallo\n.Punkt\n", key)
    assert dkim_verifies(raw, key)


def test_whitespace_changes_on_the_way_still_verify_and_changed_words_do_not(key):
    raw = signing.sign(HEAD + b"\r\n" + BODIES["whitespace"], key)
    head, body = raw.split(b"\r\n\r\n", 1)
    body = body.replace(b"Welt", b"Welt   ").replace(b"Ende", b"Ende\t")
    rewrapped = head + b"\r\n\r\n" + body + b"\r\n\r\n"
    assert dkim_verifies(rewrapped, key)
    assert not dkim_verifies(raw.replace(b"Welt", b"Walt"), key)
    assert not dkim_verifies(raw.replace(b"To: leserin@", b"To: leser@"), key)
    assert not dkim_verifies(raw.replace(b"\r\n\r\n", b"\r\nList-Id: <x.example>\r\n\r\n", 1), key)
