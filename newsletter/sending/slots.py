"""What a worker fills per reader: the issue's variant encoded once per process (the skeleton), and the
per-recipient slot values."""

from __future__ import annotations

import hmac
import secrets
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.orm import object_session

from newsletter.editorial import issues
from newsletter.editorial.models import Issue
from newsletter.mail import mime, rendering, signing
from newsletter.readers import links, sharing
from newsletter.sending import clicks

_skeletons: dict[tuple[int, str, str, Any], mime.Skeleton] = {}


def skeleton_for(
    issue: Issue, variant: str, base_url: str, secret_key: str | None = None, *, locale: str = "de"
) -> mime.Skeleton:
    """The issue's variant in the reader's language, encoded once per worker process (and again only when
    the issue changed): one skeleton per ask variant and language. When the send counted the issue's
    links (``issue_links``), they are rewritten here, once per skeleton."""
    locale = issues.reader_locale(locale)
    key = (issue.id, variant, locale, issue.updated_at)
    skeleton = _skeletons.get(key)
    if skeleton is None:
        rendered = issues.render_issue(
            issue, variant, base_url=base_url, locale=locale, secret_key=secret_key
        )
        session = object_session(issue)
        if secret_key and session is not None:
            numbers = clicks.link_numbers(session, issue.id)
            rendered = clicks.rewrite_links(
                rendered, numbers, issue_id=issue.id, base_url=base_url, secret_key=secret_key
            )
        first = issue.newsletters[0] if issue.newsletters else None
        list_name = first.name if first is not None else "Newsletter"
        list_key = first.slug if first is not None else "newsletter"
        domain = mime.sender_domain(issue.sender_address)
        skeleton = mime.build_skeleton(
            rendered, sender_name=issue.sender_name, sender_address=issue.sender_address,
            list_id=f"{list_name} <{list_key}.{domain}>", feedback_id=f"{issue.id}:{list_key}:beitrag",
            slot_tokens=rendering.SLOTS,
        )  # fmt: skip
        if len(_skeletons) > 64:
            _skeletons.clear()
        _skeletons[key] = skeleton
    return skeleton


TEST_MARKER = b"X-Beitrag-Test: 1\r\n"


def reader_message(
    skeleton: mime.Skeleton, values: dict[str, str], dkim: signing.DKIMKey | None, *, test: bool = False
) -> bytes:
    """One reader's message bytes: the skeleton filled with ``values`` (:class:`RecipientSlots`) and
    DKIM-signed when a key is set. A test send's copy is the same message with one more header,
    ``X-Beitrag-Test: 1``, put before signing so that the signature covers what arrives. Raises
    :class:`mime.HeaderInjection` for a value that would break the message."""
    if dkim is not None and not test:
        return skeleton.assemble_signed(values, dkim)  # the skeleton's own signer: the send rate
    message = skeleton.assemble(values)
    if test:
        message = TEST_MARKER + message
    if dkim is not None:
        message = signing.sign(message, dkim)
    return message


@lru_cache(maxsize=4096)
def _ascii_domain(domain: str) -> str | None:
    """IDNA form of a domain, once per domain per process (readers share a handful of domains)."""
    if domain.isascii():
        return domain
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def header_address(email: str) -> str | None:
    """The address for the To header: the domain IDNA-encoded; None when the local part is not ASCII
    (that needs SMTPUTF8, which the relay may not offer)."""
    local, _, domain = email.rpartition("@")
    ascii_domain = _ascii_domain(domain)
    if not local.isascii() or ascii_domain is None:
        return None
    return f"{local}@{ascii_domain}"


class RecipientSlots:
    """The per-recipient slot values of one chunk of a send (what :meth:`mime.Skeleton.assemble` takes):
    the reader's two signed links, List-Unsubscribe (https and mailto), To, Date and Message-ID. The
    reader's unsubscribe token names the issue (``links.unsubscribe_token``), in the links and in the
    mailto's subject, which the mailbox poller reads (``sending.unsubscribe_mails``).

    Everything that does not change from reader to reader is made once: the link keys and addresses,
    the Date header (again only when the second changes, so a chunk slowed by the rate limit keeps a
    true Date) and the Message-ID's installation part, ``<issue.row.tag@domain>``, where the tag is keyed
    with the installation's secret: one reader's copy of one issue has the same Message-ID however often
    it goes out (a newsroom that resends uncertain messages lets receivers fold the copies), and no two
    installations' ids collide."""

    __slots__ = (
        "_base_url", "_date", "_issue_id", "_links", "_mailto", "_message_id", "_second", "_secret_key",
    )  # fmt: skip

    def __init__(
        self, *, base_url: str, secret_key: str, unsubscribe_mailbox: str | None, issue_id: int, domain: str
    ):
        self._links = links.ReaderLinks(base_url, secret_key)
        self._base_url, self._secret_key = base_url, secret_key
        self._issue_id = int(issue_id)  # in the reader's token: a leave from this mail counts for the issue
        # No mailbox read for opt-outs by mail: the header names the one-click link only.
        self._mailto = None
        if unsubscribe_mailbox:
            self._mailto = f">, <mailto:{unsubscribe_mailbox}?subject=unsubscribe-"
        tag = hmac.new(secret_key.encode(), f"message-id:{int(issue_id)}".encode(), "sha256").hexdigest()[:12]
        self._message_id = (f"<{int(issue_id)}.", f".{tag}@{domain}>")
        self._second = -1
        self._date = ""

    def date(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second = second
            self._date = format_datetime(datetime.fromtimestamp(second, UTC))
        return self._date

    def __call__(self, to: str, subscriber_id: int, newsletter_id: int | None, row_id: int) -> dict[str, str]:
        unsubscribe, token = self._links.unsubscribe_url_and_token(
            subscriber_id, newsletter_id, self._issue_id
        )
        share = f"{self._base_url}/share/{sharing.share_code(self._secret_key, subscriber_id)}"
        return self._values(to, str(int(row_id)), unsubscribe, token, share)

    def for_test_reader(self, to: str, locale: str) -> dict[str, str]:
        """A test send's values for ``to``: the same shape as a reader's, with a test token in place of the
        reader's (the pages behind it change nothing, readers/views.py) and a Message-ID of its own."""
        nonce = secrets.token_hex(8)
        unsubscribe, token = self._links.test_unsubscribe_url_and_token(locale, nonce)
        # A test names no reader: its share link is the plain sign-up page.
        return self._values(to, f"test{nonce}", unsubscribe, token, f"{self._base_url}/subscribe")

    def _values(self, to: str, row: str, unsubscribe: str, token: str, share: str) -> dict[str, str]:
        prefix, suffix = self._message_id
        return {
            "to": to,
            "message_id": f"{prefix}{row}{suffix}",
            "date": self.date(),
            "list_unsubscribe": f"<{unsubscribe}{self._mailto}{token}>"
            if self._mailto
            else f"<{unsubscribe}>",
            "unsubscribe_url": unsubscribe,
            # Issues get forwarded: their settings link asks for a mail to the reader instead of opening
            # the preference center (readers/views.py, unsubscribe_settings).
            "preferences_url": f"{unsubscribe}/settings",
            "share_url": share,
        }
