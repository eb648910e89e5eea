"""The records behind every reader: address rules, the suppression list, leaving, erasure.
Bad inputs tried: CR/LF and NUL in addresses, 300 characters, no @, quoted local parts, empty; IDN
domains are accepted and normalised."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from newsletter.readers import addresses, errors, subscribers
from newsletter.readers.models import (
    Subscriber,
    SubscriberEvent,
    SubscriberStatus,
    Subscription,
    Suppression,
    SuppressionReason,
)
from tests.readers.factories import make_newsletter, make_reader


@pytest.mark.parametrize(
    "raw",
    [
        "leser@example.org\r\nBcc: opfer@example.org",
        "leser@example.org\n",
        "leser\0@example.org",
        "a" * 300 + "@example.org",
        "no-at-sign.example.org",
        '"quoted local"@example.org',
        "",
        "   ",
    ],
)
def test_hostile_and_malformed_addresses_are_refused(raw):
    with pytest.raises(errors.InvalidEmail):
        addresses.normalize_email(raw)


def test_addresses_are_normalised_but_the_local_part_is_kept():
    assert addresses.normalize_email("  Lena.Brandt@EXAMPLE.org ") == "Lena.Brandt@example.org"
    assert addresses.normalize_email("leser@bücher.example") == "leser@bücher.example"
    assert addresses.normalize_email("leser@xn--bcher-kva.example") == "leser@bücher.example"


def test_suppression_keeps_only_a_hash(db):
    addresses.suppress(db.session, "Leser@Example.org", SuppressionReason.BOUNCED)
    db.session.commit()
    row = db.session.scalars(select(Suppression)).one()
    assert "example" not in row.email_hash and len(row.email_hash) == 64
    assert addresses.is_suppressed(db.session, "leser@example.ORG")
    assert not addresses.is_suppressed(db.session, "other@example.org")


def test_unsubscribe_is_idempotent_and_suppresses(db):
    reader = make_reader(db, "leser@example.org")
    assert subscribers.unsubscribe(db.session, reader, via="test") is True
    assert subscribers.unsubscribe(db.session, reader, via="test") is False
    db.session.commit()
    assert reader.status is SubscriberStatus.UNSUBSCRIBED and reader.unsubscribed_at is not None
    assert addresses.suppression_reason(db.session, "leser@example.org") is SuppressionReason.UNSUBSCRIBED
    assert [e.kind for e in reader.events] == ["unsubscribed"]


def test_erase_deletes_the_reader_and_keeps_the_hash(db):
    reader = make_reader(db, "leser@example.org", newsletters=[make_newsletter(db, "ki", "KI-News")])
    subscribers.record_event(db.session, reader, "confirmed", ip="203.0.113.7")
    db.session.commit()
    subscribers.unsubscribe(db.session, reader, via="test")
    key = subscribers.erase(db.session, reader, via="test")
    db.session.commit()
    for model in (Subscriber, Subscription, SubscriberEvent):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0, model
    assert db.session.get(Suppression, key).reason is SuppressionReason.ERASED
    assert addresses.is_suppressed(db.session, "LESER@example.org")
