"""Staff accounts and API tokens made through the project's own services, and a test client signed in as a
staff member the way a browser signs in (the login form, with its CSRF token)."""

from __future__ import annotations

import time

import pyotp

from db import db as _db
from newsletter.platform.access import StaffRole
from newsletter.staff import accounts, two_factor
from newsletter.staff.models import StaffUser
from tests.support.web import csrf_token, login

PASSWORD = "correct horse battery staple"
FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
                 "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")  # fmt: skip


def client_at(app, address: str, agent: str = FIREFOX_LINUX):
    """A test client that is another browser on another machine: its own cookies, client address and
    User-Agent."""
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": address, "HTTP_USER_AGENT": agent})
    return client


def staff_user(
    db, email: str = "editor@example.org", role: StaffRole | str = StaffRole.EDITOR, **kw
) -> StaffUser:
    user = accounts.create_staff_user(db.session, email, kw.pop("password", PASSWORD), role, **kw)
    db.session.commit()
    return user


def sign_in(client, who: StaffUser | StaffRole | str = StaffRole.EDITOR) -> StaffUser:
    """Sign ``client`` in and check that it worked. ``who`` is a staff user with the password ``PASSWORD``
    (see ``staff_user``), or a role, for which ``<role>@example.org`` is made first."""
    user = who if isinstance(who, StaffUser) else staff_user(_db, f"{StaffRole(who)}@example.org", role=who)
    response = login(client, user.email, PASSWORD)
    assert response.status_code == 302, f"{user.email} was not signed in: {response.status_code}"
    return user


def make_api_token(db, email: str, role: StaffRole | str) -> str:
    """A new staff user with one API token; the token itself, as shown once to the admin who made it."""
    user = staff_user(db, email, role=role)
    _row, token = accounts.create_api_token(db.session, user, "test")
    db.session.commit()
    return token


# -- two-factor sign-in --------------------------------------------------------------------------------

STEP = 30  # seconds of one TOTP step


def steady_step(margin: float = 4.0) -> None:
    """Wait into the next 30-second step when fewer than ``margin`` seconds of this one are left, so that
    the codes a test makes now are still the codes of their steps when the server checks them."""
    left = STEP - time.time() % STEP
    if left < margin:
        time.sleep(left + 0.05)


def code(secret: str, steps: int = 0) -> str:
    """The authenticator app's code ``steps`` steps from now (-1: the one shown half a minute ago)."""
    return pyotp.TOTP(secret).at(time.time() + STEP * steps)


def with_two_factor(db, user: StaffUser) -> tuple[str, list[str]]:
    """Two-factor sign-in set up for ``user`` through the project's services, confirmed with the code of
    the step before this one (so that this step's and the next step's codes are unused): the secret the
    app would hold, and the ten recovery codes."""
    from flask import current_app

    steady_step()
    secret_key = current_app.config["SECRET_KEY"]
    secret = two_factor.start_setup(db.session, user, secret_key)
    recovery = two_factor.confirm_setup(db.session, user, code(secret, -1), secret_key)
    assert recovery is not None
    db.session.commit()
    return secret, recovery


def enter_code(client, value: str):
    """The second step of the sign-in, as the browser sends it."""
    token = csrf_token(client, "/staff/login/code")
    return client.post("/staff/login/code", data={"code": value, "csrf_token": token})


def sign_in_with_code(client, user: StaffUser, secret: str, steps: int = 0):
    """Password, then the app's code: the answer to the code."""
    first = login(client, user.email, PASSWORD)
    assert first.headers["Location"] == "/staff/login/code", first.headers.get("Location")
    return enter_code(client, code(secret, steps))


def sign_out(client) -> None:
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})


def post(client, url: str, page: str, **data):
    """POST ``data`` to ``url`` with the CSRF token of ``page``, as the form on that page would."""
    return client.post(url, data={**data, "csrf_token": csrf_token(client, page)})
