"""Without Stripe keys every donation button leads to "donations open soon": the issue page says so while
the issue can still be changed or unscheduled, as the send confirmation does; with a key it does not."""

from __future__ import annotations

from tests.sending.factories import issue_with_readers
from tests.staff.factories import sign_in, staff_user
from tests.support.web import text_of


def test_the_issue_page_warns_that_the_ask_leads_nowhere_without_stripe(app, client, db, monkeypatch):
    sign_in(client, staff_user(db, "eda@example.org"))
    issue = issue_with_readers(db)
    assert not app.config["STRIPE_SECRET_KEY"]
    page = text_of(client.get(f"/staff/issues/{issue.id}"))
    assert 'data-warning="donations_off"' in page and "Spenden sind nicht eingerichtet" in page

    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_issue_page")
    page = text_of(client.get(f"/staff/issues/{issue.id}"))
    assert 'data-warning="donations_off"' not in page
