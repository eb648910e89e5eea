"""What the newsletter side asks of the donations side, as interfaces: a reader's supporter state and
donations (the preference center, the ask block, the goal counter, erasure), the money figures of the
statistics, and more demo data. ``payments`` registers its implementations when the app starts (through
``newsletter.api``); without them the newsletter works on its own: no supporter state, no money figures.

This module imports none of the newsletter's packages, so each of them may ask through it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from flask import Flask, current_app

_SUPPORTER_PROVIDER = "beitrag.supporter_provider"
_MONEY_REPORT = "beitrag.money_report"
_DEMO_LOADERS = "beitrag.demo_loaders"


class SupporterProvider(Protocol):
    """A reader's support, as the donations side knows it."""

    def state(self, session, subscriber) -> str: ...  # never, one_time, monthly, lapsed, failing

    def details(self, session, subscriber) -> dict[str, Any]: ...  # state, manage_url, donations count

    def export(self, session, subscriber) -> list[dict[str, Any]]: ...  # the reader's donations, as JSON

    def erase(self, session, subscriber) -> None: ...  # before the reader is deleted

    def state_query(self, now=None) -> Any: ...  # SELECT (email lower-cased, state) of every donor address

    def goal(self, session) -> dict[str, int] | None: ...  # {"count": running recurring, "goal": target}

    def statement_years(self, session, subscriber) -> list[int]: ...  # years with gifts, newest first

    def request_statement(self, session, subscriber, year: int, locale: str, *, name: str = "",
                          address: str = "") -> str: ...  # written, ... (a charity: tax receipts)

    def send_mails(self, session) -> int: ...  # queue the donor mails committed so far


class MoneyReport(Protocol):
    """The statistics' money figures: the admin dashboard with revenue, supporters, churn and conversion
    beside the readers and issues, and its tables for the CSV export."""

    currency: str
    table_names: tuple[str, ...]  # the CSV tables :meth:`tables` makes

    def figures(self, session, period, *, from_ledger: bool = False) -> dict[str, Any]: ...

    def tables(self, figures: dict[str, Any]) -> dict[str, tuple[list[str], list[list]]]: ...


def register_supporter_provider(app: Flask, provider: SupporterProvider) -> None:
    app.extensions[_SUPPORTER_PROVIDER] = provider


def register_money_report(app: Flask, report: MoneyReport) -> None:
    app.extensions[_MONEY_REPORT] = report


def register_demo_loader(app: Flask, loader: Callable[..., int]) -> None:
    """``loader(session, seed=..., now=...)`` adds another package's demo data after the readers and
    issues of ``demo load``; it returns how many records it made."""
    app.extensions.setdefault(_DEMO_LOADERS, []).append(loader)


def _provider() -> SupporterProvider | None:
    return current_app.extensions.get(_SUPPORTER_PROVIDER)


def money_report() -> MoneyReport | None:
    """The registered money figures, or None while no donations side is registered."""
    return current_app.extensions.get(_MONEY_REPORT)


def run_demo_loaders(session, *, seed: int, now: datetime) -> int:
    loaders = current_app.extensions.get(_DEMO_LOADERS, [])
    return sum(loader(session, seed=seed, now=now) for loader in loaders)


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


def supporter_erase(session, subscriber) -> None:
    provider = _provider()
    if provider is not None:
        provider.erase(session, subscriber)


SUPPORTER_STATES = ("never", "one_time", "monthly", "lapsed", "failing")


def supporter_state_query(now: datetime | None = None) -> Any:
    """Every donor address (lower-cased) with its supporter state, as a SQL SELECT of ``(email, state)``
    to join into a statement (addresses without a row never gave); None while no donations side is
    registered."""
    provider = _provider()
    return provider.state_query(now) if provider is not None else None


def supporter_goal(session) -> dict[str, int] | None:
    """The regular supporter counter for an issue's goal block; None without donations or without a goal."""
    provider = _provider()
    return provider.goal(session) if provider is not None else None


def supporter_statement_years(session, subscriber) -> list[int]:
    """The years the reader may ask a giving statement for (none without a donations side)."""
    provider = _provider()
    return provider.statement_years(session, subscriber) if provider is not None else []


def request_giving_statement(session, subscriber, year: int, locale: str, *, name: str = "",
                             address: str = "") -> str:  # fmt: skip
    """Write the reader's giving statement mail for ``year``; the caller commits, then calls
    :func:`send_supporter_mails`. ``written``, ``no_gifts`` or ``already_today`` (one a donor, year, day).
    A newsroom that is a charity sends its tax receipts instead, stating ``name`` and postal ``address``
    (``needs_address`` while it has none)."""
    provider = _provider()
    if provider is None:
        return "no_gifts"
    return provider.request_statement(session, subscriber, year, locale, name=name, address=address)


def send_supporter_mails(session) -> int:
    provider = _provider()
    return provider.send_mails(session) if provider is not None else 0
