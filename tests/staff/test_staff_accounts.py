"""Staff accounts in the browser, for admins: invite by mail, change roles, deactivate and reactivate, send
a password link; and what the invited member and a member who forgot the password see. Attacks tried: an
editor on every admin action, a forged, an expired, a reused, a withdrawn and a superseded invitation, a
forged, an expired and a reused reset link, "forgot password" asked about an unknown address (the answer
must not differ), the last admin demoted or deactivated, role changes without CSRF token."""

from __future__ import annotations

import re

import pytest

from newsletter.platform import tokens
from newsletter.platform.access import StaffRole
from newsletter.staff.models import StaffInvitation, StaffUser
from tests.e2e.journeys import links, plain_text
from tests.staff.factories import PASSWORD, post, sign_in, staff_user
from tests.support.web import csrf_token, login, text_of
from tests.support.worker import run_jobs

NEW_PASSWORD = "a fresh and long passphrase"


def _admin(client, db, email="chefin@example.org") -> StaffUser:
    return sign_in(client, staff_user(db, email, role=StaffRole.ADMIN))


def _invite(client, email="neu@example.org", role="editor", language="de"):
    return post(client, "/staff/users/invite", "/staff/users", email=email, role=role, language=language)


def _path(url: str) -> str:
    return url.removeprefix("http://localhost")


def _invitation_link(app, relay, count=1) -> str:
    run_jobs(app)
    message = relay.wait_for(count)[-1]
    [url] = links(message, "http://localhost", "/staff/invitation/")
    return _path(url)


def _accept(client, path, name="Nina Neu", password=NEW_PASSWORD, confirm=None, token_from=None):
    """The invitation's form sent; ``token_from`` is another page to take the CSRF token from, for a link
    whose own page refuses to show the form."""
    return client.post(path, data={"name": name, "password": password, "confirm": confirm or password,
                                   "csrf_token": csrf_token(client, token_from or path)})  # fmt: skip


# -- who may ------------------------------------------------------------------------------------------


def test_an_editor_is_refused_every_account_action(client, db):
    other = staff_user(db, "andere@example.org")
    sign_in(client, StaffRole.EDITOR)
    assert client.get("/staff/users").status_code == 403
    token = csrf_token(client, "/staff/")
    for url, data in (("/staff/users/invite", {"email": "x@example.org", "role": "admin", "language": "de"}),
                      (f"/staff/users/{other.id}/role", {f"u{other.id}-role": "admin"}),
                      (f"/staff/users/{other.id}/deactivate", {}),
                      (f"/staff/users/{other.id}/password-reset", {}),
                      ("/staff/users/two-factor", {"require": "y"})):  # fmt: skip
        answer = client.post(url, data={**data, "csrf_token": token})
        assert answer.status_code == 403 and "Nicht erlaubt" in text_of(answer), url
    db.session.expire_all()
    assert db.session.get(StaffUser, other.id).role is StaffRole.EDITOR
    assert db.session.query(StaffInvitation).count() == 0


def test_the_admin_page_lists_accounts_with_their_second_factor(client, db):
    _admin(client, db)
    staff_user(db, "eda@example.org", name="Eda")
    page = text_of(client.get("/staff/users"))
    assert "eda@example.org" in page and "Eda" in page and "Zwei-Faktor" in page
    assert "Neues Teammitglied einladen" in page and "Zwei-Faktor-Anmeldung für alle" in page


# -- invitations --------------------------------------------------------------------------------------


def test_an_invited_member_joins_and_is_offered_two_factor_sign_in(app, client, db, relay):
    _admin(client, db)
    answer = _invite(client, "Nina@Example.org", role="admin")
    shown = text_of(client.get(answer.headers["Location"]))
    assert "Die Einladung an Nina@example.org ist unterwegs" in shown
    assert "Offene Einladungen" in text_of(client.get("/staff/users"))
    path = _invitation_link(app, relay)
    [message] = relay.messages
    assert message["Subject"] == "Ihre Einladung in die Redaktion von KI-Kompass"
    assert "72 Stunden" in plain_text(message) and "Admin" in plain_text(message)

    newcomer = app.test_client()
    form = newcomer.get(path)
    assert form.status_code == 200 and "Nina@example.org" in text_of(form)
    assert form.headers["Referrer-Policy"] == "no-referrer"
    too_short = _accept(newcomer, path, password="short")
    assert too_short.status_code == 400 and "mindestens 12 Zeichen" in text_of(too_short)
    mismatch = _accept(newcomer, path, confirm="something else entirely")
    assert mismatch.status_code == 400 and "nicht gleich" in text_of(mismatch)
    joined = _accept(newcomer, path)
    assert joined.status_code == 302 and joined.headers["Location"] == "/staff/account/two-factor"
    setup = text_of(newcomer.get(joined.headers["Location"]))
    assert "Willkommen, Nina Neu" in setup and "Jetzt nicht" in setup  # offered, not required
    assert newcomer.get("/staff/users").status_code == 200  # an admin, as invited

    user = db.session.query(StaffUser).filter_by(email="Nina@example.org").one()
    assert user.role is StaffRole.ADMIN and user.name == "Nina Neu"
    assert "Offene Einladungen" not in text_of(client.get("/staff/users"))
    # Signing in later works with the chosen password.
    assert login(app.test_client(), "nina@example.org", NEW_PASSWORD).status_code == 302


