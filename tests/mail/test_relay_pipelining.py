"""The relay against a server that offers PIPELINING (aiosmtpd, told to say so): MAIL, RCPT and DATA go
out together, the message and its closing dot in one write. Bad inputs and faults tried: a refused
recipient (550 and 450) and a refusal at the end of DATA (451) in the middle of a connection, the server
closing (421) in answer to a pipelined RCPT, message bytes with bare LF, bare CR and lines starting with
a dot, a skeleton slot value that starts with a dot, an address that needs quoting."""

from __future__ import annotations

import pytest

from newsletter.mail import mime
from newsletter.mail import smtp as mail_smtp
from newsletter.mail.rendering import RenderedEmail

MESSAGE = b"From: a@ki.example\r\nTo: b@example.org\r\nSubject: Hallo\r\n\r\nZeile eins\r\nZeile zwei\r\n"


@pytest.fixture
def pipelining(smtp):
    smtp.pipelining = True
    return smtp


def _relay(smtp) -> mail_smtp.Relay:
    return mail_smtp.Relay(mail_smtp.SMTPTarget.from_url(smtp.url))


def test_messages_arrive_over_one_pipelining_connection(pipelining):
    with _relay(pipelining) as relay:
        replies = [relay.send("a@ki.example", f"leser{i}@example.org", MESSAGE) for i in range(30)]
        assert relay._pipelining
    assert all(r.startswith("250") for r in replies)
    received = pipelining.wait_for(30)
    assert len(received) == 30 and pipelining.connections == 1
    assert [r.rcpt_tos for r in pipelining.received] == [[f"leser{i}@example.org"] for i in range(30)]
    assert all(r.raw == MESSAGE for r in pipelining.received)


def test_refusals_in_a_pipeline_are_reported_and_the_connection_goes_on(pipelining):
    pipelining.rcpt_replies["weg@example.org"] = "550 5.1.1 No such user"
    pipelining.rcpt_replies["voll@example.org"] = "450 4.2.2 Mailbox full"
    pipelining.replies.append("451 4.3.0 Try again later")  # the first message that reaches DATA's end
    with _relay(pipelining) as relay:
        with pytest.raises(mail_smtp.DeliveryError) as gone:
            relay.send("a@ki.example", "weg@example.org", MESSAGE)
        with pytest.raises(mail_smtp.DeliveryError) as full:
            relay.send("a@ki.example", "voll@example.org", MESSAGE)
        with pytest.raises(mail_smtp.DeliveryError) as later:
            relay.send("a@ki.example", "eins@example.org", MESSAGE)
        ok = relay.send("a@ki.example", "zwei@example.org", MESSAGE)
    assert (gone.value.code, gone.value.temporary) == (550, False) and "5.1.1" in str(gone.value)
    assert (full.value.code, full.value.temporary) == (450, True)
    assert (later.value.code, later.value.temporary) == (451, True)
    assert ok.startswith("250")
    # Only the last message was delivered, on the one connection; the refused ones left nothing behind.
    pipelining.wait_for(1)
    assert [r.rcpt_tos for r in pipelining.received] == [["zwei@example.org"]]
    assert pipelining.connections == 1 and relay.connections == 1


def test_a_server_closing_in_a_pipeline_is_left_and_the_next_message_reconnects(pipelining):
    pipelining.rcpt_replies["eins@example.org"] = "421 4.3.2 Service shutting down"
    with _relay(pipelining) as relay:
        with pytest.raises(mail_smtp.DeliveryError) as closing:
            relay.send("a@ki.example", "eins@example.org", MESSAGE)
        assert relay.send("a@ki.example", "zwei@example.org", MESSAGE).startswith("250")
    assert closing.value.temporary and closing.value.code == 421
    assert relay.connections == 2
    pipelining.wait_for(1)
    assert [r.rcpt_tos for r in pipelining.received] == [["zwei@example.org"]]


