"""Staff accounts and API tokens made through the project's own services, and a test client signed in as a
staff member the way a browser signs in (the login form, with its CSRF token)."""

from __future__ import annotations

from db import db as _db
from newsletter.platform.access import StaffRole
from newsletter.staff import accounts
from newsletter.staff.models import StaffUser
from tests.support.web import login

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
