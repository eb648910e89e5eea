"""Every request body is bounded before it is read (newsletter/platform/bodies.py): 413 as the site's page
in the reader's language, or JSON on the API and the webhooks, nothing stored, nothing counted; a body
without a length (chunked) is cut off at the limit, never buffered whole.

Bad inputs tried: a 200 KB JSON sign-up and a 1 GB declared one; a 100 KB sign-up form in German and in
English; the same to the "send me my link" form, the staff sign-in and the donate page; 2 MB to the Stripe
webhook and 300 KB to the SES webhook; endless chunked bodies (no Content-Length) to each of them and to
the CSV upload; a body declaring 1 GB over a real socket, and a chunked one that never ends, to a real
werkzeug server and (slow) to gunicorn as the Procfile runs it; JSON arrays nested 30,000 deep (a
RecursionError in the parser); an e-mail field of 1 MB and a 24,000-character source; an article of
150,000 characters with umlauts (allowed, the editor's forms have their own limit) and one of 6 MB;
``MAX_REQUEST_BYTES`` and ``IMPORT_MAX_LINE_BYTES`` too small or not numbers."""

from __future__ import annotations

import io
import json
import select as select_module
import socket
import threading
import unicodedata
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import func, select
from werkzeug.serving import make_server

from newsletter.editorial.models import Article
from newsletter.platform import bodies
from newsletter.platform.settings import ConfigError, load_config
from newsletter.readers import addresses, errors, signup
from newsletter.readers.models import ReaderMail, Subscriber
from tests.readers.factories import make_newsletter
from tests.readers.web import form_token
from tests.staff.factories import sign_in
from tests.support.web import csrf_token, text_of

LIMIT = bodies.DEFAULT_MAX_REQUEST_BYTES


@pytest.fixture
def newsletters(db):
    make_newsletter(db, "ki-news", "KI-News täglich", is_default=True)
    db.session.commit()


def _stored(db) -> tuple[int, int]:
    """Readers and reader mails: what a sign-up would have written."""
    return (db.session.scalar(select(func.count()).select_from(Subscriber)),
            db.session.scalar(select(func.count()).select_from(ReaderMail)))  # fmt: skip


def _signup_counters(redis_url: str) -> list[bytes]:
    connection = redis.Redis.from_url(redis_url)
    try:
        return connection.keys("*signup-*")
    finally:
        connection.close()


