"""DMARC alignment in relaxed mode: a sender aligns with a DKIM or bounce domain when both share their
organisational domain under the Public Suffix List. Subdomains, multi-label public suffixes, IDN domains in
both spellings, upper case, a trailing dot and addresses with display names; and the editor's message names
the DNS records to publish."""

from __future__ import annotations

import socket

import pytest

from newsletter.mail import alignment
from newsletter.mail.alignment import aligned, check, organisational_domain


@pytest.mark.parametrize(
    ("domain", "organisational"),
    [
        ("news.example.org", "example.org"),
        ("example.org", "example.org"),
        ("a.b.news.example.org", "example.org"),
        ("example.co.uk", "example.co.uk"),
        ("news.example.co.uk", "example.co.uk"),
        ("ki-kompass.example", "ki-kompass.example"),  # unknown top-level domain: one label under it
        ("bounces.ki-kompass.example", "ki-kompass.example"),
        ("co.uk", "co.uk"),  # a public suffix is its own
        ("NEWS.Example.ORG", "example.org"),
        ("news.example.org.", "example.org"),
        ("post.bücher.de", "xn--bcher-kva.de"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("user.github.io", "user.github.io"),  # private suffixes of the list count too
    ],
)
def test_organisational_domain(domain, organisational):
    assert organisational_domain(domain) == organisational


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        ("news.example.org", "example.org", True),
        ("news.example.org", "bounces.example.org", True),
        ("example.co.uk", "other.co.uk", False),
        ("example.co.uk", "news.example.co.uk", True),
        ("ki-kompass.example", "news.example.org", False),
        ("bücher.de", "XN--BCHER-KVA.DE", True),
        ("Bücher.de.", "mail.bücher.de", True),
        ("alice.github.io", "bob.github.io", False),
        ("example.org", "example.com", False),
    ],
)
def test_aligned(first, second, expected):
    assert aligned(first, second) is expected
    assert aligned(second, first) is expected


@pytest.mark.parametrize(
    "sender",
    ["redaktion@news.example.org", "KI-Kompass <redaktion@News.Example.org>",
     '"Redaktion, KI" <redaktion@news.example.org.>', "REDAKTION@EXAMPLE.ORG"],
)  # fmt: skip
def test_senders_with_display_names_case_and_trailing_dots_align(sender):
    result = check(sender, dkim_domain="example.org", dkim_selector="s1", bounce_domain="bounces.example.org")
    assert result.ok and result.problem() == ""


def test_the_demo_mismatch_is_refused_with_the_records_to_publish(app):
    with app.test_request_context():
        result = check("redaktion@ki-kompass.example", dkim_domain="news.example.org",
                       dkim_selector="beitrag2026", bounce_domain="news.example.org")  # fmt: skip
        assert not result.ok and not result.dkim_aligned and not result.spf_aligned
        message = result.problem()
    assert "beitrag2026._domainkey.ki-kompass.example" in message
    assert "_dmarc.ki-kompass.example" in message
    assert "v=spf1" in message and "BOUNCE_DOMAIN" in message
    assert "example.org" in message  # the other way out: a sender on the signing domain


def test_only_what_is_configured_is_checked(app):
    # Unsigned mail, bounces to the sender's own address: nothing to misalign.
    assert check("a@example.co.uk").ok
    # Unsigned, but bouncing elsewhere: SPF does not align.
    unsigned = check("a@example.co.uk", bounce_domain="other.co.uk")
    assert unsigned.dkim_aligned and not unsigned.spf_aligned
    with app.test_request_context():
        message = unsigned.problem()
    assert "_domainkey" not in message and "_dmarc.example.co.uk" in message
    # Signed elsewhere, bounces aligned: DKIM does not align, and one is not enough.
    signed = check(
        "a@example.co.uk", dkim_domain="other.co.uk", dkim_selector="s", bounce_domain="example.co.uk"
    )
    assert not signed.ok and signed.spf_aligned


def test_the_config_reads_the_loaded_key_and_the_bounce_domain(app, signed, monkeypatch):
    monkeypatch.setitem(app.config, "BOUNCE_DOMAIN", "bounces.ki-kompass.example")
    assert alignment.check_config("redaktion@ki-kompass.example", app.config).ok
    result = alignment.check_config("redaktion@news.example.org", app.config)
    assert (result.dkim_domain, result.dkim_selector) == (signed.domain, signed.selector)
    assert not result.ok


@pytest.mark.parametrize("bad", ["", "no-at-sign", "@example.org", "a@", "a@exa..mple.org"])
def test_what_is_no_address_is_said_so(bad):
    with pytest.raises(alignment.AddressError):
        check(bad)


def test_the_list_is_bundled_no_network_needed(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    alignment._suffixes.cache_clear()
    try:
        assert organisational_domain("news.example.co.uk") == "example.co.uk"
    finally:
        alignment._suffixes.cache_clear()


def test_the_development_defaults_align(tmp_path, dkim_key_file):
    from newsletter.mail import signing
    from newsletter.platform.settings import load_config

    config = load_config({"BEITRAG_ENV": "development"}, tmp_path)
    assert alignment.check_config(config["MAIL_FROM"], config).ok
    # With a key (DKIM_DOMAIN defaults to MAIL_FROM's domain) it still does.
    config = load_config({"BEITRAG_ENV": "development", "DKIM_PRIVATE_KEY": str(dkim_key_file),
                          "DKIM_SELECTOR": "dev"}, tmp_path)  # fmt: skip
    config["DKIM_KEY"] = signing.key_from_config(config)
    result = alignment.check_config(config["MAIL_FROM"], config)
    assert result.ok and result.dkim_domain == result.sender_domain == "ki-kompass.example"
