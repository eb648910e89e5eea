"""Staff sessions that end: signing out, "sign out everywhere", ending one session from the sessions page,
a new password, a new role and deactivation each end what they should, wherever the cookies went.
Attacks tried: replaying a session cookie after sign-out; replaying a stolen remember cookie from another
machine, before and after sign-out; a session cookie carried to another address; a password changed on
the command line while a thief holds a session and an API token; ending someone else's session by its
id; sessions kept past their lifetime."""

from __future__ import annotations

from datetime import timedelta

from newsletter.platform.access import StaffRole
from newsletter.staff.models import StaffSession
from tests.staff.factories import (
    FIREFOX_LINUX,
    PASSWORD,
    SAFARI_IPHONE,
    client_at,
    make_api_token,
    staff_user,
)
from tests.support.web import csrf_token, login, text_of

OWNER = "chefin@example.org"
CURL = "curl/8.5.0"
STATS = "/api/staff/stats?from=2025-12-01&to=2026-01-31"


def _sign_in(client, email: str = OWNER, **extra) -> None:
    assert login(client, email, PASSWORD, **extra).status_code == 302


def _sign_out(client) -> None:
    assert client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")}).status_code == 302


def _opens(client, url: str = "/staff/") -> bool:
    answer = client.get(url)
    if answer.status_code == 302:
        assert answer.headers["Location"].startswith("/staff/login")
        return False
    assert answer.status_code == 200, answer.status_code
    return True


def _cookie(client, name: str) -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    return cookie.value


def _api(client, token: str) -> int:
    return client.get(STATS, headers={"Authorization": f"Bearer {token}"}).status_code


def test_signing_out_ends_the_session_its_cookie_included(app, db):
    """Issue 17, item 3: after signing out, the old session cookie still opened /staff/."""
    staff_user(db, OWNER)
    laptop = client_at(app, "192.0.2.10")
    _sign_in(laptop)
    kept = _cookie(laptop, "beitrag_session")
    _sign_out(laptop)
    laptop.set_cookie("beitrag_session", kept)  # the same browser, replaying what it had before
    assert not _opens(laptop)


def test_a_stolen_remember_cookie_dies_with_sign_out(app, db):
    """Issue 17, item 3: the old remember cookie opened /staff/users from another address and browser."""
    staff_user(db, OWNER, role=StaffRole.ADMIN)
    laptop = client_at(app, "192.0.2.10")
    _sign_in(laptop, remember="y")
    stolen = _cookie(laptop, "remember_token")
    thief = client_at(app, "203.0.113.66", CURL)
    thief.set_cookie("remember_token", stolen)
    # While the session lives, its remember cookie opens it from anywhere, and the owner sees where.
    assert _opens(thief, "/staff/users")
    assert "203.0.113.66" in text_of(laptop.get("/staff/sessions"))
    _sign_out(laptop)
    assert not _opens(thief, "/staff/users")  # the thief's own browser session of that cookie ended too
    replay = client_at(app, "203.0.113.67", CURL)
    replay.set_cookie("remember_token", stolen)
    assert not _opens(replay, "/staff/users")


def test_a_remembered_browser_stays_signed_in_after_a_restart(app, db):
    """Only the remember cookie (the browser was closed): the browser stays signed in request after
    request, also on another network, until the session ends."""
    staff_user(db, OWNER)
    laptop = client_at(app, "192.0.2.10")
    _sign_in(laptop, remember="y")
    restarted = client_at(app, "192.0.2.10")
    restarted.set_cookie("remember_token", _cookie(laptop, "remember_token"))
    assert all(_opens(restarted) for _ in range(3))
    restarted.environ_base["REMOTE_ADDR"] = "198.51.100.30"  # the train's network
    assert _opens(restarted)


def test_a_session_cookie_carried_to_another_address_is_refused_and_its_session_ends(app, db):
    staff_user(db, OWNER)
    laptop = client_at(app, "192.0.2.10")
    _sign_in(laptop)
    thief = client_at(app, "203.0.113.68")  # same browser string, other address
    thief.set_cookie("beitrag_session", _cookie(laptop, "beitrag_session"))
    assert not _opens(thief)
    # The session the cookie named is over: it opens nothing anywhere any more.
    assert not _opens(laptop)
    assert db.session.query(StaffSession).one().end_reason == "moved"


