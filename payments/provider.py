"""What the donations side provides to the newsletter side (``newsletter.ports``), registered when the app
starts: a reader's support (:class:`ReaderSupport`) and the statistics' money figures
(:class:`MoneyFigures`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from payments.models import DonationKind, DonationStatus, Donor
from payments.receipts import issuing
from payments.receipts.charity import charity_from_config
from payments.receipts.models import ReceiptAddress
from payments.reports import money, tables
from payments.supporters.donors import states_by_address
from payments.supporters.mails import portal_link, queue_unsent
from payments.supporters.statements import request_statement, statement_years
from payments.supporters.states import (
    _iso,
    donations_of_email,
    regular_count,
    state_of_donations,
    supporter_state,
)


class ReaderSupport:
    """The provider the newsletter side asks about one reader: supporter state,
    what the preference page shows, the donations in the reader's data export, and erasure."""

    def __init__(self, *, base_url: str, config: Mapping[str, Any] | None = None):
        self.base_url = base_url
        self.config = config or {}  # the app's settings (DONATION_GOAL_MONTHLY, STRIPE_SECRET_KEY)

    def goal(self, session: Session) -> dict[str, int] | None:
        """The goal block's numbers: running monthly and yearly donations against the goal; None while
        donations are not set up or no goal is set."""
        target = self.config.get("DONATION_GOAL_MONTHLY") or 0
        if target <= 0 or not self.config.get("STRIPE_SECRET_KEY"):
            return None
        return {"count": regular_count(session), "goal": target}

    def state(self, session: Session, subscriber) -> str:
        return supporter_state(session, subscriber)

    def details(self, session: Session, subscriber) -> dict:
        found = donations_of_email(session, subscriber.email)
        running = [
            d for d in found
            if d.kind.recurring and d.status is DonationStatus.ACTIVE
            and d.donor is not None and d.donor.stripe_customer_id
        ]  # fmt: skip
        details = {
            "state": state_of_donations(found),
            "yearly": bool(running) and running[-1].kind is DonationKind.YEARLY,
            "manage_url": portal_link(self.base_url, running[-1]) if running else None,
            "donate_url": f"{self.base_url}/spenden",
            "tax_receipts": charity_from_config(self.config) is not None,
        }
        donor = self._donor(session, subscriber)
        address = session.get(ReceiptAddress, donor.id) if donor is not None else None
        if address is not None:
            details |= {"receipt_name": address.name, "receipt_address": address.address}
        return details

    def _donor(self, session: Session, subscriber) -> Donor | None:
        address = subscriber.email.strip().lower()
        return session.scalar(select(Donor).where(func.lower(Donor.email) == address))

    def export(self, session: Session, subscriber) -> list[dict]:
        return [
            {
                "kind": d.kind.value, "amount_cents": d.amount_cents, "currency": d.currency,
                "fee_covered_cents": d.fee_covered_cents,
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
        return ZoneInfo(self.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Berlin")

    def statement_years(self, session: Session, subscriber) -> list[int]:
        """Years the reader can ask a giving statement for: those with a gift that counts, newest first."""
        years = set(statement_years(session, subscriber.email, self._zone()))
        donor = self._donor(session, subscriber)
        if donor is not None and charity_from_config(self.config) is not None:
            years |= issuing.receipt_years(session, donor)
        return sorted(years, reverse=True)

    def request_statement(self, session: Session, subscriber, year: int, locale: str, *,
                          name: str = "", address: str = "") -> str:  # fmt: skip
        """Write the reader's giving statement for ``year`` (the caller commits, then calls
        :meth:`send_mails`): ``written``, ``no_gifts`` or ``already_today``. A charity issues
        Zuwendungsbestätigungen instead (``payments.receipts``), with the ``name`` and ``address`` given
        (kept for later receipts): ``needs_address`` when there are none yet."""
        charity = charity_from_config(self.config)
        if charity is not None:
            donor = self._donor(session, subscriber)
            if donor is None:
                return "no_gifts"
            if name.strip() and address.strip():
                issuing.save_address(session, donor, name, address)
            return issuing.request_receipts(session, donor, year, charity, zone=self._zone(), locale=locale,
                                            today=issuing.year_today(self._zone()))  # fmt: skip
        return request_statement(
            session, subscriber.email, year, zone=self._zone(), locale=locale,
            note=self.config.get("GIVING_STATEMENT_NOTE") or "",
        )  # fmt: skip

    def send_mails(self, session: Session) -> int:
        """Queue the donor mails written and committed so far (a statement just asked for, among them), and
        commit that they are queued."""
        queued = queue_unsent(session)
        session.commit()
        return queued

    def state_query(self, now=None):
        """Every donor address with its supporter state, as a SELECT of ``(email, state)``."""
        return states_by_address(now)

    def erase(self, session: Session, subscriber) -> None:
        """The reader's public name and messages go, and so does the link to the reader and the name and
        postal address kept for future tax receipts. The payments stay (with the donor's address on them),
        and so do the tax receipts issued (with the name and address they state): donation receipts are
        bookkeeping records the law says to keep (§ 50 Abs. 7 EStDV, § 147 AO)."""
        for donation in donations_of_email(session, subscriber.email):
            donation.public_name = None
            donation.message = None
        for donor in session.scalars(
            select(Donor).where(func.lower(Donor.email) == subscriber.email.strip().lower())
        ):
            donor.subscriber_id = None
            issuing.forget_address(session, [donor.id])
        session.flush()


class MoneyFigures:
    """The statistics' money figures for the newsletter's statistics pages and staff API, in the newsroom's
    currency (``DONATION_CURRENCY``)."""

    table_names = tables.MONEY_TABLES

    def __init__(self, currency: str):
        self.currency = currency.lower()

    def figures(self, session: Session, period, *, from_ledger: bool = False) -> dict[str, Any]:
        return money.dashboard(session, period, currency=self.currency, from_ledger=from_ledger)

    def tables(self, figures: dict[str, Any]) -> dict[str, tuple[list[str], list[list]]]:
        return tables.money_tables(figures)