@pytest.mark.parametrize("offer", [True, False], ids=["pipelining", "one command at a time"])
def test_bare_line_ends_and_leading_dots_arrive_intact(smtp, offer):
    smtp.pipelining = offer
    raw = b"Subject: Punkt\n\n.eins\r\n..zwei\r.\ndrei"
    with _relay(smtp) as relay:
        relay.send("a@ki.example", "leser@example.org", raw)
    [received] = smtp.wait_for(1)
    assert received["Subject"] == "Punkt"
    assert received.get_content().replace("\r\n", "\n") == ".eins\n..zwei\n.\ndrei\n"


def test_an_address_that_needs_quoting_goes_one_command_at_a_time(pipelining):
    with _relay(pipelining) as relay:
        assert relay.send('"a b"@ki.example', "leser@example.org", MESSAGE).startswith("250")
    [received] = pipelining.received
    assert received.mail_from == '"a b"@ki.example'


def test_skeleton_messages_go_out_as_they_are_and_a_leading_dot_in_a_slot_is_encoded(pipelining):
    rendered = RenderedEmail(subject="Hallo", html="<p>SLOT_U</p>", text="Abmelden:\nSLOT_U\n")
    skeleton = mime.build_skeleton(
        rendered, sender_name="KI", sender_address="a@ki.example", list_id="KI <ki.ki.example>",
        feedback_id="1:ki:beitrag", slot_tokens={"unsubscribe_url": "SLOT_U"},
    )  # fmt: skip
    message = skeleton.assemble({
        "to": "leser@example.org", "message_id": "<1@ki.example>", "date": "Tue, 24 Nov 2026 07:00:00 +0000",
        "list_unsubscribe": "<https://ki.example/u>", "unsubscribe_url": ".punkt/abmelden",
    })  # fmt: skip
    assert b"\r\n.punkt" not in message and b"\r\n=2Epunkt" in message
    with _relay(pipelining) as relay:
        relay.send("a@ki.example", "leser@example.org", message, smtp_safe=True)  # the worker's call
    [received] = pipelining.wait_for(1)
    text, html = (part.get_content() for part in received.iter_parts())
    assert text.replace("\r\n", "\n") == "Abmelden:\n.punkt/abmelden\n"
    assert html.strip() == "<p>.punkt/abmelden</p>"
    assert pipelining.received[0].raw == bytes(message)


@pytest.mark.parametrize("offer", [True, False], ids=["pipelining", "one command at a time"])
def test_a_message_handed_over_gets_its_own_verdict_when_read(smtp, offer):
    # The worker's order: hand a message over, make the next one, then read the verdict.
    smtp.pipelining = offer
    smtp.data_replies["voll@example.org"] = "452 4.2.2 Mailbox full"
    smtp.rcpt_replies["weg@example.org"] = "550 5.1.1 No such user"
    with _relay(smtp) as relay:
        with pytest.raises(RuntimeError, match="no message is waiting"):
            relay.reply()
        relay.hand_over("a@ki.example", "eins@example.org", MESSAGE)
        with pytest.raises(RuntimeError, match="has not been read"):
            relay.hand_over("a@ki.example", "zwei@example.org", MESSAGE)
        assert relay.reply().startswith("250")
        relay.hand_over("a@ki.example", "voll@example.org", MESSAGE)
        with pytest.raises(mail_smtp.DeliveryError) as full:
            relay.reply()
        with pytest.raises(mail_smtp.DeliveryError) as gone:  # refused before the message went out
            relay.hand_over("a@ki.example", "weg@example.org", MESSAGE)
        with pytest.raises(RuntimeError):
            relay.reply()
        relay.hand_over("a@ki.example", "zwei@example.org", MESSAGE)
        assert relay.reply().startswith("250")
    assert (full.value.code, full.value.temporary) == (452, True)
    assert (gone.value.code, gone.value.temporary) == (550, False)
    smtp.wait_for(2)
    assert [r.rcpt_tos for r in smtp.received] == [["eins@example.org"], ["zwei@example.org"]]
    assert smtp.connections == 1