def test_a_new_password_on_the_command_line_ends_every_session_and_token(app, db, runner):
    staff_user(db, OWNER, role=StaffRole.ADMIN)
    token = make_api_token(db, "dashboard@example.org", StaffRole.EDITOR)
    laptop, thief = client_at(app, "192.0.2.10"), client_at(app, "203.0.113.69", CURL)
    _sign_in(laptop)
    _sign_in(thief, remember="y")
    _sign_in(client_at(app, "192.0.2.11"), "dashboard@example.org")
    own_token = make_api_token(db, "zweite@example.org", StaffRole.ADMIN)
    assert _api(thief, token) == 200 and _api(thief, own_token) == 200
    for email in (OWNER, "dashboard@example.org"):
        result = runner.invoke(args=["users", "set-password", email, "--password", "a whole new passphrase"])
        assert result.exit_code == 0, result.output
    assert not _opens(laptop) and not _opens(thief)
    remembered = client_at(app, "203.0.113.70", CURL)
    remembered.set_cookie("remember_token", _cookie(thief, "remember_token"))
    assert not _opens(remembered)
    assert _api(thief, token) == 401
    assert _api(thief, own_token) == 200  # another account's token is untouched
    assert login(laptop, OWNER, "a whole new passphrase").status_code == 302
    page = text_of(laptop.get("/staff/tokens"))
    assert "widerrufen: neues Passwort" in page


def test_a_new_role_revokes_the_accounts_api_tokens(app, db, runner):
    token = make_api_token(db, "redaktion@example.org", StaffRole.EDITOR)
    browser = client_at(app, "192.0.2.10")
    _sign_in(browser, "redaktion@example.org")
    assert _api(browser, token) == 200
    result = runner.invoke(args=["users", "set-role", "redaktion@example.org", "admin"])
    assert result.exit_code == 0, result.output
    # A token made for the editor's dashboard does not start reading the money figures.
    assert _api(browser, token) == 401
    assert _opens(browser, "/staff/users")  # the browser goes on, with the new role


def test_deactivation_ends_every_session_and_token(app, db, runner):
    staff_user(db, OWNER)
    token = make_api_token(db, "praktikant@example.org", StaffRole.EDITOR)
    intern = client_at(app, "192.0.2.12")
    _sign_in(intern, "praktikant@example.org", remember="y")
    result = runner.invoke(args=["users", "deactivate", "praktikant@example.org"])
    assert result.exit_code == 0, result.output
    assert not _opens(intern) and _api(intern, token) == 401
    assert {row.end_reason for row in db.session.query(StaffSession).all()} == {"deactivated"}


def test_sign_out_everywhere(app, db):
    staff_user(db, OWNER)
    laptop = client_at(app, "192.0.2.10")
    phone = client_at(app, "198.51.100.20", SAFARI_IPHONE)
    _sign_in(laptop)
    _sign_in(phone, remember="y")
    remember = _cookie(phone, "remember_token")
    token = csrf_token(laptop, "/staff/sessions")
    answer = laptop.post("/staff/sessions/end-all", data={"csrf_token": token})
    assert answer.headers["Location"] == "/staff/login"
    assert "Sie sind überall abgemeldet." in text_of(laptop.get("/staff/login"))
    assert not _opens(laptop) and not _opens(phone)
    restarted = client_at(app, "198.51.100.20", SAFARI_IPHONE)
    restarted.set_cookie("remember_token", remember)
    assert not _opens(restarted)


def test_the_sessions_page_lists_ones_own_sessions_and_ends_one(app, db):
    staff_user(db, OWNER)
    staff_user(db, "kollege@example.org")
    laptop = client_at(app, "192.0.2.10", FIREFOX_LINUX)
    phone = client_at(app, "198.51.100.20", SAFARI_IPHONE)
    _sign_in(laptop)
    _sign_in(phone, remember="y")
    _sign_in(client_at(app, "192.0.2.99"), "kollege@example.org")
    page = text_of(laptop.get("/staff/sessions"))
    assert "Ihre Sitzungen" in page
    assert "Firefox · Linux" in page and "192.0.2.10" in page
    assert "Mobile Safari · iOS" in page and "198.51.100.20" in page
    assert "192.0.2.99" not in page  # a colleague's session is not shown
    this_browser = [row for row in page.split("<tr") if "Dieser Browser" in row]
    assert len(this_browser) == 1 and "192.0.2.10" in this_browser[0]
    phone_session = db.session.query(StaffSession).filter_by(address="198.51.100.20").one()
    token = csrf_token(laptop, "/staff/sessions")
    answer = laptop.post(f"/staff/sessions/{phone_session.id}/end", data={"csrf_token": token})
    assert answer.headers["Location"] == "/staff/sessions"
    assert not _opens(phone) and _opens(laptop)
    assert "198.51.100.20" not in text_of(laptop.get("/staff/sessions"))