def test_the_invitation_mail_comes_in_english_when_chosen(app, client, db, relay):
    _admin(client, db)
    _invite(client, "nina@example.org", language="en")
    run_jobs(app)
    [message] = relay.wait_for(1)
    assert message["Subject"] == "Your invitation to the newsroom of KI-Kompass"
    assert "valid for 72 hours" in plain_text(message)


def test_an_invitation_link_works_once(app, client, db, relay):
    _admin(client, db)
    _invite(client)
    path = _invitation_link(app, relay)
    assert _accept(app.test_client(), path).status_code == 302
    again = app.test_client().get(path)
    assert again.status_code == 410 and "Dieser Link wurde schon verwendet" in text_of(again)
    second = _accept(app.test_client(), path, name="Mallory", password="mallory's own password",
                     token_from="/staff/login")
    assert second.status_code == 410
    assert db.session.query(StaffUser).filter_by(email="neu@example.org").one().name == "Nina Neu"


def test_a_forged_invitation_is_refused(app, client, db, relay):
    _admin(client, db)
    _invite(client)
    path = _invitation_link(app, relay)
    head, _, signature = path.rpartition(".")
    forged = head + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    answer = app.test_client().get(forged)
    assert answer.status_code == 400 and "Dieser Link ist ungültig" in text_of(answer)
    # A token signed for another purpose (a password reset) with the same payload.
    other = tokens.make_token("staff-password-reset", [1, "neu@example.org"])
    assert app.test_client().get(f"/staff/invitation/{other}").status_code == 400
    # An invitation of our own making for an admin role: without the key, only a forgery.
    assert app.test_client().get("/staff/invitation/WzEsIm5ldUBleGFtcGxlLm9yZyJd.x.y").status_code == 400
    assert db.session.query(StaffUser).count() == 1


def test_an_expired_invitation_says_so(app, client, db, relay, monkeypatch):
    _admin(client, db)
    _invite(client)
    path = _invitation_link(app, relay)
    monkeypatch.setitem(tokens.LIFETIMES, "staff-invitation", -1)
    answer = app.test_client().get(path)
    assert answer.status_code == 410 and "Dieser Link ist abgelaufen" in text_of(answer)
    assert "neue Einladung" in text_of(answer)
    assert "abgelaufen" in text_of(client.get("/staff/users"))  # the admin sees it in the list too
    assert _accept(app.test_client(), path, token_from="/staff/login").status_code == 410


def test_a_withdrawn_or_superseded_invitation_opens_nothing(app, client, db, relay):
    _admin(client, db)
    _invite(client)
    first = _invitation_link(app, relay, 1)
    _invite(client)  # sent again: the first link stops working
    second = _invitation_link(app, relay, 2)
    assert app.test_client().get(first).status_code == 410
    assert app.test_client().get(second).status_code == 200
    invitation = db.session.query(StaffInvitation).filter_by(revoked_at=None).one()
    client.post(f"/staff/invitations/{invitation.id}/revoke",
                data={"csrf_token": csrf_token(client, "/staff/users")})  # fmt: skip
    assert app.test_client().get(second).status_code == 410


def test_no_invitation_for_an_address_with_an_account(app, client, db, relay):
    _admin(client, db)
    staff_user(db, "eda@example.org")
    answer = _invite(client, "EDA@example.org")
    assert answer.status_code == 400 and "hat schon ein Konto" in text_of(answer)
    run_jobs(app)
    assert relay.messages == []


# -- roles and deactivation -------------------------------------------------------------------------


