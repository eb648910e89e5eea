"""Newsletter skeletons: encoded once, filled per recipient. What arrives must parse cleanly and read exactly
like the rendered issue with the reader's own links. Bad inputs tried: CR/LF and NUL in every
per-recipient value, non-ASCII header values, an over-long value, lines that start with a dot, long
lines without spaces, umlauts and emoji in subject, sender name and body; link values with a space, "=",
markup characters, a leading dot, umlauts, exactly 900 and 901 characters."""

from __future__ import annotations

import html as html_module
from email import policy
from email.parser import BytesParser

import pytest

from newsletter.mail import mime
from newsletter.mail.rendering import SLOTS, RenderedEmail, fill_slots

VALUES = {
    "to": "leserin@example.org",
    "message_id": "<42.7.abc@ki-kompass.example>",
    "date": "Tue, 24 Nov 2026 07:00:00 +0000",
    "list_unsubscribe": (
        "<https://ki.example/unsubscribe/7-1.sig>, <mailto:abmelden@ki.example?subject=7-1.sig>"
    ),
    "unsubscribe_url": "https://ki.example/unsubscribe/7-1.sig=",
    "preferences_url": "https://ki.example/preferences/eyJzIjo3fQ.aBc-_d",
    "share_url": "https://ki.example/share/AbCdEfGhIjKlMnOpQrStUv",
}

TEXT = (
    "Liebe Leserinnen und Leser,\n\n"
    "hier ist die KI-Woche – mit Umlauten (äöüß) und einem Emoji 🤖.\n"
    ".Diese Zeile beginnt mit einem Punkt.\n" + "x" * 300 + "\n\nAbmelden: " + SLOTS["unsubscribe_url"] + "\n"
    "Einstellungen: " + SLOTS["preferences_url"] + " (jederzeit)\n"
    "Empfehlen: " + SLOTS["share_url"] + "?via=issue\n"
)
HTML = (
    "<html><body><p>Liebe Leserinnen und Leser, äöüß 🤖</p>\n"
    + "<p>"
    + "Sehr lang " * 200
    + "</p>\n"
    + f'<a href="{SLOTS["unsubscribe_url"]}">Abmelden</a> · '
    + f'<a href="{SLOTS["preferences_url"]}">Einstellungen</a>\n'
    ".<p>dot</p>\n</body></html>"
)
RENDERED = RenderedEmail(
    subject="Die KI-Woche: Sprachmodelle, Schulen und 🤖 – Ausgabe 12", html=HTML, text=TEXT
)


def _lines(decoded: str) -> str:
    return decoded.replace("\r\n", "\n")


def _skeleton() -> mime.Skeleton:
    return mime.build_skeleton(
        RENDERED, sender_name="KI-Kompass · Redaktion", sender_address="redaktion@ki-kompass.example",
        list_id="KI-News täglich <ki-news.ki-kompass.example>", feedback_id="12:ki-news:beitrag",
        slot_tokens=SLOTS,
    )  # fmt: skip


def test_assembled_message_reads_exactly_like_the_rendered_issue():
    raw = _skeleton().assemble(VALUES)
    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert message["To"] == "leserin@example.org"
    assert message["Subject"] == RENDERED.subject
    assert message["From"].addresses[0].display_name == "KI-Kompass · Redaktion"
    assert message["Message-ID"] == VALUES["message_id"]
    assert message["List-Unsubscribe"] == VALUES["list_unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Feedback-ID"] == "12:ki-news:beitrag"
    assert message["MIME-Version"] == "1.0"
    text_part, html_part = message.iter_parts()
    assert text_part.get_content_type() == "text/plain" and html_part.get_content_type() == "text/html"
    assert (
        text_part["Content-Transfer-Encoding"] == html_part["Content-Transfer-Encoding"] == "quoted-printable"
    )
    links = {name: VALUES[name] for name in SLOTS}
    expected = fill_slots(RENDERED, links)
    # Mail programs read CRLF line ends as line ends; compare the text as a reader sees it.
    assert _lines(text_part.get_content()) == expected.text
    assert _lines(html_part.get_content()) == expected.html + "\n"
    assert message.defects == [] and text_part.defects == [] and html_part.defects == []


