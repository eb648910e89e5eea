"""Fixtures for the reader flows and the staff pages on readers: newsletters, signed-in editors and admins."""

from __future__ import annotations

import pytest

from newsletter.platform.access import StaffRole
from newsletter.readers import newsletters as newsletter_service
from tests.readers.factories import make_newsletter
from tests.staff.factories import sign_in


@pytest.fixture
def newsletters(db):
    """Three newsletters: the daily default, a weekly one, and one not offered to the public."""
    rows = [
        make_newsletter(db, "ki-news", "KI-News täglich", is_default=True, position=0),
        make_newsletter(db, "wochenrueckblick", "Wochenrückblick", position=1),
        make_newsletter(db, "intern", "Nur für Förderer", is_public=False, position=2),
    ]
    db.session.commit()
    return {n.slug: n for n in rows}


@pytest.fixture
def lists(db):
    """Two newsletters made on the staff pages' service: the daily one is the default."""
    daily = newsletter_service.save_newsletter(
        db.session, None, name="KI-News täglich", slug="ki-taeglich", description="", is_public=True,
        is_default=True, position=1,
    )  # fmt: skip
    weekly = newsletter_service.save_newsletter(
        db.session, None, name="Wochenrückblick", slug="woche", description="", is_public=True,
        is_default=False, position=2,
    )  # fmt: skip
    db.session.commit()
    return daily, weekly


@pytest.fixture
def editor(client, db):
    """The test client, signed in as the editor editor@example.org."""
    sign_in(client, StaffRole.EDITOR)
    return client


@pytest.fixture
def admin(client, db):
    """The test client, signed in as the admin admin@example.org."""
    sign_in(client, StaffRole.ADMIN)
    return client