def test_nobody_ends_someone_elses_session(app, db):
    staff_user(db, OWNER, role=StaffRole.ADMIN)
    staff_user(db, "kollege@example.org")
    boss, colleague = client_at(app, "192.0.2.10"), client_at(app, "192.0.2.11")
    _sign_in(boss)
    _sign_in(colleague, "kollege@example.org")
    boss_session = db.session.query(StaffSession).filter_by(address="192.0.2.10").one()
    token = csrf_token(colleague, "/staff/sessions")
    url = f"/staff/sessions/{boss_session.id}/end"
    assert colleague.post(url, data={"csrf_token": token}).status_code == 404
    assert colleague.post(url, data={}).status_code == 400  # no CSRF token
    assert _opens(boss)


def test_ending_this_browsers_session_signs_it_out(app, db):
    staff_user(db, OWNER)
    laptop = client_at(app, "192.0.2.10")
    _sign_in(laptop)
    own = db.session.query(StaffSession).one()
    laptop.post(f"/staff/sessions/{own.id}/end", data={"csrf_token": csrf_token(laptop, "/staff/sessions")})
    assert not _opens(laptop)


def test_sessions_run_out(app, db):
    staff_user(db, OWNER)
    laptop, phone = client_at(app, "192.0.2.10"), client_at(app, "198.51.100.20", SAFARI_IPHONE)
    _sign_in(laptop)
    answer = login(phone, OWNER, PASSWORD, remember="y")
    remember = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith("remember_token="))
    assert "Max-Age=2592000" in remember or "Expires=" in remember  # 30 days, not Flask-Login's 365
    expires = phone.get_cookie("remember_token").expires
    signed_in = db.session.query(StaffSession).filter_by(remembered=True).one().created_at
    assert abs(expires - (signed_in + timedelta(days=30))) < timedelta(minutes=5)
    # Twelve hours and a minute without a request end the browser session; thirty days end the other.
    browser = db.session.query(StaffSession).filter_by(remembered=False).one()
    browser.last_seen_at -= timedelta(hours=12, minutes=1)
    remembered = db.session.query(StaffSession).filter_by(remembered=True).one()
    remembered.created_at -= timedelta(days=30, minutes=1)
    remembered.last_seen_at = remembered.created_at
    db.session.commit()
    assert not _opens(laptop) and not _opens(phone)
    restarted = client_at(app, "198.51.100.20", SAFARI_IPHONE)
    restarted.set_cookie("remember_token", _cookie(phone, "remember_token"))
    assert not _opens(restarted)


def test_last_seen_is_written_at_most_once_a_minute(app, db):
    staff_user(db, OWNER)
    laptop = client_at(app, "192.0.2.10")
    _sign_in(laptop)
    first = db.session.query(StaffSession).one().last_seen_at
    for _ in range(3):
        assert _opens(laptop)
    db.session.expire_all()
    assert db.session.query(StaffSession).one().last_seen_at == first  # three pages, no write
    row = db.session.query(StaffSession).one()
    row.last_seen_at -= timedelta(minutes=2)
    db.session.commit()
    assert _opens(laptop)
    db.session.expire_all()
    assert db.session.query(StaffSession).one().last_seen_at > first - timedelta(seconds=1)


def test_the_sessions_page_names_browsers_as_people_know_them():
    from newsletter.staff.sessions import describe_agent

    webkit = "AppleWebKit/537.36 (KHTML, like Gecko)"
    headless = f"Mozilla/5.0 (X11; Linux x86_64) {webkit} HeadlessChrome/156.0.0.0 Safari/537.36"
    iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 " \
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"  # fmt: skip
    edge = f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {webkit} Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0"
    assert describe_agent(headless) == "HeadlessChrome · Linux"  # not "Safari", which it also names
    assert describe_agent(iphone) == "Mobile Safari · iOS"
    assert describe_agent(edge) == "Edge · Windows"  # not Chrome
    assert describe_agent(FIREFOX_LINUX) == "Firefox · Linux"
    assert describe_agent("some-script/1.0 " + "x" * 100) == ("some-script/1.0 " + "x" * 100)[:60]
    assert describe_agent("") == ""
