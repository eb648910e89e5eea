"""The audit log of staff accounts in the browser: an invitation, its acceptance, a password link, the
newsroom's two-factor rule, and a member's second factor turned on, renewed and off each leave one entry
naming who did it to whom; a withdrawn invitation too. Refused attempts (a wrong code) leave none."""

from __future__ import annotations

import re

from sqlalchemy import select

from newsletter.platform.access import StaffRole
from newsletter.platform.audit import AuditEntry
from newsletter.staff.models import StaffUser
from tests.e2e.journeys import links
from tests.staff.factories import PASSWORD, code, post, sign_in, staff_user, steady_step
from tests.support.web import csrf_token
from tests.support.worker import run_jobs


def _entries(db, action: str) -> list[AuditEntry]:
    db.session.expire_all()
    query = select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
    return list(db.session.scalars(query))


def test_inviting_joining_and_a_password_link_are_recorded(app, client, db, relay):
    chefin = sign_in(client, staff_user(db, "chefin@example.org", role=StaffRole.ADMIN))
    post(client, "/staff/users/invite", "/staff/users", email="neu@example.org", role="editor", language="de")
    [invited] = _entries(db, "staff.invite")
    assert (invited.actor, invited.detail) == (chefin.email, {"email": "neu@example.org", "role": "editor"})
    assert invited.target.startswith("invitation:")
    run_jobs(app)
    [url] = links(relay.wait_for(1)[-1], "http://localhost", "/staff/invitation/")
    path = url.removeprefix("http://localhost")
    newcomer = app.test_client()
    newcomer.post(path, data={"name": "Nina Neu", "password": "a fresh and long passphrase",
                              "confirm": "a fresh and long passphrase",
                              "csrf_token": csrf_token(newcomer, path)})  # fmt: skip
    nina = db.session.scalars(select(StaffUser).where(StaffUser.email == "neu@example.org")).one()
    [joined] = _entries(db, "staff.join")
    assert (joined.actor, joined.target) == (nina.email, f"staff:{nina.id}")

    post(client, f"/staff/users/{nina.id}/password-reset", "/staff/users")
    [link] = _entries(db, "staff.password_link")
    assert (link.actor, link.target) == (chefin.email, f"staff:{nina.id}")

    post(client, "/staff/users/invite", "/staff/users", email="zweite@example.org", role="editor",
         language="de")  # fmt: skip
    second = _entries(db, "staff.invite")[-1]
    invitation_id = int(second.target.split(":")[1])
    post(client, f"/staff/invitations/{invitation_id}/revoke", "/staff/users")
    [withdrawn] = _entries(db, "staff.invite_withdraw")
    assert withdrawn.target == f"invitation:{invitation_id}" and withdrawn.actor == chefin.email


def test_a_second_factor_on_renewed_off_and_the_rule_are_recorded(client, db):
    member = sign_in(client, staff_user(db, "chefin@example.org", role=StaffRole.ADMIN))
    setup = client.get("/staff/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<code class="totp-secret">([A-Z2-7 ]+)</code>', setup).group(1).replace(" ", "")
    steady_step()
    token = csrf_token(client, "/staff/account/two-factor")
    wrong = "000000" if code(secret) != "000000" else "111111"
    client.post("/staff/account/two-factor", data={"code": wrong, "csrf_token": token})
    assert _entries(db, "staff.2fa_on") == []  # a refused code changes nothing
    client.post("/staff/account/two-factor", data={"code": code(secret), "csrf_token": token})
    [on] = _entries(db, "staff.2fa_on")
    assert (on.actor, on.target) == (member.email, f"staff:{member.id}")

    post(client, "/staff/users/two-factor", "/staff/users", require="y")
    [rule] = _entries(db, "settings.require_2fa")
    assert rule.detail == {"on": True} and rule.actor == member.email
    post(client, "/staff/users/two-factor", "/staff/users")
    assert [e.detail for e in _entries(db, "settings.require_2fa")] == [{"on": True}, {"on": False}]

    post(client, "/staff/account/recovery-codes", "/staff/account", proof=PASSWORD)
    assert len(_entries(db, "staff.recovery_codes")) == 1
    post(client, "/staff/account/two-factor/off", "/staff/account", proof=PASSWORD)
    [off] = _entries(db, "staff.2fa_off")
    assert off.target == f"staff:{member.id}"
