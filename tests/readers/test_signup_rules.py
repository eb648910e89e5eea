"""Every sign-up rule, one parametrized test, the same expected answer on both paths of ``signup.subscribe``:
the ORM path (SQLite, the embedded default) and the one-statement SQL path (PostgreSQL). CI runs the suite
on both databases, so each case below is held against each path.

Cases tried: a new address; an active reader (nothing changes, nothing is mailed); a pending reader with
another choice of newsletters and another language (subscriptions replaced, language kept from the new
sign-up, first source kept); an unsubscribed and suppressed reader (status and suppression stay until the
reader confirms); a bounced reader; the daily cap of confirmation mails (held back, told in the history).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from db import utcnow
from newsletter.readers import addresses, signup
from newsletter.readers.models import (
    ReaderMail,
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    SuppressionReason,
)
from tests.readers.factories import make_reader

ADDRESS = "regel@example.org"


@dataclass(frozen=True)
class Case:
    """A reader as found (``status`` None: no such address yet), the sign-up, and what must follow."""

    status: SubscriberStatus | None
    action: str
    mailed: bool
    events: list[str]  # history lines the sign-up adds, in order
    status_after: SubscriberStatus | None = None  # None: as before (pending for a new address)
    newsletters_before: tuple[str, ...] = ()
    newsletters_after: tuple[str, ...] = ("ki-news",)
    confirmations_today: int = 0
    suppressed: bool = False
    locale_before: str = "de"
    source_before: str | None = None
    expect_source: str | None = "formular"


CASES = {
    "new address": Case(None, "created", True, ["subscribed", "confirmation_sent"],
                        status_after=SubscriberStatus.PENDING),
    "active reader: nothing changes, nothing is mailed": Case(
        SubscriberStatus.ACTIVE, "already_active", False, [], newsletters_before=("wochenrueckblick",),
        newsletters_after=("wochenrueckblick",), locale_before="de", expect_source=None),
    "pending reader: choice replaced, first source kept": Case(
        SubscriberStatus.PENDING, "renewed", True, ["subscribed", "confirmation_sent"],
        newsletters_before=("wochenrueckblick",), source_before="messe", expect_source="messe"),
    "unsubscribed and suppressed: both stay until confirmed": Case(
        SubscriberStatus.UNSUBSCRIBED, "renewed", True, ["subscribed", "confirmation_sent"], suppressed=True),
    "bounced reader": Case(SubscriberStatus.BOUNCED, "renewed", True, ["subscribed", "confirmation_sent"],
                           suppressed=True),
    "daily cap reached: the mail is held back": Case(
        SubscriberStatus.PENDING, "renewed", False, ["subscribed", "mail_held_back"], confirmations_today=3),
}  # fmt: skip


def _arrange(db, case: Case, lists) -> int | None:
    if case.status is None:
        return None
    reader = make_reader(
        db, ADDRESS, status=case.status, locale=case.locale_before, source=case.source_before,
        newsletters=[lists[slug] for slug in case.newsletters_before],
    )  # fmt: skip
    for _ in range(case.confirmations_today):
        earlier = utcnow() - timedelta(hours=1)
        db.session.add(ReaderMail(subscriber_id=reader.id, kind="confirm", created_at=earlier))
    if case.suppressed:
        addresses.suppress(db.session, ADDRESS, SuppressionReason.UNSUBSCRIBED)
    db.session.commit()
    return reader.id


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_sign_up_follows_every_rule_on_this_database(db, newsletters, case):
    known_id = _arrange(db, case, newsletters)
    mails_before = db.session.scalar(select(func.count()).select_from(ReaderMail))
    outcome = signup.subscribe(
        db.session, "Regel@example.org", newsletters=[newsletters["ki-news"]], locale="en", source="formular",
        form="test",
    )  # fmt: skip
    db.session.commit()  # the ORM path leaves it to the caller; the SQL path has committed already
    db.session.expire_all()

    assert (outcome.action, outcome.mailed) == (case.action, case.mailed)
    reader = db.session.scalar(select(Subscriber).where(func.lower(Subscriber.email) == ADDRESS))  # any case
    assert reader is not None and outcome.subscriber_id == reader.id
    if known_id is not None:
        assert reader.id == known_id  # the known reader, never a second row
    assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 1
    assert reader.status is (case.status_after or case.status)
    assert sorted(s.newsletter.slug for s in reader.subscriptions) == sorted(case.newsletters_after)
    expected_locale = case.locale_before if case.status is SubscriberStatus.ACTIVE else "en"
    assert reader.locale == expected_locale
    assert reader.source == case.expect_source
    history = select(SubscriberEvent.kind).where(SubscriberEvent.subscriber_id == reader.id)
    kinds = list(db.session.scalars(history.order_by(SubscriberEvent.id)))
    assert kinds == case.events
    mails = db.session.scalar(select(func.count()).select_from(ReaderMail))
    assert mails - mails_before == (1 if case.mailed else 0)
    assert addresses.is_suppressed(db.session, ADDRESS) is case.suppressed
    if "subscribed" in kinds:
        told = db.session.scalar(select(SubscriberEvent.detail).where(SubscriberEvent.kind == "subscribed"))
        assert told["newsletters"] == ["ki-news"] and told["source"] == "formular" and told["form"] == "test"
