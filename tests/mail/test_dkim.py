"""DKIM signing and the signed bounce address, checked on what a real SMTP server received: dkimpy's own
verifier accepts every newsletter and every transactional mail, the signature covers the headers a
receiver needs (both List-Unsubscribe headers included) and breaks when one is changed, and the envelope
sender names the issue and the ledger row under a MAC. Bad inputs tried: a key file that is missing, a key
of 512 bits, a broken PEM, a selector without a key, a key without a selector, a signing domain with a
space, a BOUNCE_DOMAIN with an @, a mailbox URL over http, an SNS_CERT_HOST that is no regular expression,
a bounce address whose row number or MAC was changed or that was made under another SECRET_KEY."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from newsletter.mail import return_paths, signing
from newsletter.platform.settings import ConfigError, load_config
from newsletter.readers import subscribers
from newsletter.sending import progress
from newsletter.sending.models import Delivery
from tests.readers.factories import make_pending_reader
from tests.sending.factories import issue_with_readers, start_send
from tests.support.dkim import dkim_verifies, signed_headers
from tests.support.worker import run_jobs

REQUIRED = {"from", "to", "subject", "date", "message-id", "mime-version", "content-type", "list-id",
            "list-unsubscribe", "list-unsubscribe-post", "feedback-id"}  # fmt: skip


def test_every_newsletter_is_signed_and_verifies(app, db, relay, signed):
    issue = issue_with_readers(db)
    start_send(db, issue)
    run_jobs(app)
    relay.wait_for(3)
    assert len(relay.received) == 3
    for received in relay.received:
        assert received.raw.startswith(b"DKIM-Signature: ")
        assert dkim_verifies(received.raw, signed), received.rcpt_tos
        assert signed_headers(received.raw) >= REQUIRED
        assert b"c=relaxed/relaxed" in received.raw.split(b"\r\n\r\n", 1)[0].replace(b"\r\n ", b" ")
        assert max(len(line) for line in received.raw.split(b"\r\n")) <= 998
        # Any change to a signed header or the body is detected by the receiver.
        forged = received.raw.replace(b"Subject: Die KI-Woche", b"Subject: Die KI-Wochf", 1)
        assert forged != received.raw and not dkim_verifies(forged, signed)
        unsub = received.message["List-Unsubscribe"].encode()
        redirected = received.raw.replace(unsub, unsub.replace(b"http://localhost", b"http://evil.test"), 1)
        assert not dkim_verifies(redirected, signed)
        # A second Subject or List-Unsubscribe put in front (which some clients would show) breaks it too.
        for name in (b"Subject", b"List-Unsubscribe", b"Feedback-ID"):
            assert not dkim_verifies(name + b": <https://evil.test/x>\r\n" + received.raw, signed)


def test_the_envelope_sender_names_issue_and_row_and_is_signed(app, db, relay):
    issue = issue_with_readers(db)
    start_send(db, issue)
    run_jobs(app)
    relay.wait_for(3)
    rows = {d.subscriber_id: d.id for d in db.session.scalars(select(Delivery))}
    secret = app.config["SECRET_KEY"]
    for received in relay.received:
        reader = subscribers.find_subscriber(db.session, received.rcpt_tos[0])
        sender = received.mail_from
        assert sender.startswith(f"bounces+i{issue.id}-d{rows[reader.id]}-")
        assert sender.endswith("@ki-kompass.example") and len(sender.split("@")[0]) <= 64
        address = return_paths.read_return_path(secret, sender)
        assert (address.issue_id, address.delivery_id) == (issue.id, rows[reader.id])
        # Some systems lower- or upper-case the local part of the address they bounce to.
        assert return_paths.read_return_path(secret, sender.upper()) == address
    sender = relay.received[0].mail_from
    row = return_paths.read_return_path(secret, sender).delivery_id
    mac = sender.split("@")[0].rsplit("-", 1)[1]
    forged_mac = sender.replace(mac, ("b" if mac[0] == "a" else "a") + mac[1:])
    assert return_paths.read_return_path(secret, sender.replace(f"-d{row}-", f"-d{row + 1}-")) is None
    assert return_paths.read_return_path(secret, forged_mac) is None
    assert return_paths.read_return_path("another-secret-key-of-some-other-site", sender) is None


def test_transactional_mail_is_signed_and_has_a_signed_bounce_address(app, db, relay, signed):
    make_pending_reader(db, "neu@example.org")
    run_jobs(app)
    relay.wait_for(1)
    received = relay.received[0]
    assert received.rcpt_tos == ["neu@example.org"]
    assert dkim_verifies(received.raw, signed)
    assert {"from", "to", "subject", "date", "message-id"} <= signed_headers(received.raw)
    address = return_paths.read_return_path(app.config["SECRET_KEY"], received.mail_from)
    assert received.mail_from.startswith("bounces+t-") and address is not None
    assert return_paths.vouches_for(app.config["SECRET_KEY"], address, "NEU@example.org")
    assert not return_paths.vouches_for(app.config["SECRET_KEY"], address, "other@example.org")


BROKEN_PEM = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"


def _config(tmp_path, **env):
    """The settings as the app starts with them: read, then the DKIM key loaded by the mail package."""
    config = load_config({"BEITRAG_ENV": "testing", "SECRET_KEY": "x" * 40, **env}, tmp_path)
    config["DKIM_KEY"] = signing.key_from_config(config)
    return config


def test_start_up_refuses_a_bad_dkim_key_with_a_clear_message(tmp_path, dkim_key_file):
    import subprocess

    weak = tmp_path / "weak.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(weak), "512"], check=True, capture_output=True)
    cases = {
        "cannot be read": {"DKIM_PRIVATE_KEY": str(tmp_path / "missing.pem"), "DKIM_SELECTOR": "s1"},
        "512 bits": {"DKIM_PRIVATE_KEY": str(weak), "DKIM_SELECTOR": "s1"},
        "not an RSA private key": {"DKIM_PRIVATE_KEY": BROKEN_PEM, "DKIM_SELECTOR": "s1"},
        "DKIM_SELECTOR": {"DKIM_PRIVATE_KEY": str(dkim_key_file)},
        "set both or neither": {"DKIM_SELECTOR": "s1"},
        "not a domain name": {"DKIM_PRIVATE_KEY": str(dkim_key_file), "DKIM_SELECTOR": "s1",
                              "DKIM_DOMAIN": "not a domain"},
        "BOUNCE_DOMAIN": {"BOUNCE_DOMAIN": "bounces@example.org"},
        "BOUNCE_MAILBOX_URL": {"BOUNCE_MAILBOX_URL": "http://mail.example.org"},
        "SNS_CERT_HOST": {"SNS_CERT_HOST": "sns.(unclosed"},
    }  # fmt: skip
    for message, env in cases.items():
        with pytest.raises(ConfigError, match=message):
            _config(tmp_path, **env)
    # The PEM text itself works as well as a path; the domain defaults to MAIL_FROM's.
    config = _config(tmp_path, DKIM_PRIVATE_KEY=dkim_key_file.read_text(), DKIM_SELECTOR="s1")
    assert config["DKIM_KEY"].domain == "ki-kompass.example"
    assert config["DKIM_KEY"].public_record().startswith("v=DKIM1; k=rsa; p=MII")
    assert _config(tmp_path)["DKIM_KEY"] is None


def test_no_signature_without_a_key(app, db, relay):
    issue = issue_with_readers(db, readers=("x@example.org",))
    start_send(db, issue)
    run_jobs(app)
    relay.wait_for(1)
    assert b"DKIM-Signature" not in relay.received[0].raw
    assert progress.progress(db.session, issue.id)["sent"] == 1
