"""The signed links every newsletter carries, made per recipient by the sender without a request context.

* :func:`unsubscribe_url`: the RFC 8058 one-click address for ``List-Unsubscribe``. Its token never
  expires (a newsletter in an archive folder must still unsubscribe): ``<reader>-<newsletter>.<mac>``,
  or ``<reader>-<newsletter>-<issue>.<mac>`` in an issue's mail, so that a reader leaving from it is
  counted for that issue. The same token stands in the subject of the mailto address beside it.
* :func:`preferences_url`: the preference center, valid for :data:`tokens.LIFETIMES` ``["preferences"]``
  from the moment it was made: ``<reader>.<issued>.<mac>``.
* :func:`test_reader_token`: what an editor's test send carries in place of the unsubscribe token:
  ``t-<language>-<nonce>.<mac>``. It names no reader and no address; the pages behind it answer as for a
  reader and change nothing.

The MAC is HMAC-SHA256 (truncated to 160 bits) under a key derived once per purpose from ``SECRET_KEY``,
so a token made for one purpose is worthless for the other; it is checked in constant time. The sender
makes two of these for every recipient of every issue, so the keyed state is made once per key (the
hashes of the key's inner and outer pads, RFC 2104 section 4) and each MAC only copies and finishes
them (about 0.6 µs, against 1.6 µs for a one-shot ``hmac.digest`` and up to 19 µs for itsdangerous's
serializers, which stay in use for the rarer links in ``tokens``). The MACs are the standard HMAC, so
links made before stay valid. :class:`ReaderLinks` makes both links for many readers of one send.

Both are pure functions of their arguments (plus the clock), safe to call from a worker.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import time
from functools import lru_cache

from newsletter.platform import tokens

_MAC_BYTES = 20
_BLOCK = 64  # SHA-256's block size
_INNER_PAD = bytes(b ^ 0x36 for b in range(256))
_OUTER_PAD = bytes(b ^ 0x5C for b in range(256))
_URLSAFE = bytes.maketrans(b"+/", b"-_")


class _Signer:
    """HMAC-SHA256 under one key, with the hashes of the padded key computed once."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes):
        if len(key) > _BLOCK:
            key = hashlib.sha256(key).digest()
        block = key.ljust(_BLOCK, b"\0")
        self._inner = hashlib.sha256(block.translate(_INNER_PAD))
        self._outer = hashlib.sha256(block.translate(_OUTER_PAD))

    def __call__(self, payload: bytes) -> str:
        """The MAC of ``payload``: 160 bits as 27 characters of URL-safe base64 without padding."""
        inner = self._inner.copy()
        inner.update(payload)
        outer = self._outer.copy()
        outer.update(inner.digest())
        encoded = binascii.b2a_base64(outer.digest()[:_MAC_BYTES], newline=False)
        return encoded[:-1].translate(_URLSAFE).decode()  # 28 characters, the last one padding


@lru_cache(maxsize=16)
def _key(secret_key: str, purpose: str) -> bytes:
    return hmac.new(secret_key.encode("utf-8"), f"beitrag.links.{purpose}".encode(), hashlib.sha256).digest()


@lru_cache(maxsize=16)
def _signer(secret_key: str, purpose: str) -> _Signer:
    return _Signer(_key(secret_key, purpose))


def _mac(secret_key: str, purpose: str, payload: str) -> str:
    return _signer(secret_key, purpose)(payload.encode("ascii"))


def _payload(secret_key: str, purpose: str, token: str) -> str:
    """The signed payload of ``token``; :class:`tokens.TokenError` for a forged or broken one."""
    if not token or len(token) > 200 or not token.isascii():
        raise tokens.TokenError("the link is broken")
    payload, _, mac = token.rpartition(".")
    if not payload or not hmac.compare_digest(_mac(secret_key, purpose, payload), mac):
        raise tokens.TokenError("the link is not valid")
    return payload


def _unsubscribe_payload(subscriber_id: int, newsletter_id: int | None, issue_id: int | None) -> str:
    payload = f"{int(subscriber_id)}-{int(newsletter_id or 0)}"
    return f"{payload}-{int(issue_id)}" if issue_id else payload


def unsubscribe_token(
    secret_key: str, subscriber_id: int, newsletter_id: int | None = None, issue_id: int | None = None
) -> str:
    payload = _unsubscribe_payload(subscriber_id, newsletter_id, issue_id)
    return f"{payload}.{_mac(secret_key, 'unsubscribe', payload)}"


def unsubscribe_url(
    base_url: str, secret_key: str, subscriber_id: int, newsletter_id: int | None = None
) -> str:
    """The one-click unsubscribe URL for one recipient of one newsletter, e.g. for the header
    ``List-Unsubscribe: <URL>`` together with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``.

    ``base_url`` is the public address without a trailing slash (``config["BASE_URL"]``), ``secret_key``
    the app's ``SECRET_KEY``. With ``newsletter_id`` a POST leaves that newsletter only (everything when it
    was the reader's last one); with ``None`` it leaves every newsletter."""
    return f"{base_url}/unsubscribe/{unsubscribe_token(secret_key, subscriber_id, newsletter_id)}"


def read_unsubscribe_token(secret_key: str, token: str) -> tuple[int, int | None]:
    """``(subscriber_id, newsletter_id or None)``; :class:`tokens.TokenError` for a forged or broken token."""
    subscriber_id, newsletter_id, _issue_id = read_unsubscribe_link(secret_key, token)
    return subscriber_id, newsletter_id


