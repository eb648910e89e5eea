"""Click counting (off by default, ``CLICK_COUNTING``): the links of a sent issue, counted per link.

When the send is prepared, every variant of the issue is rendered once and its links are numbered per
issue (:func:`register_links`, rows in ``issue_links``): the same address has the same number in every
variant. When a worker encodes a variant (once per variant, never per reader), :func:`rewrite_links`
replaces each registered link in the HTML and the text with ``/l/<issue>/<link>/<signature>``, where the
signature is an HMAC of the issue, the link number and the address. The address names no reader, so a
click is counted for the link, not for a person. Following it (:func:`follow_link`) adds one in a single
``UPDATE ... SET clicks = clicks + 1`` and gives the stored address, the only place the redirect goes.

Not rewritten: the reader's own links (unsubscribe and preferences, still slot tokens at this point), the
web version (``/archive/...``) and the newsroom's own unsubscribe and preference pages, anything that is
not http(s) (``mailto:``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import re
from collections.abc import Callable, Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db import dialect_insert
from newsletter.editorial.issues import VARIANTS, render_issue
from newsletter.editorial.models import Issue
from newsletter.mail.rendering import RenderedEmail
from newsletter.sending.models import IssueLink

_HREF = re.compile(r'href="([^"]*)"')
_TEXT_URL = re.compile(r"https?://[^\s<>\"]+")
_TRAILING = ".,;:!?)]'"
_SLOT_MARK = "__BEITRAG_SLOT_"
_OWN_PATHS = ("/unsubscribe", "/preferences", "/archive", "/l/")


def countable(url: str, base_url: str) -> bool:
    """Whether a link is counted: http(s), not a reader's own link, not the web version."""
    if not url.startswith(("http://", "https://")) or _SLOT_MARK in url:
        return False
    if url.startswith(base_url):
        path = url[len(base_url) :]
        if path.startswith(_OWN_PATHS):
            return False
    return True


def _split_text_url(match: str) -> tuple[str, str]:
    """A URL found in running text, without the punctuation that ends the sentence around it."""
    url = match.rstrip(_TRAILING)
    return url, match[len(url) :]


def links_in(
    rendered: RenderedEmail, base_url: str, counts: Callable[[str, str], bool] = countable
) -> list[str]:
    """The countable links of a rendered message, in order of first appearance (HTML, then text)."""
    found: dict[str, None] = {}
    for match in _HREF.finditer(rendered.html):
        url = html.unescape(match.group(1))
        if counts(url, base_url):
            found.setdefault(url)
    for match in _TEXT_URL.finditer(rendered.text):
        url, _ = _split_text_url(match.group(0))
        if counts(url, base_url):
            found.setdefault(url)
    return list(found)


def replace_links(rendered: RenderedEmail, target: Callable[[str], str | None]) -> RenderedEmail:
    """The message with each link (``href`` in the HTML, a bare http(s) address in the text) for which
    ``target`` gives an address replaced by that address; the others stay as they are."""

    def in_html(match: re.Match) -> str:
        found = target(html.unescape(match.group(1)))
        return match.group(0) if found is None else f'href="{found}"'

    def in_text(match: re.Match) -> str:
        url, rest = _split_text_url(match.group(0))
        found = target(url)
        return match.group(0) if found is None else found + rest

    html_part = _HREF.sub(in_html, rendered.html)
    return RenderedEmail(subject=rendered.subject, html=html_part, text=_TEXT_URL.sub(in_text, rendered.text))


def signed(secret_key: str, purpose: str, owner_id: int, link_no: int, url: str) -> str:
    """The HMAC of a counting link: ``purpose`` keeps one kind's signatures from opening another's."""
    message = f"{purpose}\x00{owner_id}\x00{link_no}\x00{url}".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def signature(secret_key: str, issue_id: int, link_no: int, url: str) -> str:
    return signed(secret_key, "click", issue_id, link_no, url)


def click_url(base_url: str, secret_key: str, issue_id: int, link_no: int, url: str) -> str:
    return f"{base_url}/l/{issue_id}/{link_no}/{signature(secret_key, issue_id, link_no, url)}"


