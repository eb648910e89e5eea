"""Signing staff in and out. Bad inputs tried: a wrong password, an unknown address, an address in
other case, a missing and a forged CSRF token, a deactivated account, an open-redirect ``next``, a stale
session after a password change. Floods of attempts: test_signin_limits.py; sessions: test_sessions.py."""

from __future__ import annotations

import re

from newsletter.platform.access import StaffRole
from newsletter.staff import accounts
from newsletter.staff.models import StaffUser
from tests.staff.factories import PASSWORD, sign_in, staff_user
from tests.support.web import csrf_token, login, text_of

WRONG = "The e-mail address or the password is not right."


def test_login_page_is_german_by_default_with_labelled_fields(client):
    page = text_of(client.get("/staff/login"))
    assert '<html lang="de">' in page
    assert "Anmelden" in page
    for field in ("email", "password"):
        assert re.search(rf'<label for="{field}">', page), f"field {field} has no label"


def test_editor_signs_in_and_sees_the_dashboard(client, db):
    staff_user(db, "Eda@Example.org")
    response = login(client, "eda@example.org", PASSWORD)  # any case of the address
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"
    page = text_of(client.get("/staff/"))
    assert "Übersicht" in page and "Eda@example.org" in page
    user = db.session.query(StaffUser).one()
    assert user.last_login_at is not None


def test_wrong_password_and_unknown_address_look_the_same(client, db):
    staff_user(db, "eda@example.org")
    wrong_password = login(client, "eda@example.org", "not the password")
    unknown = login(client, "nobody@example.org", PASSWORD)
    assert wrong_password.status_code == unknown.status_code == 401
    german = "Die E-Mail-Adresse oder das Passwort stimmt nicht."
    assert german in text_of(wrong_password) and german in text_of(unknown)
    assert client.get("/staff/").status_code == 302  # still signed out


def test_unknown_address_costs_a_full_password_check(client, db):
    # The stored stand-in hash must carry the hasher's own parameters, or an unknown address would be
    # answered faster than a wrong password (and the difference would tell which addresses exist).
    assert not accounts._hasher.check_needs_rehash(accounts._DUMMY_HASH)
    assert accounts._hasher.verify(accounts._DUMMY_HASH, "beitrag-timing-equaliser")
    answer = login(client, "beitrag-timing-equaliser@example.org", "beitrag-timing-equaliser")
    assert answer.status_code == 401


def test_login_without_csrf_token_is_refused(client, db):
    staff_user(db)
    response = client.post("/staff/login", data={"email": "editor@example.org", "password": PASSWORD})
    assert response.status_code == 400
    assert "Das Formular ist abgelaufen" in text_of(response)
    assert client.get("/staff/").status_code == 302


def test_login_with_forged_csrf_token_is_refused(client, db):
    staff_user(db)
    response = client.post(
        "/staff/login", data={"email": "editor@example.org", "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 400
    assert client.get("/staff/").status_code == 302


def test_deactivated_account_cannot_sign_in(client, db):
    user = staff_user(db)
    user.active = False
    db.session.commit()
    assert login(client, "editor@example.org", PASSWORD).status_code == 401


def test_next_parameter_never_leaves_the_site(client, db):
    staff_user(db)
    token = csrf_token(client, "/staff/login")
    for target in ("//evil.example/", "https://evil.example/", "javascript:alert(1)"):
        client.get("/staff/login")  # fresh page, same session
        response = client.post(
            f"/staff/login?next={target}",
            data={"email": "editor@example.org", "password": PASSWORD, "csrf_token": token},
        )
        assert response.headers["Location"] == "/staff/", target
        client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    response = login(client, "editor@example.org", PASSWORD)
    assert response.status_code == 302


def test_next_parameter_returns_to_the_page_asked_for(client, db):
    staff_user(db, role=StaffRole.ADMIN)
    first = client.get("/staff/users")
    assert first.status_code == 302 and "/staff/login?next=" in first.headers["Location"]
    token = csrf_token(client, "/staff/login")
    response = client.post(
        "/staff/login?next=/staff/users",
        data={"email": "editor@example.org", "password": PASSWORD, "csrf_token": token},
    )
    assert response.headers["Location"] == "/staff/users"


def test_logout_needs_a_post_with_csrf_and_ends_the_session(client, db):
    sign_in(client, staff_user(db))
    assert client.get("/staff/logout").status_code == 405  # a link or an image cannot sign anyone out
    assert client.get("/staff/").status_code == 200
    client.post("/staff/logout", data={})  # no token: nothing happens
    assert client.get("/staff/").status_code == 200
    response = client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    assert response.status_code == 302
    assert client.get("/staff/").status_code == 302


def test_password_change_ends_other_sessions(app, db):
    editor = staff_user(db)
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, editor)
    sign_in(phone, editor)
    user = db.session.query(StaffUser).one()
    accounts.set_staff_password(db.session, user, "a completely new passphrase")
    db.session.commit()
    assert laptop.get("/staff/").status_code == 302
    assert phone.get("/staff/").status_code == 302
    assert login(phone, "editor@example.org", "a completely new passphrase").status_code == 302


def test_session_cookie_is_httponly_and_samesite_lax(client, db):
    staff_user(db)
    response = login(client, "editor@example.org", PASSWORD, remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("beitrag_session="))
    remember = next(c for c in cookies if c.startswith("remember_token="))
    for cookie in (session, remember):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # served over http in this test


def test_cookies_are_secure_when_served_over_https(app, make_app):
    https_app = make_app(BASE_URL="https://news.example.org")
    with https_app.app_context():
        from db import db

        staff_user(db, "secure@example.org")
        client = https_app.test_client()
        page = client.get("/staff/login", base_url="https://news.example.org").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        response = client.post(
            "/staff/login", data={"email": "secure@example.org", "password": PASSWORD, "csrf_token": token},
            base_url="https://news.example.org",
        )  # fmt: skip
        session = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("beitrag_session="))
        assert "Secure" in session
