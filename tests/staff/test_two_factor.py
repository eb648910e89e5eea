"""Two-factor sign-in: a member sets it up on the page (QR code made on the server, a confirming code, ten
recovery codes shown once), then signing in asks for a code after the password. Attacks tried: the half
signed-in session opening every staff page, a wrong code, a code used twice, an older code after a newer
one, a recovery code used twice, a flood of guesses (from one client and from a second one), a stale
password step after a password change, turning it off without proof, and reading the secret from the
database or the staff pages."""

from __future__ import annotations

import re
import threading

import pytest
from sqlalchemy.orm import Session

from newsletter.platform.access import StaffRole, endpoint_role
from newsletter.staff import two_factor
from newsletter.staff.models import StaffRecoveryCode, StaffUser
from tests.staff.factories import (
    PASSWORD,
    code,
    enter_code,
    post,
    sign_in,
    sign_in_with_code,
    sign_out,
    staff_user,
    steady_step,
    with_two_factor,
)
from tests.support.web import csrf_token, login, text_of

SETUP = "/staff/account/two-factor"


def _secret_on(page: str) -> str:
    return re.search(r'<code class="totp-secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")


def _codes_on(page: str) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", page)


def test_member_sets_it_up_with_a_qr_code_and_gets_ten_recovery_codes_once(client, db):
    editor = sign_in(client, staff_user(db))
    page = text_of(client.get(SETUP))
    assert "Zwei-Faktor-Anmeldung einrichten" in page
    # The QR code is an SVG made here, inline as a data: address; no outside service sees the secret.
    qr = re.search(r'<img class="qr-code" src="([^"]+)"', page).group(1)
    assert qr.startswith("data:image/svg+xml")
    assert "http" not in qr.split(",", 1)[0]
    secret = _secret_on(page)
    assert len(secret) == 32
    assert _secret_on(text_of(client.get(SETUP))) == secret  # a reload keeps the QR code just scanned

    steady_step()
    token = csrf_token(client, SETUP)
    wrong = client.post(SETUP, data={"code": "000000" if code(secret) != "000000" else "111111",
                                     "csrf_token": token})  # fmt: skip
    assert wrong.status_code == 401 and "Dieser Code stimmt nicht" in text_of(wrong)
    done = client.post(SETUP, data={"code": code(secret), "csrf_token": token})
    assert done.status_code == 200
    codes = _codes_on(text_of(done))
    assert len(codes) == 10 and len(set(codes)) == 10
    assert "nur jetzt angezeigt" in text_of(done)

    account = text_of(client.get("/staff/account"))
    assert "An seit" in account and "10 unbenutzte Wiederherstellungscodes" in account
    assert secret not in account and not any(c in account for c in codes)
    assert client.get(SETUP).headers["Location"] == "/staff/account"  # no second set-up over the first

    # Neither the secret nor a recovery code is readable in the database.
    db.session.expire_all()
    stored = db.session.get(StaffUser, editor.id)
    assert stored.two_factor_enabled and secret not in stored.totp_secret
    hashes = [row.code_hash for row in db.session.query(StaffRecoveryCode).all()]
    assert len(hashes) == 10 and not any(c.replace("-", "") in h for c in codes for h in hashes)


def test_the_password_alone_opens_no_staff_page(app, client, db):
    """The half signed-in session is refused every staff page the access rules guard."""
    user = staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    secret, _codes = with_two_factor(db, user)
    answer = login(client, user.email, PASSWORD)
    assert answer.status_code == 302 and answer.headers["Location"] == "/staff/login/code"
    guarded = [rule for rule in app.url_map.iter_rules()
               if rule.rule.startswith("/staff") and "GET" in rule.methods and not rule.arguments
               and endpoint_role(app, rule.endpoint) is not None]  # fmt: skip
    assert len(guarded) >= 10
    for rule in guarded:
        response = client.get(rule.rule)
        assert response.status_code == 302, rule.rule
        assert response.headers["Location"].startswith("/staff/login"), rule.rule
    page = text_of(client.get("/staff/login/code"))
    assert "sechsstelligen Code" in page and "staff-nav" not in page

    done = enter_code(client, code(secret))
    assert done.status_code == 302 and done.headers["Location"] == "/staff/"
    assert client.get("/staff/users").status_code == 200
    db.session.expire_all()
    assert db.session.get(StaffUser, user.id).last_login_at is not None


def test_the_code_step_keeps_the_page_asked_for(client, db):
    user = staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    secret, _codes = with_two_factor(db, user)
    client.get("/staff/users")
    token = csrf_token(client, "/staff/login")
    client.post("/staff/login?next=/staff/users", data={"email": user.email, "password": PASSWORD,
                                                        "csrf_token": token})  # fmt: skip
    assert enter_code(client, code(secret)).headers["Location"] == "/staff/users"


def test_wrong_replayed_and_older_codes_are_refused(app, client, db):
    user = staff_user(db)
    secret, _codes = with_two_factor(db, user)
    login(client, user.email, PASSWORD)
    wrong = enter_code(client, "123456" if code(secret) != "123456" else "654321")
    assert wrong.status_code == 401 and "Dieser Code stimmt nicht" in text_of(wrong)
    assert client.get("/staff/").status_code == 302
    assert enter_code(client, code(secret)).status_code == 302  # the right one
    sign_out(client)

    # Someone who watched the code being typed tries it within its 30 seconds, on another device.
    other = app.test_client()
    login(other, user.email, PASSWORD)
    replayed = enter_code(other, code(secret))
    assert replayed.status_code == 401 and "schon verwendet" in text_of(replayed)
    older = enter_code(other, code(secret, -1))  # the code before it, still inside the clock's tolerance
    assert older.status_code == 401
    assert other.get("/staff/").status_code == 302
    assert enter_code(other, code(secret, 1)).status_code == 302  # the app's next code works


def test_a_recovery_code_works_once(app, client, db):
    user = staff_user(db)
    _secret, codes = with_two_factor(db, user)
    login(client, user.email, PASSWORD)
    answer = enter_code(client, codes[3].upper().replace("-", " "))  # typed as read off paper
    assert answer.status_code == 302
    assert "9 sind übrig" in text_of(client.get("/staff/"))
    sign_out(client)
    login(client, user.email, PASSWORD)
    again = enter_code(client, codes[3])
    assert again.status_code == 401 and client.get("/staff/").status_code == 302
    assert enter_code(client, codes[4]).status_code == 302


def test_guessing_codes_is_rate_limited_per_account(app, client, db):
    user = staff_user(db)
    secret, _codes = with_two_factor(db, user)
    login(client, user.email, PASSWORD)
    wrong = "000000" if code(secret) not in ("000000",) else "111111"
    statuses = [enter_code(client, wrong).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert enter_code(client, code(secret)).status_code == 429  # even the right code waits now
    # A second client (another address, the same stolen password) gets no fresh allowance.
    other = app.test_client()
    login(other, user.email, PASSWORD)
    limited = enter_code(other, code(secret))
    assert limited.status_code == 429 and "Zu viele Versuche" in text_of(limited)
    assert other.get("/staff/").status_code == 302


def test_a_password_change_voids_the_half_signed_in_session(app, client, db):
    from newsletter.staff import accounts

    user = staff_user(db)
    secret, _codes = with_two_factor(db, user)
    login(client, user.email, PASSWORD)
    accounts.set_staff_password(db.session, user, "an entirely new passphrase")
    db.session.commit()
    answer = post(client, "/staff/login/code", "/staff/login", code=code(secret))
    assert answer.status_code == 302 and answer.headers["Location"] == "/staff/login"
    assert client.get("/staff/").status_code == 302


def test_turning_it_off_asks_for_the_password_or_a_code(client, db):
    user = staff_user(db)
    secret, _codes = with_two_factor(db, user)
    sign_in_with_code(client, user, secret)
    for proof in ("not my password at all", "000000" if code(secret) != "000000" else "111111"):
        client.post("/staff/account/two-factor/off",
                    data={"proof": proof, "csrf_token": csrf_token(client, "/staff/account")})  # fmt: skip
        assert "weder Ihr Passwort noch ein gültiger Code" in text_of(client.get("/staff/account"))
        db.session.expire_all()
        assert db.session.get(StaffUser, user.id).two_factor_enabled, proof
    client.post("/staff/account/two-factor/off", data={})  # no CSRF token: nothing happens
    db.session.expire_all()
    assert db.session.get(StaffUser, user.id).two_factor_enabled
    answer = post(client, "/staff/account/two-factor/off", "/staff/account", proof=PASSWORD)
    assert "ist aus" in text_of(client.get(answer.headers["Location"]))
    sign_out(client)
    assert login(client, user.email, PASSWORD).headers["Location"] == "/staff/"  # the password alone again


def test_new_recovery_codes_replace_the_old_ones(client, db):
    user = staff_user(db)
    secret, old = with_two_factor(db, user)
    sign_in_with_code(client, user, secret)
    page = post(client, "/staff/account/recovery-codes", "/staff/account", proof=PASSWORD)
    new = _codes_on(text_of(page))
    assert len(new) == 10 and not set(new) & set(old)
    assert "bisherigen Wiederherstellungscodes gelten nicht mehr" in text_of(page)
    sign_out(client)
    login(client, user.email, PASSWORD)
    assert enter_code(client, old[0]).status_code == 401
    assert enter_code(client, new[0]).status_code == 302


def test_the_secret_cannot_be_read_without_the_secret_key_nor_on_any_page(app, client, db, runner):
    """A copy of the database alone opens nothing: the stored secret is encrypted under SECRET_KEY. The
    admins' page and the command line show only that the second factor is on."""
    user = staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    secret, _codes = with_two_factor(db, user)
    stored = db.session.get(StaffUser, user.id).totp_secret
    assert two_factor._decrypt(app.config["SECRET_KEY"], stored) == secret
    assert two_factor._decrypt("another secret key of the same length, or any other", stored) is None
    sign_in_with_code(client, user, secret)
    for shown in (text_of(client.get("/staff/users")), text_of(client.get("/staff/account")),
                  runner.invoke(args=["users", "list"]).output):  # fmt: skip
        assert secret not in shown and two_factor.grouped(secret) not in shown and stored not in shown
    assert "2fa" in runner.invoke(args=["users", "list"]).output


@pytest.mark.parametrize("how", ["admins", "environment"])
def test_when_required_a_member_without_it_sets_it_up_before_any_page(app, client, db, monkeypatch, how):
    chefin = staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    secret, _codes = with_two_factor(db, chefin)
    editor = staff_user(db, "eda@example.org")
    laptop = app.test_client()
    sign_in(laptop, editor)  # signed in before the rule
    assert laptop.get("/staff/").status_code == 200

    if how == "admins":
        sign_in_with_code(client, chefin, secret)
        answer = post(client, "/staff/users/two-factor", "/staff/users", require="y")
        assert "Ab jetzt meldet sich jedes Teammitglied" in text_of(client.get(answer.headers["Location"]))
    else:
        monkeypatch.setitem(app.config, "STAFF_REQUIRE_2FA", True)

    assert laptop.get("/staff/").status_code == 302  # the session without a second factor ended
    answer = login(laptop, editor.email, PASSWORD)
    assert answer.headers["Location"] == SETUP
    for url in ("/staff/", "/staff/articles", "/staff/issues", "/staff/account"):
        refused = laptop.get(url)
        assert refused.status_code == 302 and refused.headers["Location"].startswith("/staff/login"), url
    page = text_of(laptop.get(SETUP))
    assert "verlangt von jedem Teammitglied einen zweiten Faktor" in page and "Jetzt nicht" not in page
    steady_step()
    done = laptop.post(SETUP, data={"code": code(_secret_on(page)), "csrf_token": csrf_token(laptop, SETUP)})
    assert done.status_code == 200 and len(_codes_on(text_of(done))) == 10
    assert laptop.get("/staff/").status_code == 200

    # Under the rule it cannot be turned off.
    laptop.post("/staff/account/two-factor/off",
                data={"proof": PASSWORD, "csrf_token": csrf_token(laptop, "/staff/account")})  # fmt: skip
    db.session.expire_all()
    assert db.session.get(StaffUser, editor.id).two_factor_enabled


def test_an_admin_without_a_second_factor_cannot_require_it(client, db):
    sign_in(client, staff_user(db, "chefin@example.org", role=StaffRole.ADMIN))
    answer = client.post("/staff/users/two-factor",
                         data={"require": "y", "csrf_token": csrf_token(client, "/staff/users")})  # fmt: skip
    assert "zuerst für Ihr eigenes Konto" in text_of(client.get(answer.headers["Location"]))
    assert not two_factor.required_by_admins(db.session)
    assert client.get("/staff/").status_code == 200  # and the admin is still signed in


def test_one_code_sent_twice_at_the_same_moment_lets_one_in(app, db):
    """The race a replay would need: two requests with the same fresh code, each in its own transaction,
    released together. The forward-only UPDATE of the last step lets exactly one through."""
    user = staff_user(db)
    secret, _codes = with_two_factor(db, user)
    value = code(secret)
    user_id = user.id  # read here: the test's own session is not for two threads at once
    barrier = threading.Barrier(2)
    results: list[two_factor.CodeResult] = []

    def attempt() -> None:
        with app.app_context(), Session(db.engine) as session:
            member = session.get(StaffUser, user_id)
            barrier.wait()
            results.append(two_factor.verify_code(session, member, value, app.config["SECRET_KEY"]))
            session.commit()

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(r.value for r in results) == ["accepted", "replayed"]


def test_the_command_line_resets_it_for_a_lost_phone(app, client, db, runner):
    user = staff_user(db)
    secret, _codes = with_two_factor(db, user)
    sign_in_with_code(client, user, secret)
    result = runner.invoke(args=["users", "reset-2fa", "EDITOR@example.org"])
    assert result.exit_code == 0 and "is off" in result.output
    assert client.get("/staff/").status_code == 302  # the sessions made with the old phone ended
    assert login(client, user.email, PASSWORD).headers["Location"] == "/staff/"
    assert runner.invoke(args=["users", "reset-2fa", "nobody@example.org"]).exit_code == 1
