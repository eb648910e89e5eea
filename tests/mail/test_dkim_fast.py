"""The skeleton signer (``mail.dkim_fast``) against dkimpy's own verifier: for generated issues (umlauts and
emoji, long lines, runs of spaces and tabs, spaces at line ends, empty lines at the end, lines starting
with a dot or "From ", slots anywhere in a line) and generated per-reader values (spaces, "=", markup
characters, a leading dot, umlauts in the links; spaces and commas in List-Unsubscribe), every message it
signs verifies and is byte for byte the assembled message behind its signature. A header a forger puts
in front of a signed one (each of the oversigned headers, for this signer and for dkimpy's) breaks the
signature; so does a changed Feedback-ID or a changed link. A skeleton of a shape the fast signer cannot
take (a slot in the middle of a body line) is still signed correctly, by dkimpy."""

from __future__ import annotations

import string
from email import message_from_bytes

import pytest
from dkim.canonicalization import Relaxed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from newsletter.mail import dkim_fast, mime, signing
from newsletter.mail.rendering import SLOTS, RenderedEmail
from tests.support.dkim import DKIM_DOMAIN, DKIM_SELECTOR, dkim_results, dkim_verifies

OVERSIGNED = [name.decode() for name in signing.SIGNED_HEADERS]


@pytest.fixture(scope="module")
def key(dkim_pem) -> signing.DKIMKey:
    return signing.load_key(dkim_pem.decode(), DKIM_SELECTOR, DKIM_DOMAIN)


ED25519_SELECTOR = "ed2026"


