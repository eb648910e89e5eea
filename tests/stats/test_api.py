"""The staff statistics API: bearer tokens made by admins (page and CLI), revoked, and what each role gets."""

from __future__ import annotations

import re

import pytest

from newsletter.platform.access import StaffRole
from newsletter.staff import accounts
from newsletter.staff.models import StaffApiToken
from tests.support.factories import PASSWORD, staff_user
from tests.support.web import csrf_token, login, text_of

from .history import build

URL = "/api/staff/stats?from=2025-12-01&to=2026-01-31"


def _token(db, email, role):
    user = staff_user(db, email, role=role)
    _row, token = accounts.create_api_token(db.session, user, "test")
    db.session.commit()
    return token


def _get(client, token, url=URL):
    return client.get(url, headers={"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize(
    "header",
    [None, "", "Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "Bearer btr_not-a-real-token",
     "Bearer " + "x" * 5000, "bearer btr_' OR 1=1 --"],
)  # fmt: skip
def test_no_or_bad_token_is_refused(client, db, header):
    """Bad input: no header, empty, the scheme alone, Basic auth, an unknown token, 5,000 characters,
    SQL in the token."""
    build(db.session)
    headers = {"Authorization": header} if header is not None else {}
    response = client.get(URL, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "revenue" not in response.get_data(as_text=True)


def test_admin_token_gets_the_page_figures(client, db):
    build(db.session)
    token = _token(db, "chefin@example.org", StaffRole.ADMIN)
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
    build(db.session)
    token = _token(db, "redakteur@example.org", StaffRole.EDITOR)
    data = _get(client, token).get_json()
    assert set(data) == {"period", "previous_period", "subscribers", "issues"}
    assert [i["recipients"] for i in data["issues"]] == [6, 3]
    refused = _get(client, token, URL + "&money=1")
    assert refused.status_code == 403 and "admins" in refused.get_json()["error"]


def test_revoked_token_and_deactivated_user_are_refused(client, db, runner):
    build(db.session)
    token = _token(db, "chefin@example.org", StaffRole.ADMIN)
    assert _get(client, token).status_code == 200
    token_id = db.session.query(StaffApiToken).one().id
    result = runner.invoke(args=["newsletter", "token", "revoke", str(token_id)])
    assert result.exit_code == 0, result.output
    assert _get(client, token).status_code == 401
    other = _token(db, "zweite@example.org", StaffRole.ADMIN)
    user = accounts.find_staff_user(db.session, "zweite@example.org")
    user.active = False
    db.session.commit()
    assert _get(client, other).status_code == 401


@pytest.mark.parametrize(
    ("query", "message"),
    [("from=2026-02-01&to=2026-01-01", "after the end date"), ("from=31.01.2026&to=2026-02-01", "YYYY-MM-DD"),
     ("from=2000-01-01&to=2030-01-01", "five years"), ("from=2026-01-01", "both dates"),
     ("period=all", "Unknown period")],
)  # fmt: skip
def test_bad_periods_answer_400_with_a_reason(client, db, query, message):
    """Bad input: from after to, a German date, 30 years, a missing to, an unknown preset."""
    token = _token(db, "chefin@example.org", StaffRole.ADMIN)
    response = _get(client, token, "/api/staff/stats?lang=en&" + query)
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_cli_makes_a_token_shown_once_and_stores_only_its_hash(client, db, runner):
    staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    result = runner.invoke(args=["newsletter", "token", "create", "chefin@example.org", "--name", "Grafana"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("btr_") and len(token) > 40
    row = db.session.query(StaffApiToken).one()
    assert token not in (row.token_hash, row.hint) and len(row.token_hash) == 64
    assert _get(client, token).status_code == 200
    listed = runner.invoke(args=["newsletter", "token", "list"]).output
    assert "Grafana" in listed and token not in listed
    unknown = runner.invoke(args=["newsletter", "token", "create", "niemand@example.org"])
    assert unknown.exit_code != 0


def test_admin_makes_and_revokes_a_token_on_the_page(client, db):
    staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    editor = staff_user(db, "redakteur@example.org", role=StaffRole.EDITOR)
    login(client, "chefin@example.org", PASSWORD)
    token_page = csrf_token(client, "/staff/tokens")
    form = {"csrf_token": token_page, "staff_user_id": editor.id, "name": "Dashboard TV"}
    page = client.post("/staff/tokens", data=form)
    token = re.search(r'<code class="token">(btr_[^<]+)</code>', text_of(page)).group(1)
    assert _get(client, token).status_code == 200
    again = text_of(client.get("/staff/tokens"))
    assert token not in again and "Dashboard TV" in again  # shown once only
    token_id = db.session.query(StaffApiToken).one().id
    forged = client.post(f"/staff/tokens/{token_id}/revoke", data={})  # no CSRF token
    assert _get(client, token).status_code == 200, forged.status_code
    client.post(f"/staff/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, "/staff/tokens")})
    assert _get(client, token).status_code == 401