def read_unsubscribe_link(secret_key: str, token: str) -> tuple[int, int | None, int | None]:
    """``(subscriber_id, newsletter_id or None, issue_id or None)``: the issue whose mail carried the
    token (None for a token made before issues were named in it); :class:`tokens.TokenError` for a forged
    or broken token."""
    payload = _payload(secret_key, "unsubscribe", token)
    parts = payload.split("-")
    if len(parts) not in (2, 3) or not all(p.isdigit() and len(p) <= 18 for p in parts):
        raise tokens.TokenError("the link is not valid")
    subscriber_id, newsletter_id, issue_id = (int(p) for p in (*parts, "0")[:3])
    return subscriber_id, (newsletter_id or None), (issue_id or None)


def preferences_token(secret_key: str, subscriber_id: int, *, now: float | None = None) -> str:
    issued = int(time.time() if now is None else now)
    payload = f"{int(subscriber_id)}.{issued}"
    return f"{payload}.{_mac(secret_key, 'preferences', payload)}"


def preferences_url(base_url: str, secret_key: str, subscriber_id: int) -> str:
    """The signed link to the reader's preference center (newsletters, language, pause, donation asks,
    leave, download, erase). Expires ``tokens.LIFETIMES["preferences"]`` seconds (30 days) after it was
    made; every newsletter carries a fresh one. Same arguments as :func:`unsubscribe_url`."""
    return f"{base_url}/preferences/{preferences_token(secret_key, subscriber_id)}"


def read_preferences_token(secret_key: str, token: str) -> int:
    """The reader id in a valid preference link; :class:`tokens.TokenError` (``expired`` set) otherwise."""
    payload = _payload(secret_key, "preferences", token)
    try:
        subscriber_part, issued_part = payload.split(".")
        subscriber_id, issued = int(subscriber_part), int(issued_part)
    except ValueError:
        raise tokens.TokenError("the link is not valid") from None
    if time.time() - issued > tokens.LIFETIMES["preferences"]:
        raise tokens.TokenError("the link has expired", expired=True)
    return subscriber_id


_TEST_PREFIX = "t-"
_TEST_LANGUAGES = ("de", "en")


def test_reader_token(secret_key: str, locale: str, nonce: str) -> str:
    """The stand-in for a reader's unsubscribe token in a test send, in the language the test was sent
    in. Signed under its own key: no MAC of it is ever a valid unsubscribe or preference token, and a
    reader's token does not pass as a test one."""
    if locale not in _TEST_LANGUAGES or not nonce.isalnum():
        raise ValueError("a test link needs a known language and an alphanumeric nonce")
    payload = f"{_TEST_PREFIX}{locale}-{nonce}"
    return f"{payload}.{_mac(secret_key, 'test-reader', payload)}"


test_reader_token.__test__ = False  # type: ignore[attr-defined]  # not a pytest test, whatever its name


def is_test_reader_token(token: str) -> bool:
    """Whether ``token`` claims to be a test send's (reader tokens start with a digit); checked by
    :func:`read_test_reader_token`."""
    return token.startswith(_TEST_PREFIX)


def read_test_reader_token(secret_key: str, token: str) -> str:
    """The language of a valid test send's token; :class:`tokens.TokenError` for a forged or broken one."""
    payload = _payload(secret_key, "test-reader", token)
    _, locale, nonce = payload.split("-", 2) if payload.count("-") == 2 else ("", "", "")
    if locale not in _TEST_LANGUAGES or not nonce:
        raise tokens.TokenError("the link is not valid")
    return locale


class ReaderLinks:
    """Both links for many readers of one send (a worker's chunk): the keys, the base address and the
    time of issue are looked up once, so a reader's two links cost two MACs and a few string joins.
    The tokens are the same as :func:`unsubscribe_url` and :func:`preferences_url` make."""

    __slots__ = (
        "_issued", "_preferences", "_preferences_base", "_secret_key", "_unsubscribe", "_unsubscribe_base",
    )  # fmt: skip

    def __init__(self, base_url: str, secret_key: str, *, now: float | None = None):
        self._secret_key = secret_key
        self._unsubscribe = _signer(secret_key, "unsubscribe")
        self._preferences = _signer(secret_key, "preferences")
        self._unsubscribe_base = f"{base_url}/unsubscribe/"
        self._preferences_base = f"{base_url}/preferences/"
        self._issued = f".{int(time.time() if now is None else now)}"

    def unsubscribe_token(
        self, subscriber_id: int, newsletter_id: int | None = None, issue_id: int | None = None
    ) -> str:
        payload = _unsubscribe_payload(subscriber_id, newsletter_id, issue_id)
        return f"{payload}.{self._unsubscribe(payload.encode())}"

    def unsubscribe_url(self, subscriber_id: int, newsletter_id: int | None = None) -> str:
        return self._unsubscribe_base + self.unsubscribe_token(subscriber_id, newsletter_id)

    def unsubscribe_url_and_token(
        self, subscriber_id: int, newsletter_id: int | None = None, issue_id: int | None = None
    ) -> tuple[str, str]:
        """Both, for a List-Unsubscribe header that carries the token in its mailto address too; with
        ``issue_id`` the token names the issue whose mail carries it."""
        token = self.unsubscribe_token(subscriber_id, newsletter_id, issue_id)
        return self._unsubscribe_base + token, token

    def test_unsubscribe_url_and_token(self, locale: str, nonce: str) -> tuple[str, str]:
        """A test send's stand-ins for :meth:`unsubscribe_url_and_token` (see :func:`test_reader_token`)."""
        token = test_reader_token(self._secret_key, locale, nonce)
        return self._unsubscribe_base + token, token

    def preferences_url(self, subscriber_id: int) -> str:
        payload = f"{int(subscriber_id)}{self._issued}"
        return f"{self._preferences_base}{payload}.{self._preferences(payload.encode())}"
