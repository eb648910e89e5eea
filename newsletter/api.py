"""The one surface other packages (``payments``) may import from ``newsletter``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from rq import Retry

from .access import guard_blueprint as guard_blueprint  # re-exported for the donations side
from .models import StaffRole as StaffRole
from .queues import get_queue
from .tokens import TokenError as TokenError

# Temporary SMTP failures: try again after 10 s, 1 min, 5 min, 30 min, 2 h.
TRANSACTIONAL_RETRY = Retry(max=5, interval=[10, 60, 300, 1800, 7200])


def send_transactional_mail(template: str, to: str, context: dict[str, Any], locale: str = "de", *,
                            job_id: str | None = None):  # fmt: skip
    """Queue one message for one reader on the high-priority ``transactional`` queue.

    ``context`` holds plain values (it is stored in Redis). ``job_id`` names the job, so a caller can
    find it again; it does not by itself keep a second call from sending a second message.
    """
    from . import jobs

    return get_queue("transactional").enqueue(
        jobs.send_transactional_mail, template, to, context, locale,
        job_id=job_id, retry=TRANSACTIONAL_RETRY, result_ttl=86400, failure_ttl=7 * 86400,
    )  # fmt: skip


def send_transactional_mails(messages: list[tuple[str, str, dict[str, Any], str]]) -> list:
    """Queue many ``(template, to, context, locale)`` messages in one Redis round trip (the reader-mail
    sweeper); each is a job like :func:`send_transactional_mail`'s."""
    from . import jobs

    if not messages:
        return []
    queue = get_queue("transactional")
    data = [
        queue.prepare_data(
            jobs.send_transactional_mail,
            args=message,
            retry=TRANSACTIONAL_RETRY,
            result_ttl=86400,
            failure_ttl=7 * 86400,
        )
        for message in messages
    ]
    with queue.connection.pipeline() as pipe:
        enqueued = queue.enqueue_many(data, pipeline=pipe)
        pipe.execute()
    return enqueued


# -- for the donations side (issue 6) ----------------------------------------------------------------


def make_token(purpose: str, payload: Any) -> str:
    """A signed, timed token for a link in a mail (see ``newsletter.tokens``)."""
    from . import tokens

    return tokens.make_token(purpose, payload)


def read_token(purpose: str, token: str, *, max_age: int) -> Any:
    """The payload of a valid token; raises :class:`TokenError` (``expired`` tells old from forged)."""
    from . import tokens

    return tokens.read_token(purpose, token, max_age=max_age)


def find_subscriber_id(session, email: str) -> int | None:
    """The id of the reader with this address (regardless of case), or None."""
    from .subscribers import find_subscriber

    subscriber = find_subscriber(session, email)
    return subscriber.id if subscriber is not None else None


def set_first_gifts(session, first_gifts: dict[int, datetime | None]) -> None:
    """Record when each of these readers first gave (None: not, or no longer, linked to a gift), as the
    donations side computed it, in the caller's transaction (see ``Subscriber.first_gift_at``)."""
    from sqlalchemy import bindparam, update

    from .models import Subscriber

    if not first_gifts:
        return
    table = Subscriber.__table__
    session.connection().execute(
        update(table).where(table.c.id == bindparam("reader")).values(first_gift_at=bindparam("at")),
        [{"reader": reader, "at": at} for reader, at in sorted(first_gifts.items())],
    )


def issue_exists(session, issue_id: int) -> bool:
    from .models import Issue

    return session.get(Issue, issue_id) is not None


_SUPPORTER_PROVIDER = "beitrag.supporter_provider"


class SupporterProvider(Protocol):
    """What the newsletter side asks of the donations side about one reader (``app.py`` registers it)."""

    def state(self, session, subscriber) -> str: ...  # never, one_time, monthly, lapsed, failing

    def details(self, session, subscriber) -> dict[str, Any]: ...  # state, manage_url, donations count

    def export(self, session, subscriber) -> list[dict[str, Any]]: ...  # the reader's donations, as JSON

    def erase(self, session, subscriber) -> None: ...  # before the reader is deleted

    def donor_states(self, session) -> dict[str, str]: ...  # lower-cased address -> state, donors only

    def goal(self, session) -> dict[str, int] | None: ...  # {"count": running monthly, "goal": target}

    def statement_years(self, session, subscriber) -> list[int]: ...  # years with gifts, newest first

    def request_statement(self, session, subscriber, year: int, locale: str) -> str: ...  # written, ...

    def send_mails(self, session) -> int: ...  # queue the donor mails committed so far


def register_supporter_provider(app, provider: SupporterProvider) -> None:
    app.extensions[_SUPPORTER_PROVIDER] = provider


def _provider() -> SupporterProvider | None:
    from flask import current_app

    return current_app.extensions.get(_SUPPORTER_PROVIDER)