def test_lines_are_short_crlf_and_never_start_with_a_dot():
    raw = _skeleton().assemble(VALUES)
    assert b"\n" not in raw.replace(b"\r\n", b"")
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    slot_lines = {v.encode() for v in VALUES.values()}
    long_lines = [line for line in lines if len(line) > 78 and not any(s in line for s in slot_lines)]
    assert long_lines == [b"List-Unsubscribe: " + VALUES["list_unsubscribe"].encode()] or long_lines == []
    assert not any(line.startswith(b".") for line in lines)


def test_each_recipient_gets_only_their_own_values():
    skeleton = _skeleton()
    first = skeleton.assemble(VALUES)
    second = skeleton.assemble(
        {**VALUES, "to": "anderer@example.org", "unsubscribe_url": "https://ki.example/u/9"}
    )
    assert b"leserin@example.org" in first and b"leserin@example.org" not in second
    assert b"https://ki.example/u/9" in second and b"https://ki.example/u/9" not in first


@pytest.mark.parametrize("slot", list(VALUES))
@pytest.mark.parametrize(
    "bad", ["x\r\nBcc: opfer@example.org", "x\nBcc: opfer@example.org", "x\0y", "y" * 1000]
)
def test_hostile_values_are_refused_in_every_slot(slot, bad):
    with pytest.raises(mime.HeaderInjection):
        _skeleton().assemble({**VALUES, slot: bad})


def test_non_ascii_header_values_are_refused():
    with pytest.raises(mime.HeaderInjection):
        _skeleton().assemble({**VALUES, "to": "jürgen@example.org"})


def test_a_message_without_slots_still_encodes():
    plain = RenderedEmail(subject="Hallo", html="<p>Hallo</p>", text="Hallo")
    skeleton = mime.build_skeleton(
        plain, sender_name="KI", sender_address="a@ki.example", list_id="<x.ki.example>", feedback_id="1:x",
        slot_tokens=SLOTS,
    )  # fmt: skip
    message = BytesParser(policy=policy.default).parsebytes(skeleton.assemble(VALUES))
    assert _lines(message.get_body(preferencelist=("plain",)).get_content()) == "Hallo\n"


@pytest.mark.parametrize(
    "link",
    [
        "https://ki.example/unsubscribe/7-1.kAl0wcvwDh97-eC9jjWZRdkyAYw",  # what the sender makes
        "https://ki.example/a b",
        "https://ki.example/?a=b&c=d",
        'https://ki.example/"><script>x</script>',
        ".punkt/abmelden",
        "https://ki.example/grüße",
        "https://ki.example/" + "x" * 881,  # 900 characters, the most a slot takes
    ],
)
def test_every_link_value_reads_back_exactly_in_text_and_html(link):
    values = {**VALUES, "unsubscribe_url": link}
    raw = _skeleton().assemble(values)
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998 and not any(line.startswith(b".") for line in lines)
    message = BytesParser(policy=policy.default).parsebytes(raw)
    text_part, html_part = message.iter_parts()
    expected = fill_slots(RENDERED, {name: values[name] for name in SLOTS})
    assert _lines(text_part.get_content()) == expected.text
    # In the HTML the value is text, never markup: escaped, and read back exactly.
    html = _lines(html_part.get_content())
    assert html == expected.html.replace(link, html_module.escape(link, quote=True)) + "\n"
    assert html_module.unescape(html) == html_module.unescape(expected.html) + "\n"
    assert message.defects == [] and text_part.defects == [] and html_part.defects == []


def test_a_link_one_character_too_long_is_refused():
    with pytest.raises(mime.HeaderInjection):
        _skeleton().assemble({**VALUES, "preferences_url": "https://ki.example/" + "x" * 882})