def test_a_role_change_holds_at_once(app, client, db):
    _admin(client, db)
    eda = staff_user(db, "eda@example.org")
    laptop = app.test_client()
    sign_in(laptop, eda)
    assert laptop.get("/staff/users").status_code == 403
    token = csrf_token(client, "/staff/users")
    client.post(f"/staff/users/{eda.id}/role", data={f"u{eda.id}-role": "admin"})  # no CSRF token
    db.session.expire_all()
    assert db.session.get(StaffUser, eda.id).role is StaffRole.EDITOR
    bogus = client.post(f"/staff/users/{eda.id}/role", data={f"u{eda.id}-role": "owner", "csrf_token": token})
    assert bogus.status_code == 400
    answer = client.post(f"/staff/users/{eda.id}/role", data={f"u{eda.id}-role": "admin",
                                                              "csrf_token": token})  # fmt: skip
    assert "ist jetzt Admin" in text_of(client.get(answer.headers["Location"]))
    # Her browser goes on, and every page asks for the role as it is now.
    assert laptop.get("/staff/users").status_code == 200


def test_deactivation_ends_every_session_and_reactivation_needs_the_password(app, client, db):
    _admin(client, db)
    eda = staff_user(db, "eda@example.org")
    laptop = app.test_client()
    sign_in(laptop, eda)
    token = csrf_token(client, "/staff/users")
    answer = client.post(f"/staff/users/{eda.id}/deactivate", data={"csrf_token": token})
    assert "ist deaktiviert und überall abgemeldet" in text_of(client.get(answer.headers["Location"]))
    assert laptop.get("/staff/").status_code == 302
    assert login(laptop, eda.email, PASSWORD).status_code == 401
    client.post(f"/staff/users/{eda.id}/reactivate", data={"csrf_token": token})
    assert laptop.get("/staff/").status_code == 302  # no old session comes back
    assert login(laptop, eda.email, PASSWORD).status_code == 302


@pytest.mark.parametrize("action", ["demote", "deactivate"])
def test_the_last_active_admin_stays(app, client, db, action):
    chefin = _admin(client, db)
    retired = staff_user(db, "alt@example.org", role=StaffRole.ADMIN)
    retired.active = False  # a deactivated admin does not count
    db.session.commit()
    token = csrf_token(client, "/staff/users")
    if action == "demote":
        answer = client.post(f"/staff/users/{chefin.id}/role", data={f"u{chefin.id}-role": "editor",
                                                                     "csrf_token": token})  # fmt: skip
    else:
        answer = client.post(f"/staff/users/{chefin.id}/deactivate", data={"csrf_token": token})
    page = text_of(client.get(answer.headers["Location"]))
    assert "ist der letzte aktive Admin" in page
    db.session.expire_all()
    stored = db.session.get(StaffUser, chefin.id)
    assert stored.active and stored.role is StaffRole.ADMIN
    # With a second admin, the first may step down.
    second = staff_user(db, "zweite@example.org", role=StaffRole.ADMIN)
    client.post(f"/staff/users/{chefin.id}/role", data={f"u{chefin.id}-role": "editor", "csrf_token": token})
    db.session.expire_all()
    assert db.session.get(StaffUser, chefin.id).role is StaffRole.EDITOR
    assert client.get("/staff/users").status_code == 403  # her own session goes on, as an editor
    other = app.test_client()
    sign_in(other, second)
    refused = post(other, f"/staff/users/{second.id}/deactivate", "/staff/")
    assert "letzte aktive Admin" in text_of(other.get(refused.headers["Location"]))


def test_the_command_line_keeps_the_last_admin_too(runner, db):
    staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    for args in (["users", "deactivate", "chefin@example.org"],
                 ["users", "set-role", "chefin@example.org", "editor"]):  # fmt: skip
        result = runner.invoke(args=args)
        assert result.exit_code == 1 and "last active admin" in result.output
    staff_user(db, "zweite@example.org", role=StaffRole.ADMIN)
    assert runner.invoke(args=["users", "set-role", "chefin@example.org", "editor"]).exit_code == 0
    assert runner.invoke(args=["users", "deactivate", "chefin@example.org"]).exit_code == 0
    assert runner.invoke(args=["users", "reactivate", "chefin@example.org"]).exit_code == 0
    listing = runner.invoke(args=["users", "list"]).output
    assert re.search(r"editor\s+active\s+-\s+chefin@example.org", listing)


# -- password resets --------------------------------------------------------------------------------


def _forgot(client, email):
    token = csrf_token(client, "/staff/password/forgot")
    return client.post("/staff/password/forgot", data={"email": email, "csrf_token": token})


def _reset_link(app, relay, count=1) -> str:
    run_jobs(app)
    message = relay.wait_for(count)[-1]
    [url] = links(message, "http://localhost", "/staff/password/reset/")
    return _path(url)


