"""The staff statistics API: what an admin's and an editor's bearer token get, and bad periods. The tokens
themselves (made, shown once, revoked, refused) are tested in tests/staff/test_api_tokens.py."""

from __future__ import annotations

import pytest

from newsletter.platform.access import StaffRole
from newsletter.staff.models import StaffApiToken
from tests.staff.factories import make_api_token

from .history import build

URL = "/api/staff/stats?from=2025-12-01&to=2026-01-31"


def _get(client, token, url=URL):
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


def test_admin_token_gets_the_page_figures(client, db):
    build(db)
    token = make_api_token(db, "chefin@example.org", StaffRole.ADMIN)
    response = _get(client, token)
    assert response.status_code == 200
    data = response.get_json()
    assert data["revenue"]["total"]["net_cents"] == 9300
    assert [m["net_cents"] for m in data["revenue"]["months"]] == [2800, 6500]
    assert [m["mrr_cents"] for m in data["mrr"]["months"]] == [1800, 500]
    assert data["gifts"]["median_cents"] == 1000 and data["lifetime_value"]["ltv_cents"] == 1456
    assert data["other_currencies"] == [{"currency": "USD", "payments": 1, "gross_cents": 10000}]
    assert [i["unsubscribed"] for i in data["issues"]] == [0, 1]
    assert all(i["clicks"] is None for i in data["issues"])
    assert data["period"]["from"] == "2025-12-01" and data["period"]["to"] == "2026-01-31"
    last_used = db.session.query(StaffApiToken).one().last_used_at
    assert last_used is not None


def test_editor_token_gets_only_figures_without_money(client, db):
    build(db)
    token = make_api_token(db, "redakteur@example.org", StaffRole.EDITOR)
    data = _get(client, token).get_json()
    assert set(data) == {"period", "previous_period", "subscribers", "issues"}
    assert [i["recipients"] for i in data["issues"]] == [6, 3]
    refused = _get(client, token, URL + "&money=1")
    assert refused.status_code == 403 and "admins" in refused.get_json()["error"]


@pytest.mark.parametrize(
    ("query", "message"),
    [("from=2026-02-01&to=2026-01-01", "after the end date"), ("from=31.01.2026&to=2026-02-01", "YYYY-MM-DD"),
     ("from=2000-01-01&to=2030-01-01", "five years"), ("from=2026-01-01", "both dates"),
     ("period=all", "Unknown period")],
)  # fmt: skip
def test_bad_periods_answer_400_with_a_reason(client, db, query, message):
    """Bad input: from after to, a German date, 30 years, a missing to, an unknown preset."""
    token = make_api_token(db, "chefin@example.org", StaffRole.ADMIN)
    response = _get(client, token, "/api/staff/stats?lang=en&" + query)
    assert response.status_code == 400
    assert message in response.get_json()["error"]