@pytest.fixture(scope="module")
def both(dkim_pem) -> signing.DKIMKey:
    """The RSA key with an Ed25519 key beside it (PEM, as ``openssl genpkey -algorithm ed25519`` writes)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return signing.load_key(dkim_pem.decode(), DKIM_SELECTOR, DKIM_DOMAIN, pem.decode(), ED25519_SELECTOR)


# -- generated issues and readers ---------------------------------------------------------------------

# Letters, umlauts, emoji, punctuation that quoted-printable encodes ("=", "."), spaces and tabs.
WORD = st.text(alphabet=string.ascii_letters + "äöüßÄ€🤖=.-_<>&\"'", min_size=1, max_size=12)
SPACE = st.sampled_from([" ", "  ", "\t", " \t ", ""])
LINE_START = st.sampled_from(["", ".", "..", "From ", " ", "\t", "-- "])


@st.composite
def lines(draw) -> str:
    words = draw(st.lists(WORD, max_size=8))
    line = draw(LINE_START) + "".join(word + draw(SPACE) for word in words)
    if draw(st.booleans()):
        line += "x" * draw(st.integers(70, 260))  # longer than a quoted-printable line: soft breaks
    return line + draw(st.sampled_from(["", " ", "\t", "  \t"]))  # spaces at the line's end, or not


@st.composite
def bodies(draw) -> str:
    body = draw(st.lists(lines(), max_size=12))
    for name in draw(st.lists(st.sampled_from(sorted(SLOTS)), max_size=4)):
        row = draw(st.integers(0, len(body)))
        line = body[row] if row < len(body) else ""
        at = draw(st.integers(0, len(line)))  # a slot anywhere in a line, as a template may put it
        body[row : row + 1] = [line[:at] + SLOTS[name] + line[at:]]
    return "\n".join(body) + draw(st.sampled_from(["", "\n", "\n\n\n", "\n \n\t\n"]))


ASCII_PRINTABLE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120)
LINK = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=0, max_size=120
).map(lambda tail: "https://ki.example/u/" + tail) | st.sampled_from([".dot", "a b", "=3D", "<&>", "äö ü"])


@st.composite
def readers(draw) -> dict[str, str]:
    local = draw(st.text(alphabet=string.ascii_lowercase + string.digits + ".+_-", min_size=1, max_size=30))
    row, mac = draw(st.integers(1, 10**9)), draw(st.text(string.hexdigits, max_size=12))
    unsubscribe = ASCII_PRINTABLE | st.just("<https://ki.example/u/1>,  <mailto:a@ki.example>")
    return {
        "to": f"{local}@example.org",
        "message_id": f"<{row}.7.{mac}@ki.example>",
        "date": "Tue, 24 Nov 2026 07:00:00 +0000",
        "list_unsubscribe": draw(unsubscribe),
        "unsubscribe_url": draw(LINK),
        "preferences_url": draw(LINK),
        "share_url": draw(LINK),
    }


def skeleton(subject: str, text: str, html: str, sender_name: str = "KI-Kompass") -> mime.Skeleton:
    return mime.build_skeleton(
        RenderedEmail(subject=subject, html=html, text=text), sender_name=sender_name,
        sender_address="redaktion@ki-kompass.example", list_id="KI-News täglich <ki-news.ki-kompass.example>",
        feedback_id="7:ki-news:beitrag", slot_tokens=SLOTS,
    )  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=st.text(alphabet=string.ascii_letters + " äöü🤖:-\t", min_size=1, max_size=150).filter(str.strip),
    sender_name=st.text(alphabet=string.ascii_letters + " äöü,.", min_size=1, max_size=60).filter(str.strip),
    text=bodies(),
    html=bodies(),
    reader=readers(),
)
def test_every_fast_signature_verifies_with_dkimpy(key, subject, sender_name, text, html, reader):
    made = skeleton(subject, text, html, sender_name)
    assert isinstance(dkim_fast.skeleton_signer(made, key), dkim_fast.SkeletonSigner)
    try:
        unsigned = made.assemble(reader)
    except mime.HeaderInjection:
        with pytest.raises(mime.HeaderInjection):
            made.assemble_signed(reader, key)
        return
    raw = made.assemble_signed(reader, key)
    assert raw.startswith(b"DKIM-Signature: ")
    assert raw.endswith(unsigned) and raw.count(b"DKIM-Signature:") == 1
    assert dkim_verifies(raw, key)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    # dkimpy, signing the same bytes, hashes the body alike.
    assert _tag(signing.sign(unsigned, key), "bh") == _tag(raw, "bh")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subject=st.text(alphabet=string.ascii_letters + " äöü🤖:-\t", min_size=1, max_size=150).filter(str.strip),
    text=bodies(),
    html=bodies(),
    reader=readers(),
)
def test_both_signatures_verify_with_dkimpy(both, subject, text, html, reader):
    made = skeleton(subject, text, html)
    assert isinstance(dkim_fast.skeleton_signer(made, both), dkim_fast.SkeletonSigner)
    try:
        unsigned = made.assemble(reader)
    except mime.HeaderInjection:
        return
    for raw in (made.assemble_signed(reader, both), signing.sign(unsigned, both)):  # fast, then dkimpy
        assert raw.endswith(unsigned) and raw.count(b"DKIM-Signature:") == 2
        assert dkim_results(raw, both) == [True, True]
        rsa, ed = _tags(raw, 0), _tags(raw, 1)
        assert (rsa["a"], rsa["s"], ed["a"], ed["s"]) == (
            "rsa-sha256", DKIM_SELECTOR, "ed25519-sha256", ED25519_SELECTOR
        )
        # The same oversigned h= list and the same body hash under both.
        assert rsa["h"] == ed["h"] and rsa["bh"] == ed["bh"] and rsa["c"] == ed["c"] == "relaxed/relaxed"
        assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    assert _tags(made.assemble_signed(reader, both), 0)["h"] == _tags(signing.sign(unsigned, both), 1)["h"]


def _tags(raw: bytes, index: int) -> dict[str, str]:
    value = message_from_bytes(raw).get_all("DKIM-Signature")[index]
    return dict(part.strip().split("=", 1) for part in "".join(value.split()).split(";") if "=" in part)


def _tag(raw: bytes, name: str) -> str:
    value = message_from_bytes(raw)["DKIM-Signature"]
    tags = dict(part.strip().split("=", 1) for part in "".join(value.split()).split(";") if "=" in part)
    return tags[name]


# The canonical forms alone, against dkimpy's, on any CRLF text (also what no skeleton holds: a body that
# ends in empty lines or has no CRLF at its end, an empty body).
BODY_TEXT = st.text(alphabet=" \t\r\na=.äF", max_size=60).map(
    lambda text: text.replace("\r", "").replace("\n", "\r\n")
)


@given(body=BODY_TEXT)
def test_body_canonicalisation_is_dkimpys(body):
    raw = body.encode()
    assert dkim_fast.canonical_end(dkim_fast.canonical_lines(raw)) == Relaxed.canonicalize_body(raw)


@given(name=st.sampled_from(["Subject", "to", "LIST-ID"]), value=BODY_TEXT)
def test_header_canonicalisation_is_dkimpys(name, value):
    value = value.replace("\r\n", "\r\n ") + "\r\n"  # folded: every line break followed by a space
    [(got_name, got_value)] = Relaxed.canonicalize_headers([(name.encode(), value.encode())])
    assert dkim_fast.canonical_header(f"{name}:{value}".encode()) == got_name + b":" + got_value


# -- oversigning --------------------------------------------------------------------------------------

READER = {
    "to": "leserin@example.org", "message_id": "<42.7.abc@ki-kompass.example>",
    "date": "Tue, 24 Nov 2026 07:00:00 +0000",
    "list_unsubscribe": "<https://ki.example/unsubscribe/7-1.sig>, <mailto:abmelden@ki.example?subject=7-1>",
    "unsubscribe_url": "https://ki.example/unsubscribe/7-1.sig", "preferences_url": "https://ki.example/p/7",
    "share_url": "https://ki.example/share/7",
}  # fmt: skip
ISSUE = ("Die KI-Woche", f"Hallo\n\nAbmelden: {SLOTS['unsubscribe_url']}\n", f"<p>Hallo</p>\n"
         f"<a href=\"{SLOTS['preferences_url']}\">Einstellungen</a>\n")  # fmt: skip


def _signed_newsletter(key: signing.DKIMKey) -> bytes:
    return skeleton(*ISSUE).assemble_signed(READER, key)


def _signed_transactional(key: signing.DKIMKey) -> bytes:
    message = mime.build_transactional(
        RenderedEmail(subject="Bitte bestätigen", html="<p>Hallo</p>", text="Hallo\n"),
        sender_name="KI-Kompass", sender_address="redaktion@ki-kompass.example", to="neu@example.org",
        headers={"List-Id": "KI-News <ki-news.ki-kompass.example>"},
    )  # fmt: skip
    return signing.sign(message, key)


@pytest.mark.parametrize("keys", ["rsa", "rsa+ed25519"])
@pytest.mark.parametrize("signed", [_signed_newsletter, _signed_transactional], ids=["fast", "dkimpy"])
@pytest.mark.parametrize("name", OVERSIGNED)
def test_a_header_put_in_front_breaks_the_signature(request, keys, signed, name):
    key = request.getfixturevalue("key" if keys == "rsa" else "both")
    raw = signed(key)
    assert dkim_verifies(raw, key)
    listed = _tag(raw, "h").split(":")
    present = sum(1 for found in signing.header_names(raw) if found.lower() == name.lower().encode())
    assert listed.count(name.lower()) == present + 1
    # In front of the message, and just above the body: both break it.
    forged = f"{name}: <https://evil.test/x>\r\n".encode()
    assert not any(dkim_results(forged + raw, key))  # each signature breaks, Ed25519 as well as RSA
    head_end = raw.index(b"\r\n\r\n") + 2
    assert not any(dkim_results(raw[:head_end] + forged + raw[head_end:], key))


def test_feedback_id_and_links_are_signed(key):
    raw = _signed_newsletter(key)
    assert "feedback-id" in _tag(raw, "h").split(":")
    assert not dkim_verifies(raw.replace(b"Feedback-ID: 7:", b"Feedback-ID: 8:", 1), key)
    assert not dkim_verifies(raw.replace(b"7-1.sig", b"7-2.sig"), key)
    # Whitespace a relay may change at line ends and between words leaves it valid (relaxed).
    head, _, body = raw.partition(b"\r\n\r\n")
    assert dkim_verifies(head + b"\r\n\r\n" + body.replace(b"\r\n", b" \r\n") + b"\r\n\r\n", key)


def test_a_slot_in_the_middle_of_a_line_is_signed_by_dkimpy(key):
    odd = mime.Skeleton([
        b"From: KI-Kompass <redaktion@ki-kompass.example>\r\nTo: ", ("to", "header"),
        b"\r\nSubject: Hallo\r\nFeedback-ID: 7:ki:beitrag\r\n\r\nAbmelden: ", ("unsubscribe_url", "text"),
        b" bitte\r\n",
    ])  # fmt: skip
    assert isinstance(dkim_fast.skeleton_signer(odd, key), dkim_fast._Dkimpy)
    raw = odd.assemble_signed({"to": "a@example.org", "unsubscribe_url": "https://ki.example/u/1"}, key)
    assert raw.endswith(b"Abmelden: https://ki.example/u/1 bitte\r\n")
    assert dkim_verifies(raw, key)
    assert not dkim_verifies(b"Feedback-ID: 1\r\n" + raw, key)


def test_a_slot_in_the_middle_of_a_line_gets_both_signatures_from_dkimpy(both):
    odd = mime.Skeleton([
        b"From: KI-Kompass <redaktion@ki-kompass.example>\r\nTo: ", ("to", "header"),
        b"\r\nSubject: Hallo\r\n\r\nAbmelden: ", ("unsubscribe_url", "text"), b" bitte\r\n",
    ])  # fmt: skip
    assert isinstance(dkim_fast.skeleton_signer(odd, both), dkim_fast._Dkimpy)
    raw = odd.assemble_signed({"to": "a@example.org", "unsubscribe_url": "https://ki.example/u/1"}, both)
    assert dkim_results(raw, both) == [True, True]
    assert _tags(raw, 1)["a"] == "ed25519-sha256" and _tags(raw, 0)["h"] == _tags(raw, 1)["h"]
    assert dkim_results(raw.replace(b"u/1", b"u/2"), both) == [False, False]


def test_the_ed25519_key_settings(dkim_pem, dkim_key_file, tmp_path):
    """Bad inputs tried: a missing selector, the RSA key's selector, an RSA key given as the Ed25519 key,
    base64 that is not 32 bytes, a file that does not exist, an Ed25519 key without an RSA key."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    from newsletter.platform.settings import ConfigError, load_config

    private = ed25519.Ed25519PrivateKey.generate()
    pem_file = tmp_path / "ed.pem"
    pem_file.write_bytes(private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ))  # fmt: skip
    seed = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    dkimpy_form = base64.b64encode(seed).decode()  # what dknewkey --ktype ed25519 writes

    def config(**env):
        loaded = load_config({"BEITRAG_ENV": "testing", "SECRET_KEY": "x" * 40,
                              "DKIM_PRIVATE_KEY": str(dkim_key_file), "DKIM_SELECTOR": "s1", **env}, tmp_path)
        loaded["DKIM_KEY"] = signing.key_from_config(loaded)
        return loaded["DKIM_KEY"]  # fmt: skip

    for form in (str(pem_file), pem_file.read_text(), dkimpy_form):
        loaded = config(DKIM_ED25519_KEY=form, DKIM_ED25519_SELECTOR="ed1")
        assert loaded.ed25519.seed == seed
        public = base64.b64encode(private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode()  # fmt: skip
        assert loaded.public_records() == {
            "s1._domainkey.ki-kompass.example": loaded.public_record(),
            "ed1._domainkey.ki-kompass.example": f"v=DKIM1; k=ed25519; p={public}",
        }
        assert repr(seed) not in repr(loaded)
    cases = {
        "DKIM_ED25519_SELECTOR": {"DKIM_ED25519_KEY": str(pem_file)},
        "selector of its own": {"DKIM_ED25519_KEY": str(pem_file), "DKIM_ED25519_SELECTOR": "s1"},
        "not an Ed25519 key": {"DKIM_ED25519_KEY": dkim_pem.decode(), "DKIM_ED25519_SELECTOR": "ed1"},
        "32 bytes": {"DKIM_ED25519_KEY": base64.b64encode(b"short").decode(), "DKIM_ED25519_SELECTOR": "ed1"},
        "cannot be read": {"DKIM_ED25519_KEY": str(tmp_path / "missing.pem"), "DKIM_ED25519_SELECTOR": "ed1"},
        "set both or neither": {"DKIM_ED25519_SELECTOR": "ed1"},
    }
    for message, env in cases.items():
        with pytest.raises(ConfigError, match=message):
            config(**env)
    with pytest.raises(ConfigError, match="DKIM_PRIVATE_KEY is not"):
        loaded = load_config({"BEITRAG_ENV": "testing", "SECRET_KEY": "x" * 40,
                              "DKIM_ED25519_KEY": str(pem_file)}, tmp_path)  # fmt: skip
        signing.key_from_config(loaded)
    assert config().ed25519 is None