def _set_password(client, path, password=NEW_PASSWORD):
    return client.post(path, data={"password": password, "confirm": password,
                                   "csrf_token": csrf_token(client, path)})  # fmt: skip


def test_the_login_page_leads_to_forgot_password(client):
    page = text_of(client.get("/staff/login"))
    assert 'href="/staff/password/forgot"' in page and "Passwort vergessen?" in page


def test_forgot_password_answers_alike_for_a_known_and_an_unknown_address(app, client, db, relay):
    staff_user(db, "eda@example.org")
    gone = staff_user(db, "weg@example.org")
    gone.active = False
    db.session.commit()
    known = _forgot(client, "EDA@example.org")
    unknown = _forgot(app.test_client(), "niemand@example.org")
    deactivated = _forgot(app.test_client(), "weg@example.org")
    assert known.status_code == unknown.status_code == deactivated.status_code == 200
    assert text_of(known) == text_of(unknown) == text_of(deactivated)
    assert "Wenn diese Adresse zu einem Redaktionskonto gehört" in text_of(known)
    run_jobs(app)
    assert [m["To"] for m in relay.wait_for(1)] == ["eda@example.org"]  # only the active account got mail
    message = relay.messages[0]
    assert message["Subject"] == "Ein neues Passwort für Ihr Redaktionskonto bei KI-Kompass"
    assert "2 Stunden" in plain_text(message)


@pytest.mark.parametrize("address", ["eda@example.org", "niemand@example.org"])
def test_forgot_password_is_rate_limited_alike_per_address(app, client, db, address):
    staff_user(db, "eda@example.org")
    statuses = [_forgot(client, address).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(app, client, db, relay):
    eda = staff_user(db, "eda@example.org")
    laptop = app.test_client()
    sign_in(laptop, eda)
    _forgot(client, "eda@example.org")
    path = _reset_link(app, relay)
    page = client.get(path)
    assert page.status_code == 200 and "eda@example.org" in text_of(page)
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert login(app.test_client(), eda.email, PASSWORD).status_code == 302  # nothing changed by opening it
    done = _set_password(client, path)
    assert done.headers["Location"] == "/staff/login"
    assert "Ihr neues Passwort ist gesetzt" in text_of(client.get("/staff/login"))
    assert laptop.get("/staff/").status_code == 302
    assert login(app.test_client(), eda.email, PASSWORD).status_code == 401
    assert login(app.test_client(), eda.email, NEW_PASSWORD).status_code == 302
    again = app.test_client().get(path)
    assert again.status_code == 410 and "Dieser Link wurde schon verwendet" in text_of(again)
    thief = app.test_client()
    theirs = "the thief's own password"
    stolen = post(thief, path, "/staff/login", password=theirs, confirm=theirs)
    assert stolen.status_code == 410
    assert login(app.test_client(), eda.email, "the thief's own password").status_code == 401


def test_a_forged_or_expired_reset_link_is_refused(app, client, db, relay, monkeypatch):
    staff_user(db, "eda@example.org")
    _forgot(client, "eda@example.org")
    path = _reset_link(app, relay)
    forged = path[:-3] + ("xyz" if not path.endswith("xyz") else "abc")
    answer = app.test_client().get(forged)
    assert answer.status_code == 400 and "Dieser Link ist ungültig" in text_of(answer)
    thief = app.test_client()
    posted = thief.post(forged, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD,
                                      "csrf_token": csrf_token(thief, "/staff/login")})  # fmt: skip
    assert posted.status_code == 400
    other_purpose = tokens.make_token("staff-invitation", [1, "x"])
    assert app.test_client().get(f"/staff/password/reset/{other_purpose}").status_code == 400
    monkeypatch.setitem(tokens.LIFETIMES, "staff-password-reset", -1)
    expired = app.test_client().get(path)
    assert expired.status_code == 410 and "Dieser Link ist abgelaufen" in text_of(expired)
    assert "Neuen Link anfordern" in text_of(expired)
    assert login(app.test_client(), "eda@example.org", PASSWORD).status_code == 302  # unchanged


def test_an_admin_sends_a_reset_link(app, client, db, relay):
    _admin(client, db)
    eda = staff_user(db, "eda@example.org")
    answer = client.post(f"/staff/users/{eda.id}/password-reset",
                         data={"csrf_token": csrf_token(client, "/staff/users")})  # fmt: skip
    assert "ist unterwegs an eda@example.org" in text_of(client.get(answer.headers["Location"]))
    path = _reset_link(app, relay)
    assert _set_password(app.test_client(), path).headers["Location"] == "/staff/login"
    assert login(app.test_client(), eda.email, NEW_PASSWORD).status_code == 302
