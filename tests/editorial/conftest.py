"""Fixtures of the editor's desk: a signed-in editor, a newsletter, local feed servers."""

from __future__ import annotations

import pytest

from tests.readers.factories import make_newsletter
from tests.staff.factories import sign_in, staff_user
from tests.support.feedserver import FeedServer


@pytest.fixture
def editor(client, db):
    """Eda, an editor; the test client is signed in as her."""
    return sign_in(client, staff_user(db, "eda@example.org", name="Eda"))


@pytest.fixture
def newsletter(db):
    """The default newsletter, "KI-News täglich"."""
    item = make_newsletter(db, is_default=True)
    db.session.commit()
    return item


@pytest.fixture
def feed_server():
    server = FeedServer("127.0.0.1").start()
    yield server
    server.stop()


@pytest.fixture
def second_server():
    """Another loopback address (Linux routes all of 127.0.0.0/8 to the loopback interface)."""
    server = FeedServer("127.0.0.2").start()
    yield server
    server.stop()
