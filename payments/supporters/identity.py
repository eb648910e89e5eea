"""Who gave: the donor behind a donation, made once per address however many first gifts arrive at once.

A donor is known by Stripe customer and by e-mail address (unique regardless of case). Two first gifts of a
new donor applied at the same moment both try to make the row: ``INSERT ... ON CONFLICT DO NOTHING`` on
the address's unique index lets one of them make it and the other one wait for that and then find it,
instead of failing on the index. The row is then locked and read afresh, so its link to the reader and its
customer are written from the current row, never from a copy read before another transaction changed it.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import dialect_insert, utcnow
from newsletter import api as newsletter_api
from payments.models import Donor


def _locked(session: Session, donor_id: int) -> Donor:
    return session.execute(
        select(Donor).where(Donor.id == donor_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()  # fmt: skip


def _insert_or_get(session: Session, email: str, locale: str) -> int:
    table = Donor.__table__
    statement = (
        dialect_insert(session, table)
        .values(email=email, locale=locale, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=[func.lower(table.c.email)])
    )
    session.execute(statement)
    return session.scalar(select(Donor.id).where(func.lower(Donor.email) == email.lower()))


def donor_for(session: Session, *, email: str | None, customer_id: str | None, locale: str) -> Donor | None:
    """The donor of this Stripe customer or, failing that, of this address (made if new), locked for the
    caller's transaction and linked to the reader with the same address. None without either."""
    email = (email or "").strip() or None
    donor_id = None
    if customer_id:
        donor_id = session.scalar(select(Donor.id).where(Donor.stripe_customer_id == customer_id))
    if donor_id is None and email:
        donor_id = _insert_or_get(session, email, locale)
    if donor_id is None:
        return None
    donor = attach_customer(session, donor_id, customer_id)
    if donor.subscriber_id is None:
        donor.subscriber_id = newsletter_api.find_subscriber_id(session, donor.email)
    return donor


def attach_customer(session: Session, donor_id: int, customer_id: str | None) -> Donor:
    """The donor, locked and current, with this Stripe customer when it has none yet and no other donor
    has it."""
    donor = _locked(session, donor_id)
    if customer_id and not donor.stripe_customer_id:
        taken = session.scalar(select(Donor.id).where(Donor.stripe_customer_id == customer_id))
        if taken is None:
            donor.stripe_customer_id = customer_id
    return donor