def register_links(session: Session, issue: Issue, *, base_url: str) -> int:
    """Number the links of every variant of the issue (the caller commits). Safe to run again: the
    numbering is a pure function of the issue's content, and rows that exist stay as they are. Returns the
    number of links the issue has."""
    urls: dict[str, None] = {}
    # The English version may link elsewhere in its intro; German first, so German numbers stay as they were.
    locales = ("de", "en") if issue.intro_en else ("de",)
    for locale in locales:
        for variant in VARIANTS:
            for url in links_in(render_issue(issue, variant, base_url=base_url, locale=locale), base_url):
                urls.setdefault(url)
    known = dict(
        session.execute(select(IssueLink.link_no, IssueLink.url).where(IssueLink.issue_id == issue.id)).all()
    )
    new = [
        {"issue_id": issue.id, "link_no": n, "url": url, "clicks": 0}
        for n, url in enumerate(urls, start=1)
        if n not in known
    ]
    if new:
        session.execute(dialect_insert(session, IssueLink).on_conflict_do_nothing(), new)
    return len(urls)


def link_numbers(session: Session, issue_id: int) -> dict[str, int]:
    """address -> link number of the issue's registered links (empty when clicks are not counted)."""
    rows = session.execute(select(IssueLink.url, IssueLink.link_no).where(IssueLink.issue_id == issue_id))
    return {url: link_no for url, link_no in rows}


def rewrite_links(
    rendered: RenderedEmail, numbers: dict[str, int], *, issue_id: int, base_url: str, secret_key: str
) -> RenderedEmail:
    """The rendered variant with each registered link replaced by its counting address. Links that are
    not registered (and every link that is not countable) stay as they are."""
    if not numbers:
        return rendered

    def counted(url: str) -> str | None:
        link_no = numbers.get(url)
        if link_no is None or not countable(url, base_url):
            return None
        return click_url(base_url, secret_key, issue_id, link_no, url)

    return replace_links(rendered, counted)


def follow(session: Session, model, owner, owner_id: int, link_no: int, given: str,
           sign: Callable[[str], str], *, count: bool = True) -> str | None:  # fmt: skip
    """The stored address of a genuine counting link (``model``'s row of ``owner`` = ``owner_id`` and
    ``link_no``, whose signature ``sign(url)`` is ``given``), counted once in one atomic UPDATE (the
    caller commits); None for a link that is unknown, whose signature does not match or whose address is
    not http(s), and nothing is counted then."""
    mine = (owner == owner_id, model.link_no == link_no)
    url = session.scalar(select(model.url).where(*mine))
    if url is None or not hmac.compare_digest(given, sign(url)) or not url.startswith(("http://", "https://")):
        return None
    if count:
        session.execute(
            update(model).where(*mine).values(clicks=model.clicks + 1)
            .execution_options(synchronize_session=False)
        )  # fmt: skip
    return url


def follow_link(
    session: Session, secret_key: str, issue_id: int, link_no: int, given: str, *, count: bool = True
) -> str | None:
    """An issue's counting link followed (see :func:`follow`)."""
    return follow(session, IssueLink, IssueLink.issue_id, issue_id, link_no, given,
                  lambda url: signature(secret_key, issue_id, link_no, url), count=count)  # fmt: skip


def link_clicks(session: Session, issue_ids: Iterable[int]) -> dict[int, list[tuple[str, int]]]:
    """Clicks per link of each issue: ``{issue_id: [(url, clicks), ...]}`` in link order; issues without
    counted links are absent."""
    ids = list(issue_ids)
    result: dict[int, list[tuple[str, int]]] = {}
    if not ids:
        return result
    rows = session.execute(
        select(IssueLink.issue_id, IssueLink.url, IssueLink.clicks)
        .where(IssueLink.issue_id.in_(ids))
        .order_by(IssueLink.issue_id, IssueLink.link_no)
    )
    for issue_id, url, clicks in rows:
        result.setdefault(issue_id, []).append((url, clicks))
    return result
