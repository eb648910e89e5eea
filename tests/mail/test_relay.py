"""Delivery over one reused SMTP connection to a real SMTP server (aiosmtpd). Bad inputs and faults
tried: a temporary refusal (451), a permanent one (550), the server closing (421), a message with lines
that start with a dot, a relay that is not listening."""

from __future__ import annotations

import pytest

from newsletter.mail import smtp as mail_smtp
from tests.support.smtp import free_port

MESSAGE = b"From: a@ki.example\r\nTo: b@example.org\r\nSubject: Hallo\r\n\r\nZeile eins\r\nZeile zwei\r\n"


def _relay(smtp, **kw) -> mail_smtp.Relay:
    return mail_smtp.Relay(mail_smtp.SMTPTarget.from_url(smtp.url), **kw)


def test_many_messages_share_one_connection(smtp):
    with _relay(smtp) as relay:
        replies = [relay.send("a@ki.example", f"leser{i}@example.org", MESSAGE) for i in range(20)]
    assert all(r.startswith("250") for r in replies)
    assert smtp.connections == 1 and relay.connections == 1
    received = smtp.wait_for(20)
    assert [m["Subject"] for m in received] == ["Hallo"] * 20
    assert smtp.received[3].rcpt_tos == ["leser3@example.org"]
    assert smtp.received[0].raw.endswith(b"Zeile zwei\r\n")


def test_a_new_connection_after_the_per_connection_limit(smtp):
    with _relay(smtp, max_messages=5) as relay:
        for i in range(12):
            relay.send("a@ki.example", f"leser{i}@example.org", MESSAGE)
    assert relay.connections == 3
    assert len(smtp.wait_for(12)) == 12


def test_temporary_and_permanent_refusals_leave_the_connection_usable(smtp):
    smtp.replies.extend(["451 4.3.0 Try again later", "550 5.1.1 No such user"])
    with _relay(smtp) as relay:
        with pytest.raises(mail_smtp.DeliveryError) as soft:
            relay.send("a@ki.example", "eins@example.org", MESSAGE)
        with pytest.raises(mail_smtp.DeliveryError) as hard:
            relay.send("a@ki.example", "zwei@example.org", MESSAGE)
        assert relay.send("a@ki.example", "drei@example.org", MESSAGE).startswith("250")
    assert soft.value.temporary and soft.value.code == 451
    assert not hard.value.temporary and hard.value.code == 550
    assert [r.rcpt_tos for r in smtp.received] == [["drei@example.org"]]
    assert relay.connections == 1


def test_a_closing_server_is_left_and_the_next_message_reconnects(smtp):
    smtp.replies.append("421 4.3.2 Service shutting down")
    with _relay(smtp) as relay:
        with pytest.raises(mail_smtp.DeliveryError) as closing:
            relay.send("a@ki.example", "eins@example.org", MESSAGE)
        assert relay.send("a@ki.example", "eins@example.org", MESSAGE).startswith("250")
    assert closing.value.temporary
    assert relay.connections == 2
    assert len(smtp.wait_for(1)) == 1


def test_lines_starting_with_a_dot_arrive_intact(smtp):
    dotted = b"Subject: Punkt\r\n\r\n.eins\r\n..zwei\r\n.\r\ndrei\r\n"
    with _relay(smtp) as relay:
        relay.send("a@ki.example", "leser@example.org", dotted)
    [received] = smtp.wait_for(1)
    assert received.get_content().replace("\r\n", "\n") == ".eins\n..zwei\n.\ndrei\n"


def test_an_unreachable_relay_is_a_temporary_failure():
    target = mail_smtp.SMTPTarget.from_url(f"smtp://127.0.0.1:{free_port()}?timeout=2")
    with mail_smtp.Relay(target) as relay, pytest.raises(mail_smtp.DeliveryError) as info:
        relay.send("a@ki.example", "leser@example.org", MESSAGE)
    assert info.value.temporary