class Endless:
    """A request body that never ends, as a chunked upload that keeps coming: counts what was read."""

    def __init__(self, piece: bytes = b"x") -> None:
        self.piece = piece
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        size = 65536 if size is None or size < 0 else size
        self.read_bytes += size
        return (self.piece * (size // len(self.piece) + 1))[:size]

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def _chunked(client, path: str, body: Endless, content_type: str, **kw):
    """What gunicorn hands the app for ``Transfer-Encoding: chunked``: no length, a stream it ends itself."""
    overrides = {"wsgi.input": body, "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked",
                 "CONTENT_LENGTH": ""}  # fmt: skip
    return client.post(path, content_type=content_type, environ_overrides=overrides, **kw)


# -- the answer ------------------------------------------------------------------------------------------


def test_a_huge_json_sign_up_is_refused_in_json_and_stores_and_counts_nothing(
    client, db, newsletters, redis_url
):
    body = json.dumps({"email": "gross@example.org", "source": "x" * 200_000}).encode()
    response = client.post("/api/subscribe", data=body, content_type="application/json")
    assert response.status_code == 413 and response.headers["Connection"] == "close"
    assert response.json["error"] == "too_large"
    assert "höchstens 64 KB" in response.json["message"] and "nichts gespeichert" in response.json["message"]
    assert _stored(db) == (0, 0)
    assert _signup_counters(redis_url) == []  # refused before the rate limit read the body


def test_a_huge_sign_up_form_gets_the_error_page_in_the_readers_language(client, db, newsletters):
    token = form_token(client)
    data = {"email": "gross@example.org", "language": "de", "form_token": token, "source": "y" * 100_000}
    german = client.post("/subscribe", data=data)
    assert german.status_code == 413 and german.headers["Connection"] == "close"
    page = text_of(german)
    assert "Zu viel auf einmal" in page and "höchstens 64 KB" in page and "Too much" not in page
    client.set_cookie("beitrag_lang", "en")
    english = client.post("/subscribe", data=data)
    assert english.status_code == 413
    assert "Too much at once" in text_of(english) and "at most 64 KB" in text_of(english)
    assert _stored(db) == (0, 0)


@pytest.mark.parametrize("path", ["/preferences", "/staff/login", "/spenden", "/unsubscribe/x"])
def test_other_public_forms_refuse_a_huge_body_before_reading_it(client, db, path):
    response = client.post(path, data={"email": "a@example.org", "padding": "z" * (2 * LIMIT)})
    assert response.status_code == 413, path
    assert "Zu viel auf einmal" in text_of(response)


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_is_read(client, db, newsletters):
    for path in ("/api/subscribe", "/subscribe", "/webhooks/stripe", "/webhooks/ses", "/staff/login"):
        body = Endless()
        declared = {"CONTENT_LENGTH": str(1024**3), "wsgi.input": body}
        response = client.post(path, data=b"", content_type="application/json", environ_overrides=declared)
        assert response.status_code == 413, path
        assert body.read_bytes == 0, path


@pytest.mark.parametrize(
    ("path", "content_type", "limit"),
    [
        ("/api/subscribe", "application/json", LIMIT),
        ("/subscribe", "application/x-www-form-urlencoded", LIMIT),
        ("/staff/login", "application/x-www-form-urlencoded", LIMIT),
        ("/webhooks/ses", "text/plain", 256 * 1024),
        ("/webhooks/stripe", "application/json", 1024 * 1024),
    ],
)
def test_an_endless_chunked_body_is_read_no_further_than_the_limit(
    client, db, newsletters, stripe_api, path, content_type, limit
):
    body = Endless(b'{"email": "a@example.org", "x": "' if content_type == "application/json" else b"a=b&")
    response = _chunked(client, path, body, content_type)
    assert response.status_code == 413, path
    # One byte past the limit is how the app knows that the body is too large; not a byte more.
    assert body.read_bytes == limit + 1, f"{path} read {body.read_bytes} bytes, its limit is {limit}"
    assert _stored(db) == (0, 0)


def test_the_csv_upload_has_its_own_limit_and_an_endless_upload_stops_there(app, client, db, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1024 * 1024)
    sign_in(client)
    token = csrf_token(client, "/staff/imports")
    head = (f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n--b\r\n'
            'Content-Disposition: form-data; name="file"; filename="leser.csv"\r\n'
            "Content-Type: text/csv\r\n\r\nemail\r\n")  # fmt: skip
    body = Endless(b"leser@example.org\r\n")
    stream = _Prefixed(head.encode(), body)
    response = _chunked(client, "/staff/imports", stream, "multipart/form-data; boundary=b")
    assert response.status_code == 413 and "höchstens 1 MB" in text_of(response)
    assert stream.read_bytes <= 1024 * 1024
    # A file that fits is taken, larger than the app's default limit for other pages.
    rows = b"email\n" + b"".join(b"leser%d@example.org\n" % i for i in range(20_000))
    assert len(rows) > 4 * LIMIT
    response = client.post("/staff/imports", data={"csrf_token": token, "file": (io.BytesIO(rows), "l.csv")},
                           content_type="multipart/form-data")  # fmt: skip
    assert response.status_code == 302


class _Prefixed:
    """Some bytes, then an endless body."""

    def __init__(self, head: bytes, rest: Endless) -> None:
        self.head, self.rest = head, rest

    @property
    def read_bytes(self) -> int:
        return self.rest.read_bytes

    def read(self, size: int = -1) -> bytes:
        if self.head:
            piece, self.head = self.head[:size], self.head[size:]
            return piece
        return self.rest.read(size)

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def test_the_webhooks_answer_413_in_json_to_a_body_past_their_limits(client, db, stripe_api):
    stripe = client.post("/webhooks/stripe", data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                         content_type="application/json", headers={"Stripe-Signature": "t=1"})  # fmt: skip
    assert stripe.status_code == 413 and stripe.json["error"] == "too_large"
    assert "höchstens 1 MB" in stripe.json["message"]
    ses = client.post("/webhooks/ses", data=b"{" + b" " * (300 * 1024) + b"}", content_type="text/plain")
    assert ses.status_code == 413 and "höchstens 256 KB" in ses.json["message"]


# -- what is read inside a bounded body ------------------------------------------------------------------


def test_json_nested_thousands_deep_is_a_bad_request_not_a_crash(client, db, newsletters):
    deep = b"[" * 30_000 + b"]" * 30_000
    response = client.post("/api/subscribe", data=deep, content_type="application/json")
    assert response.status_code == 400 and response.json["error"] == "invalid_json"
    hidden = b'{"email": "a@example.org", "x": ' + b"[" * 30_000 + b"]" * 30_000 + b"}"
    assert client.post("/api/subscribe", data=hidden, content_type="application/json").status_code == 400
    ses = client.post("/webhooks/ses", data=deep, content_type="text/plain")
    assert ses.status_code == 400
    assert _stored(db) == (0, 0)


def test_long_fields_are_cut_or_refused_before_their_characters_are_worked_on(
    client, db, newsletters, monkeypatch
):
    looked_at = []
    category = unicodedata.category
    monkeypatch.setattr(signup.unicodedata, "category", lambda ch: looked_at.append(ch) or category(ch))
    source = "https://ki-kompass.example/artikel?" + "ä\t" * 12_000
    body = json.dumps({"email": "lang@example.org", "source": source}, ensure_ascii=False).encode()
    assert len(body) < LIMIT
    response = client.post("/api/subscribe", data=body, content_type="application/json")
    assert response.status_code == 202
    stored = db.session.scalar(select(Subscriber.source))
    assert stored.startswith("https://ki-kompass.example/artikel?ä ä ä") and "\t" not in stored
    assert signup.MAX_SOURCE_LENGTH - 1 <= len(stored) <= signup.MAX_SOURCE_LENGTH  # cut, then stripped
    assert len(looked_at) <= 4 * signup.MAX_SOURCE_LENGTH  # not 24,000 characters
    with pytest.raises(errors.InvalidEmail, match="longer than 254"):
        addresses.normalize_email("a" * 1_000_000 + "@example.org")


def test_the_editors_article_form_takes_a_long_article_and_refuses_six_megabytes(client, db):
    sign_in(client)
    token = csrf_token(client, "/staff/articles/new")
    text = ("Über die Überwachung künstlicher Intelligenz in Europa – eine Übersicht. " * 2100)[:150_000]
    response = client.post("/staff/articles/new", data={"csrf_token": token, "title": "Lang", "body": text})
    assert response.status_code == 302, "a long article must fit the editor's limit"
    assert db.session.scalar(select(func.length(Article.body))) == len(text)
    huge = {"csrf_token": token, "title": "Zu lang", "body": "ü" * (1024 * 1024)}  # 6 MB form-encoded
    response = client.post("/staff/articles/new", data=huge)
    assert response.status_code == 413 and "höchstens 4 MB" in text_of(response)
    assert db.session.scalar(select(func.count()).select_from(Article)) == 1


# -- settings --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MAX_REQUEST_BYTES": "1000"}, "MAX_REQUEST_BYTES must be at least 8192 bytes"),
        ({"MAX_REQUEST_BYTES": "64k"}, "MAX_REQUEST_BYTES must be a whole number"),
        ({"IMPORT_MAX_LINE_BYTES": "10"}, "IMPORT_MAX_LINE_BYTES must be at least 1024 bytes"),
        ({"IMPORT_MAX_BYTES": "-1"}, "IMPORT_MAX_BYTES must be at least"),
    ],
)
def test_bad_limits_stop_the_start(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        load_config({"BEITRAG_ENV": "development", **env}, tmp_path)


def test_the_limits_and_their_defaults(tmp_path):
    config = load_config({"BEITRAG_ENV": "development"}, tmp_path)
    assert config["MAX_CONTENT_LENGTH"] == 64 * 1024
    assert config["IMPORT_MAX_BYTES"] == 256 * 1024 * 1024 and config["IMPORT_MAX_LINE_BYTES"] == 64 * 1024
    config = load_config({"BEITRAG_ENV": "development", "MAX_REQUEST_BYTES": "131072"}, tmp_path)
    assert config["MAX_CONTENT_LENGTH"] == 131072


# -- over a real socket ----------------------------------------------------------------------------------


@pytest.fixture
def served(app):
    """The app under werkzeug's own HTTP server (threads), on a loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()
    thread.join(timeout=10)


def _head(path: str, extra: str) -> bytes:
    form = "application/x-www-form-urlencoded"
    kind = "application/json" if path.startswith(("/api/", "/webhooks/")) else form
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {kind}\r\n{extra}\r\n".encode()


def _answer(sock: socket.socket) -> bytes:
    """The server's answer: head and, by its Content-Length, body (as far as it came before a close). A
    server may go on reading what the client sends after it answered, so this does not wait for it to
    close."""
    data = b""
    sock.settimeout(10)
    while True:
        head, found, body = data.partition(b"\r\n\r\n")
        if found:
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)  # fmt: skip
            if len(body) >= length:
                return data
        try:
            piece = sock.recv(65536)
        except ConnectionResetError:  # it closed with our unread bytes still in its buffer
            return data
        if not piece:
            return data
        data += piece


def _send_until_answered(sock: socket.socket, pieces: Iterator[bytes], most: int) -> int:
    """Send ``pieces`` until the server answers (or ``most`` bytes went out); how many bytes went out."""
    sent = 0
    sock.setblocking(False)
    for piece in pieces:
        readable, _, _ = select_module.select([sock], [], [], 0)
        if readable or sent >= most:
            break
        view = memoryview(piece)
        while view:
            readable, writable, _ = select_module.select([sock], [sock], [], 5)
            if readable:
                sock.setblocking(True)
                return sent
            if not writable:
                break
            try:
                n = sock.send(view)
            except (BrokenPipeError, ConnectionResetError):
                sock.setblocking(True)
                return sent
            sent += n
            view = view[n:]
    sock.setblocking(True)
    return sent


def _endless_chunks(size: int = 16 * 1024) -> Iterator[bytes]:
    chunk = f"{size:x}\r\n".encode() + b"x" * size + b"\r\n"
    while True:
        yield chunk


def _refused_while_sending(port: int, path: str) -> tuple[bytes, bytes]:
    """(answer to 1 GB declared and a few KB sent, answer to an endless chunked body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_head(path, f"Content-Length: {1024**3}\r\n") + b"email=" + b"a" * 4000)
        declared = _answer(sock)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(_head(path, "Transfer-Encoding: chunked\r\n"))
        sent = _send_until_answered(sock, _endless_chunks(), most=256 * 1024 * 1024)
        chunked = _answer(sock)
    assert sent < 256 * 1024 * 1024, f"{path}: the server let the client send {sent} bytes without answering"
    return declared, chunked


def test_a_real_server_answers_413_while_the_client_is_still_sending(served, db, newsletters):
    for path in ("/api/subscribe", "/subscribe", "/staff/login"):
        declared, chunked = _refused_while_sending(served, path)
        assert declared.startswith(b"HTTP/1.1 413"), (path, declared[:200])
        assert chunked.startswith(b"HTTP/1.1 413"), (path, chunked[:200])
        assert b"Zu viel auf einmal" in declared + chunked or b"too_large" in declared + chunked
    assert _stored(db) == (0, 0)
    # The server still serves: a sign-up of ordinary size is taken.
    with socket.create_connection(("127.0.0.1", served), timeout=10) as sock:
        body = json.dumps({"email": "normal@example.org"}).encode()
        sock.sendall(_head("/api/subscribe", f"Content-Length: {len(body)}\r\nConnection: close\r\n") + body)
        assert _answer(sock).startswith(b"HTTP/1.1 202")


@pytest.mark.slow
def test_gunicorn_answers_413_while_the_client_is_still_sending(database_url, redis_url, tmp_path, make_app):
    """The Procfile's web server: it ends a chunked body itself (``wsgi.input_terminated``), so the app's
    limit is what stops it; a declared length is refused before the body is read."""
    from tests.conftest import _clean_database
    from tests.e2e.stack import Stack

    _clean_database(make_app())
    stack = Stack(database_url, redis_url, tmp_path, roles=("web",)).start()
    try:
        for path in ("/api/subscribe", "/subscribe", "/webhooks/stripe", "/webhooks/ses", "/staff/login"):
            declared, chunked = _refused_while_sending(stack.port, path)
            assert declared.startswith(b"HTTP/1.1 413"), (path, declared[:200], stack.logs())
            assert chunked.startswith(b"HTTP/1.1 413"), (path, chunked[:200], stack.logs())
    finally:
        stack.stop()
