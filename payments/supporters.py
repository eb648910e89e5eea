"""A reader's supporter state, derived from their donations (never stored, so it cannot go stale):

* ``failing``: a monthly donation is running but its latest payment failed,
* ``monthly``: a monthly donation is running,
* ``one_time``: gave (and was not refunded in full) in the last 12 months,
* ``lapsed``: gave before, but none of the above,
* ``never``: never gave.

A donor belongs to the reader with the same address, regardless of case.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import utcnow

from .models import Donation, DonationKind, DonationStatus, Donor, PaymentStatus

STATES = ("never", "one_time", "monthly", "lapsed", "failing")
_FAILING_SUBSCRIPTION = ("past_due", "unpaid")


def _is_failing(donation: Donation) -> bool:
    if donation.subscription_status in _FAILING_SUBSCRIPTION:
        return True
    failed = [p.stripe_created or 0 for p in donation.payments if p.status is PaymentStatus.FAILED]
    paid = [
        p.stripe_created or 0
        for p in donation.payments
        if p.status in (PaymentStatus.PAID, PaymentStatus.REFUNDED)
    ]
    return bool(failed) and max(failed) > max(paid, default=-1)


def state_of_donations(donations: list[Donation], *, now=None) -> str:
    now = now or utcnow()
    running = [
        d for d in donations
        if d.kind is DonationKind.MONTHLY and d.status in (DonationStatus.ACTIVE, DonationStatus.PENDING)
    ]  # fmt: skip
    if any(_is_failing(d) for d in running):
        return "failing"
    if any(d.status is DonationStatus.ACTIVE for d in running):
        return "monthly"
    paid = [
        p for d in donations for p in d.payments
        if p.paid_at is not None and p.refunded_cents < p.amount_cents
    ]  # fmt: skip
    if any(p.paid_at >= now - timedelta(days=365) for p in paid):
        return "one_time"
    if paid or any(d.status is DonationStatus.ENDED for d in donations):
        return "lapsed"
    return "never"


def donations_of_email(session: Session, email: str) -> list[Donation]:
    return list(
        session.scalars(
            select(Donation).join(Donor, Donation.donor_id == Donor.id)
            .where(func.lower(Donor.email) == email.strip().lower()).order_by(Donation.id)
        )
    )  # fmt: skip


def supporter_state(session: Session, subscriber) -> str:
    """The state of a reader (a ``Subscriber``): the provider ``app.py`` registers for the newsletter side."""
    return state_of_donations(donations_of_email(session, subscriber.email))


def wall(session: Session, *, limit: int = 100) -> list[str]:
    """Names of those who chose to be shown, newest gift first; refunded gifts are left out."""
    rows = session.execute(
        select(Donation.public_name, func.max(Donation.id).label("last"))
        .where(Donation.public_name.is_not(None),
               Donation.status.in_((DonationStatus.PAID, DonationStatus.ACTIVE, DonationStatus.ENDED)))
        .group_by(Donation.public_name).order_by(func.max(Donation.id).desc()).limit(limit)
    ).all()  # fmt: skip
    return [name for name, _ in rows]


def monthly_count(session: Session) -> int:
    """Running monthly donations: the goal counter's number."""
    return session.scalar(
        select(func.count()).select_from(Donation)
        .where(Donation.kind == DonationKind.MONTHLY, Donation.status == DonationStatus.ACTIVE)
    ) or 0  # fmt: skip


def _iso(value) -> str | None:
    return value.isoformat() if value else None


class ReaderSupport:
    """The provider the newsletter side asks about one reader (registered in ``app.py``): supporter state,
    what the preference page shows, the donations in the reader's data export, and erasure."""

    def __init__(self, *, base_url: str, config: Mapping[str, Any] | None = None):
        self.base_url = base_url
        self.config = config or {}  # the app's settings (DONATION_GOAL_MONTHLY, STRIPE_SECRET_KEY)

    def goal(self, session: Session) -> dict[str, int] | None:
        """The goal block's numbers: running monthly donations against the goal; None while donations are
        not set up or no goal is set."""
        target = self.config.get("DONATION_GOAL_MONTHLY") or 0
        if target <= 0 or not self.config.get("STRIPE_SECRET_KEY"):
            return None
        return {"count": monthly_count(session), "goal": target}

    def state(self, session: Session, subscriber) -> str:
        return supporter_state(session, subscriber)

    def details(self, session: Session, subscriber) -> dict:
        from .donor_mails import portal_link

        found = donations_of_email(session, subscriber.email)
        running = [
            d for d in found
            if d.kind is DonationKind.MONTHLY and d.status is DonationStatus.ACTIVE
            and d.donor is not None and d.donor.stripe_customer_id
        ]  # fmt: skip
        return {
            "state": state_of_donations(found),
            "manage_url": portal_link(self.base_url, running[-1]) if running else None,
            "donate_url": f"{self.base_url}/spenden",
        }

    def export(self, session: Session, subscriber) -> list[dict]:
        return [
            {
                "kind": d.kind.value, "amount_cents": d.amount_cents, "currency": d.currency,
                "status": d.status.value, "created_at": _iso(d.created_at), "ended_at": _iso(d.ended_at),
                "message": d.message, "public_name": d.public_name,
                "payments": [
                    {"amount_cents": p.amount_cents, "status": p.status.value, "paid_at": _iso(p.paid_at),
                     "refunded_cents": p.refunded_cents}
                    for p in d.payments
                ],
            }
            for d in donations_of_email(session, subscriber.email)
        ]  # fmt: skip

    def _zone(self):
        from zoneinfo import ZoneInfo

        return ZoneInfo(self.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Berlin")

    def statement_years(self, session: Session, subscriber) -> list[int]:
        """Years the reader can ask a giving statement for: those with a gift that counts, newest first."""
        from .statements import statement_years

        return statement_years(session, subscriber.email, self._zone())

    def request_statement(self, session: Session, subscriber, year: int, locale: str) -> str:
        """Write the reader's giving statement for ``year`` (the caller commits, then calls
        :meth:`send_mails`): ``written``, ``no_gifts`` or ``already_today``."""
        from .statements import request_statement

        return request_statement(
            session, subscriber.email, year, zone=self._zone(), locale=locale,
            note=self.config.get("GIVING_STATEMENT_NOTE") or "",
        )  # fmt: skip

    def send_mails(self, session: Session) -> int:
        """Queue the donor mails written and committed so far (a statement just asked for, among them)."""
        from .donor_mails import queue_unsent

        return queue_unsent(session)

    def donor_states(self, session: Session) -> dict[str, str]:
        by_email: dict[str, list[Donation]] = {}
        rows = session.execute(
            select(func.lower(Donor.email), Donation).join(Donation, Donation.donor_id == Donor.id)
        ).all()
        for email, donation in rows:
            by_email.setdefault(email, []).append(donation)
        states = {email: state_of_donations(found) for email, found in by_email.items()}
        return {email: state for email, state in states.items() if state != "never"}

    def erase(self, session: Session, subscriber) -> None:
        """The reader's public name and messages go, and so does the link to the reader. The payments stay
        (with the donor's address on them): donation receipts are bookkeeping records the law says to keep."""
        for donation in donations_of_email(session, subscriber.email):
            donation.public_name = None
            donation.message = None
        for donor in session.scalars(
            select(Donor).where(func.lower(Donor.email) == subscriber.email.strip().lower())
        ):
            donor.subscriber_id = None
        session.flush()