def supporter_state(session, subscriber) -> str | None:
    """The reader's supporter state, or None while no donations side is registered."""
    provider = _provider()
    return provider.state(session, subscriber) if provider is not None else None


def supporter_details(session, subscriber) -> dict[str, Any] | None:
    provider = _provider()
    return provider.details(session, subscriber) if provider is not None else None


def supporter_export(session, subscriber) -> list[dict[str, Any]]:
    provider = _provider()
    return provider.export(session, subscriber) if provider is not None else []


_DEMO_LOADERS = "beitrag.demo_loaders"


def register_demo_loader(app, loader: Callable[..., int]) -> None:
    """``loader(session, seed=..., now=...)`` adds another package's demo data after the readers and
    issues of ``demo load``; it returns how many records it made."""
    app.extensions.setdefault(_DEMO_LOADERS, []).append(loader)


def run_demo_loaders(session, *, seed: int, now) -> int:
    from flask import current_app

    loaders = current_app.extensions.get(_DEMO_LOADERS, [])
    return sum(loader(session, seed=seed, now=now) for loader in loaders)


def demo_readers(session) -> list[tuple[int, str, str]]:
    """``(id, email, locale)`` of the active readers, by id: for demo data of other packages."""
    from sqlalchemy import select

    from .models import Subscriber, SubscriberStatus

    rows = session.execute(
        select(Subscriber.id, Subscriber.email, Subscriber.locale)
        .where(Subscriber.status == SubscriberStatus.ACTIVE)
        .order_by(Subscriber.id)
    )
    return [tuple(row) for row in rows]


def sent_issue_ids(session) -> list[int]:
    from sqlalchemy import select

    from .models import Issue, IssueState

    return list(session.scalars(select(Issue.id).where(Issue.state == IssueState.SENT).order_by(Issue.id)))


def donor_states(session) -> dict[str, str]:
    """Supporter state by lower-cased address, for every donor (the send path picks ask variants by it)."""
    provider = _provider()
    return provider.donor_states(session) if provider is not None else {}


def supporter_erase(session, subscriber) -> None:
    provider = _provider()
    if provider is not None:
        provider.erase(session, subscriber)


def supporter_goal(session) -> dict[str, int] | None:
    """The monthly supporter counter for an issue's goal block; None without donations or without a goal."""
    provider = _provider()
    return provider.goal(session) if provider is not None else None


def link_clicks(session, issue_ids) -> dict[int, list[tuple[str, int]]]:
    """Clicks per link of each issue, ``{issue_id: [(url, clicks), ...]}`` (click counting on; see
    ``newsletter.clicks``). Issues sent without counting are absent."""
    from .clicks import link_clicks as _link_clicks

    return _link_clicks(session, issue_ids)


def supporter_statement_years(session, subscriber) -> list[int]:
    """The years the reader may ask a giving statement for (none without a donations side)."""
    provider = _provider()
    return provider.statement_years(session, subscriber) if provider is not None else []


def request_giving_statement(session, subscriber, year: int, locale: str) -> str:
    """Write the reader's giving statement mail for ``year``; the caller commits, then calls
    :func:`send_supporter_mails`. ``written``, ``no_gifts`` or ``already_today`` (one a donor, year, day)."""
    provider = _provider()
    if provider is None:
        return "no_gifts"
    return provider.request_statement(session, subscriber, year, locale)


def send_supporter_mails(session) -> int:
    provider = _provider()
    return provider.send_mails(session) if provider is not None else 0


# -- for the statistics (issue 7) ---------------------------------------------------------------------

from .access import requires_role as requires_role  # noqa: E402
from .periods import PRESETS as PRESETS  # noqa: E402
from .periods import Period as Period  # noqa: E402
from .periods import PeriodError as PeriodError  # noqa: E402
from .periods import edge_index as edge_index  # noqa: E402
from .periods import parse_period as parse_period  # noqa: E402
from .stats import issue_recipients as issue_recipients  # noqa: E402
from .stats import issue_rows as issue_rows  # noqa: E402
from .stats import reader_figures as reader_figures  # noqa: E402
from .stats import readers_by_newsletter as readers_by_newsletter  # noqa: E402
from .stats import readers_by_source as readers_by_source  # noqa: E402
from .stats import subscriber_months as subscriber_months  # noqa: E402
from .stats import subscriber_totals as subscriber_totals  # noqa: E402


def csv_cell(value: Any) -> str:
    """A CSV cell a spreadsheet will not run as a formula (as the subscriber export writes them)."""
    from .imports import neutralize

    return neutralize(value)


def staff_for_api_token(session, token: str):
    """The active staff user a bearer token belongs to, or None (unknown, revoked, user deactivated)."""
    from .accounts import staff_for_api_token as lookup

    return lookup(session, token)
