"""Every staff route checks its role: signed-out visitors go to the login, editors are refused admin pages.
The few staff pages a signed-out visitor may open are named here, so that a new one is a decision."""

from __future__ import annotations

import pytest

from newsletter.platform.access import StaffRole
from tests.staff.factories import sign_in, staff_user
from tests.support.web import csrf_token

# Open to everyone, and checking what they need themselves: the sign-in and its second step, the set-up
# of a second factor during a sign-in the newsroom requires it for, and the pages behind mailed links.
PUBLIC = {"staff.login", "staff.login_code", "staff.two_factor_setup", "staff.forgot_password",
          "staff.reset_password", "staff.accept_invitation"}  # fmt: skip
# Of those, the ones that send a visitor without a password step just done back to the login.
AFTER_PASSWORD = {"staff.login_code", "staff.two_factor_setup"}


def _staff_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/staff") and rule.endpoint not in PUBLIC:
            yield rule


def _sample_url(rule) -> str:
    values = {
        arg: "1700000000000000000-" + "0" * 32 + ".eml" if arg == "name" else "1" for arg in rule.arguments
    }
    return rule.build(values)[1]


def test_there_are_staff_routes_to_check(app):
    assert len(list(_staff_rules(app))) >= 5


def test_signed_out_visitors_are_refused_every_staff_route(app, client):
    for rule in _staff_rules(app):
        url = _sample_url(rule)
        method = "POST" if "POST" in rule.methods and "GET" not in rule.methods else "GET"
        # A valid CSRF token, so that a POST is refused for the missing sign-in, not for the token.
        data = {"csrf_token": csrf_token(client, "/staff/login")} if method == "POST" else None
        response = client.open(url, method=method, data=data)
        if rule.endpoint == "staff.logout":
            assert response.status_code in (302, 400)
            continue
        assert response.status_code == 302, f"{method} {url} answered {response.status_code}"
        assert response.headers["Location"].startswith("/staff/login"), url


@pytest.mark.parametrize(("role", "expected"), [(StaffRole.EDITOR, 403), (StaffRole.ADMIN, 200)])
def test_staff_accounts_page_is_for_admins_only(client, db, role, expected):
    sign_in(client, staff_user(db, "someone@example.org", role=role))
    response = client.get("/staff/users")
    assert response.status_code == expected
    if expected == 403:
        assert "Nicht erlaubt" in response.get_data(as_text=True)
    else:
        assert "someone@example.org" in response.get_data(as_text=True)


def test_editor_sees_no_link_to_admin_pages(client, db):
    sign_in(client, StaffRole.EDITOR)
    assert "/staff/users" not in client.get("/staff/").get_data(as_text=True)


def test_every_staff_route_names_the_role_it_asks_for(app):
    """endpoint_role, which the browser tests walk: login and logout are open, admin pages say admin, the
    rest editor."""
    from newsletter.platform.access import endpoint_role

    roles = {rule.endpoint: endpoint_role(app, rule.endpoint) for rule in _staff_rules(app)}
    assert all(endpoint_role(app, endpoint) is None for endpoint in PUBLIC)
    assert roles.pop("staff.logout") is None
    assert roles["staff.staff_users"] is StaffRole.ADMIN
    assert roles["supporters_staff.donation_list"] is StaffRole.ADMIN
    assert roles["editorial_staff.issue_list"] is StaffRole.EDITOR
    assert all(role is not None for role in roles.values())


def test_signed_out_visitor_sees_one_message_however_often_refused(client):
    """Tried: five staff pages in a row while signed out; the login page shows the message once."""
    for url in ("/staff/", "/staff/users", "/staff/issues", "/staff/feeds", "/staff/articles"):
        client.get(url)
    page = client.get("/staff/login").get_data(as_text=True)
    assert page.count("Bitte melden Sie sich an, um diese Seite zu sehen.") == 1  # in the reader's German


def test_public_staff_pages_show_nothing_of_the_staff_pages(client):
    """Signed out, the second step and the set-up send back to the login; the password pages show their
    form or a refusal of the link, and none of them the staff navigation."""
    for endpoint in sorted(AFTER_PASSWORD):
        url = {"staff.login_code": "/staff/login/code", "staff.two_factor_setup": "/staff/account/two-factor"}
        response = client.get(url[endpoint])
        assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
    for url, status in (("/staff/password/forgot", 200), ("/staff/password/reset/x.y.z", 400),
                        ("/staff/invitation/x.y.z", 400)):  # fmt: skip
        response = client.get(url)
        assert response.status_code == status, url
        assert "staff-nav" not in response.get_data(as_text=True)
