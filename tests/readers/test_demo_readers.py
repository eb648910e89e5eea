"""``demo load`` leaves readers in every state with what the reader flows would have recorded.
Bad inputs tried: none beyond tests/platform/test_cli.py's (a second load is refused there)."""

from __future__ import annotations

from sqlalchemy import func, select

from newsletter.readers import addresses
from newsletter.readers.models import ConsentBasis, Subscriber, SubscriberEvent, SubscriberStatus


def test_demo_readers_have_consent_history_and_suppressions(runner, db):
    assert runner.invoke(args=["demo", "load", "--subscribers", "600"]).exit_code == 0
    readers = db.session.scalars(select(Subscriber)).all()
    assert {r.status for r in readers} == set(SubscriberStatus)
    for reader in readers:
        if reader.status is SubscriberStatus.ACTIVE:
            assert reader.consent_basis is ConsentBasis.DOUBLE_OPT_IN and reader.consent_at is not None
        if reader.status is SubscriberStatus.PENDING:
            assert reader.consent_basis is None
        gone = reader.status in (
            SubscriberStatus.UNSUBSCRIBED,
            SubscriberStatus.BOUNCED,
            SubscriberStatus.COMPLAINED,
        )
        assert addresses.is_suppressed(db.session, reader.email) is gone, reader.status
    assert db.session.scalar(select(func.count()).select_from(SubscriberEvent)) >= 2 * len(readers)
    assert any(r.paused_until is not None for r in readers)
