"""Helpers for the staff pages on readers: signed-in editors and admins, newsletters, CSV files."""

from __future__ import annotations

import pytest

from newsletter.platform.access import StaffRole
from newsletter.readers import newsletters
from tests.support.factories import PASSWORD, staff_user
from tests.support.web import login


@pytest.fixture
def editor(client, db):
    staff_user(db, "editor@example.org", role=StaffRole.EDITOR)
    login(client, "editor@example.org", PASSWORD)
    return client


@pytest.fixture
def admin(client, db):
    staff_user(db, "admin@example.org", role=StaffRole.ADMIN)
    login(client, "admin@example.org", PASSWORD)
    return client


@pytest.fixture
def lists(db):
    """Two newsletters: the daily one is the default."""
    daily = newsletters.save_newsletter(
        db.session, None, name="KI-News täglich", slug="ki-taeglich", description="", is_public=True,
        is_default=True, position=1,
    )  # fmt: skip
    weekly = newsletters.save_newsletter(
        db.session, None, name="Wochenrückblick", slug="woche", description="", is_public=True,
        is_default=False, position=2,
    )  # fmt: skip
    db.session.commit()
    return daily, weekly
