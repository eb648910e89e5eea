"""Staff API tokens for the statistics API: made by admins on the page and on the command line, shown once
and stored as a hash, revoked; the API refuses a revoked token, a deactivated user's token and anything
that is no token at all; the page shows each token's last use."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_datetime

from newsletter.platform.access import StaffRole
from newsletter.staff import accounts
from newsletter.staff.models import StaffApiToken
from tests.staff.factories import make_api_token, sign_in, staff_user
from tests.stats.history import build
from tests.support.web import csrf_token, text_of

URL = "/api/staff/stats?from=2025-12-01&to=2026-01-31"


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
    build(db)
    headers = {"Authorization": header} if header is not None else {}
    response = client.get(URL, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "revenue" not in response.get_data(as_text=True)


def test_revoked_token_and_deactivated_user_are_refused(client, db, runner):
    build(db)
    token = make_api_token(db, "chefin@example.org", StaffRole.ADMIN)
    assert _get(client, token).status_code == 200
    token_id = db.session.query(StaffApiToken).one().id
    result = runner.invoke(args=["newsletter", "token", "revoke", str(token_id)])
    assert result.exit_code == 0, result.output
    assert _get(client, token).status_code == 401
    other = make_api_token(db, "zweite@example.org", StaffRole.ADMIN)
    user = accounts.find_staff_user(db.session, "zweite@example.org")
    user.active = False
    db.session.commit()
    assert _get(client, other).status_code == 401


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
    chefin = staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    editor = staff_user(db, "redakteur@example.org", role=StaffRole.EDITOR)
    sign_in(client, chefin)
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


def test_token_page_shows_when_each_token_was_last_used(client, db):
    """An admin looking for a forgotten or leaked token sees when each was last used; a program polling
    the API costs a write a minute, not one a request."""
    chefin = staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    token = make_api_token(db, "dashboard@example.org", StaffRole.EDITOR)
    sign_in(client, chefin)
    row_of = lambda page: next(r for r in page.split("<tbody>")[1].split("<tr") if "dashboard@" in r)  # noqa: E731
    assert "<td>–</td>" in row_of(text_of(client.get("/staff/tokens")))  # never used
    assert _get(client, token).status_code == 200
    first = db.session.query(StaffApiToken).one().last_used_at
    assert _get(client, token).status_code == 200
    db.session.expire_all()
    assert db.session.query(StaffApiToken).one().last_used_at == first
    shown = format_datetime(first, "short", tzinfo=ZoneInfo("Europe/Berlin"), locale="de")
    assert shown in row_of(text_of(client.get("/staff/tokens")))
