"""Click counting for welcome mails (``CLICK_COUNTING``, as for issues, see ``sending.clicks``): the links
of each newsletter's welcome, counted per link and never per reader.

When a reader's welcome is sent with counting on, its links are numbered per newsletter
(:func:`register_links`, rows in ``welcome_links``): an address keeps its number for good, and an address
the welcome did not carry before (a new latest issue, an edited intro) gets the next one. Each registered
link in the HTML and the text becomes ``/l/w/<newsletter>/<link>/<signature>``, the signature an HMAC of
the newsletter, the link number and the address, under a purpose of its own, so no issue link's signature
opens a welcome link or the other way round. The address names no reader. Following it
(:func:`follow_link`) adds one in a single ``UPDATE ... SET clicks = clicks + 1`` and gives the stored
address, the only place the redirect goes.

Counted: the intro's links, the articles, the latest issue and the donate button. Not rewritten: the
reader's unsubscribe and settings links (and the newsroom's own preference pages), anything that is not
http(s) (``mailto:``). Editors' previews and test sends keep the plain addresses and count nothing."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import dialect_insert
from newsletter.mail.rendering import RenderedEmail
from newsletter.sending import clicks
from newsletter.sending.models import WelcomeLink

_OWN_PATHS = ("/unsubscribe", "/preferences", "/l/")
_TRIES = 3  # two sends numbering new addresses at the same moment: the loser reads the winner's numbers


def countable(url: str, base_url: str) -> bool:
    """Whether a welcome's link is counted: http(s), and not a reader's own link or a counting link."""
    if not url.startswith(("http://", "https://")) or "__BEITRAG_SLOT_" in url:
        return False
    return not (url.startswith(base_url) and url[len(base_url) :].startswith(_OWN_PATHS))


def signature(secret_key: str, newsletter_id: int, link_no: int, url: str) -> str:
    return clicks.signed(secret_key, "welcome-click", newsletter_id, link_no, url)


def click_url(base_url: str, secret_key: str, newsletter_id: int, link_no: int, url: str) -> str:
    return f"{base_url}/l/w/{newsletter_id}/{link_no}/{signature(secret_key, newsletter_id, link_no, url)}"


def link_numbers(session: Session, newsletter_id: int) -> dict[str, int]:
    """address -> link number of the newsletter's registered welcome links (the lowest, should a race have
    given one address two numbers)."""
    rows = session.execute(
        select(WelcomeLink.url, func.min(WelcomeLink.link_no))
        .where(WelcomeLink.newsletter_id == newsletter_id)
        .group_by(WelcomeLink.url)
    )
    return {url: int(link_no) for url, link_no in rows}


def register_links(session: Session, newsletter_id: int, urls: list[str]) -> dict[str, int]:
    """Number the addresses the newsletter's welcome has not carried before (the caller commits) and give
    address -> link number for all of ``urls`` that have one. Safe when two sends do it at once: a number
    taken meanwhile is left alone, and the address is tried again with the next free one."""
    numbers = link_numbers(session, newsletter_id)
    for _ in range(_TRIES):
        new = [url for url in urls if url not in numbers]
        if not new:
            break
        last = session.scalar(
            select(func.max(WelcomeLink.link_no)).where(WelcomeLink.newsletter_id == newsletter_id)
        )
        rows = [
            {"newsletter_id": newsletter_id, "link_no": n, "url": url, "clicks": 0}
            for n, url in enumerate(new, start=(last or 0) + 1)
        ]
        session.execute(dialect_insert(session, WelcomeLink).on_conflict_do_nothing(), rows)
        numbers = link_numbers(session, newsletter_id)
    return {url: numbers[url] for url in urls if url in numbers}


def count_links(
    session: Session, rendered: RenderedEmail, newsletter_id: int, *, base_url: str, secret_key: str
) -> RenderedEmail:
    """The reader's welcome with each countable link registered and replaced by its counting address."""
    numbers = register_links(session, newsletter_id, clicks.links_in(rendered, base_url, countable))
    if not numbers:
        return rendered

    def counted(url: str) -> str | None:
        link_no = numbers.get(url)
        if link_no is None or not countable(url, base_url):
            return None
        return click_url(base_url, secret_key, newsletter_id, link_no, url)

    return clicks.replace_links(rendered, counted)


def follow_link(
    session: Session, secret_key: str, newsletter_id: int, link_no: int, given: str, *, count: bool = True
) -> str | None:
    """A welcome's counting link followed (see ``clicks.follow``)."""
    def sign(url: str) -> str:
        return signature(secret_key, newsletter_id, link_no, url)

    return clicks.follow(session, WelcomeLink, WelcomeLink.newsletter_id, newsletter_id, link_no, given, sign,
                         count=count)  # fmt: skip


def link_clicks(session: Session, newsletter_id: int) -> list[tuple[str, int]]:
    """Clicks per link of the newsletter's welcome, in link order: ``[(url, clicks), ...]``."""
    rows = session.execute(
        select(WelcomeLink.url, WelcomeLink.clicks)
        .where(WelcomeLink.newsletter_id == newsletter_id)
        .order_by(WelcomeLink.link_no)
    )
    return [(url, int(n)) for url, n in rows]


def total_clicks(session: Session) -> dict[int, int]:
    """newsletter id -> all clicks on its welcome's links (newsletters without counted links absent)."""
    rows = session.execute(
        select(WelcomeLink.newsletter_id, func.sum(WelcomeLink.clicks)).group_by(WelcomeLink.newsletter_id)
    )
    return {newsletter_id: int(n or 0) for newsletter_id, n in rows}
