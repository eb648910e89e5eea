"""Every action the audit log covers leaves exactly one entry naming who did it, what, to what and from
where: on the staff pages (the client's address), on the command line (``cli`` and ``user@host``), by the
clock (``system``) and by a reader through their own link (``reader``, no address). Readers are named by
number only: after an erasure the address is nowhere in the log.

Tried besides: refused actions (pausing a draft, a second cancel, a wrong erase confirmation, a failed
staff creation) and an action rolled back after its entry was written leave no entry."""

from __future__ import annotations

import getpass
import socket
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from db import utcnow
from newsletter.editorial.models import Feed, IssueState
from newsletter.platform.access import StaffRole
from newsletter.platform.audit import AuditEntry
from newsletter.readers import links
from newsletter.readers.models import ImportState, Newsletter, Subscriber, SubscriberImport
from newsletter.sending import tasks as sending_tasks
from newsletter.staff import accounts
from newsletter.staff.models import StaffApiToken, StaffSession, StaffUser
from tests.readers.factories import make_newsletter, make_reader
from tests.readers.imports.pages import report, start, upload
from tests.sending.factories import issue_with_readers
from tests.staff.factories import PASSWORD, sign_in, staff_user
from tests.support.web import csrf_token, login, text_of

CLIENT = "127.0.0.1"  # the test client's address
SERVER = f"{getpass.getuser()}@{socket.gethostname()}"  # where a command on this machine comes from


def entries(db, action: str | None = None) -> list[AuditEntry]:
    db.session.expire_all()
    query = select(AuditEntry).order_by(AuditEntry.id)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return list(db.session.scalars(query))


def the_entry(db, action: str, *, by, target: str, address: str = CLIENT) -> AuditEntry:
    """The one entry of ``action``; it names ``by`` (a staff user or a label), ``target`` and ``address``."""
    found = entries(db, action)
    assert len(found) == 1, f"{action}: {len(found)} entries"
    entry = found[0]
    if isinstance(by, StaffUser):
        assert (entry.actor, entry.actor_id) == (by.email, by.id), action
    else:
        assert (entry.actor, entry.actor_id) == (by, None), action
    assert entry.target == target, action
    assert entry.address == address, action
    assert entry.at > utcnow() - timedelta(minutes=5)
    return entry


def post(client, to: str, page: str, **data):
    """Send a form of ``page`` to ``to`` with the page's CSRF token, as the browser does."""
    return client.post(to, data={"csrf_token": csrf_token(client, page), **data})


# -- sending ----------------------------------------------------------------------------------------------


def test_sending_from_the_issue_page_leaves_one_entry_per_action(app, db, client):
    eda = staff_user(db, "eda@example.org")
    sign_in(client, eda)
    issue = issue_with_readers(db)
    page = f"/staff/issues/{issue.id}"
    post(client, f"{page}/send", page)
    post(client, f"{page}/pause", page)
    post(client, f"{page}/resume", page)
    post(client, f"{page}/cancel", page)
    target = f"issue:{issue.id}"
    assert the_entry(db, "issue.send", by=eda, target=target).detail == {"readers_added": 3}
    for action in ("issue.pause", "issue.resume"):
        the_entry(db, action, by=eda, target=target)
    assert the_entry(db, "issue.cancel", by=eda, target=target).detail == {"rows_cancelled": 3}
    # Refused: nothing to pause, cancelled already. No entry for what did not happen.
    post(client, f"{page}/pause", page)
    post(client, f"{page}/cancel", page)
    assert len(entries(db, "issue.pause")) == len(entries(db, "issue.cancel")) == 1


def test_scheduling_unscheduling_and_a_test_send_leave_one_entry_each(app, db, client):
    eda = staff_user(db, "eda@example.org")
    sign_in(client, eda)
    issue = issue_with_readers(db)
    page = f"/staff/issues/{issue.id}"
    when = f"{utcnow().year + 1}-01-15T09:30"  # Berlin winter time: 08:30 UTC
    post(client, f"{page}/schedule", page, send_at=when)
    post(client, f"{page}/unschedule", page)
    preview = f"{page}/preview"
    post(client, f"{page}/test-send", preview, variant="monthly")
    target = f"issue:{issue.id}"
    scheduled = the_entry(db, "issue.schedule", by=eda, target=target)
    assert scheduled.detail == {"send_at": f"{utcnow().year + 1}-01-15T08:30:00+00:00"}
    the_entry(db, "issue.unschedule", by=eda, target=target)
    test = the_entry(db, "issue.test_send", by=eda, target=target)
    assert test.detail == {"to": ["eda@example.org"], "variant": "monthly", "locale": "de"}


def test_the_command_line_sends_pauses_resumes_and_cancels_as_cli(app, db, runner):
    issue = issue_with_readers(db)
    for command in ("send", "pause", "resume", "cancel"):
        result = runner.invoke(args=["newsletter", command, str(issue.id)])
        assert result.exit_code == 0, result.output
        the_entry(db, f"issue.{command}", by="cli", target=f"issue:{issue.id}", address=SERVER)


def test_a_scheduled_issue_started_by_the_clock_is_the_systems_entry(app, db):
    issue = issue_with_readers(db)
    issue.state, issue.scheduled_at = IssueState.SCHEDULED, utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert sending_tasks.sweep_sends()["started"] == 1
    assert sending_tasks.sweep_sends()["started"] == 0  # a second sweep starts nothing and records nothing
    entry = the_entry(db, "issue.send", by="system", target=f"issue:{issue.id}", address=SERVER)
    assert entry.detail == {"scheduled": True, "readers_added": 3}


# -- readers ---------------------------------------------------------------------------------------------


def test_staff_changes_to_a_reader_and_the_erasure_name_the_reader_by_number_only(app, db, client):
    chefin = staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    sign_in(client, chefin)
    news = make_newsletter(db, is_default=True)
    db.session.commit()
    new = "/staff/subscribers/new"
    post(client, new, new, email="Lena.Leser@example.org", newsletters=news.id, locale="de",
         consent="recorded", consent_detail="Messe 2026, Liste")  # fmt: skip
    reader_id = db.session.scalar(select(Subscriber.id))
    target, url = f"reader:{reader_id}", f"/staff/subscribers/{reader_id}"
    assert the_entry(db, "reader.add", by=chefin, target=target).detail == {"consent": "recorded"}
    post(client, url, url, newsletters=news.id, locale="en")
    assert the_entry(db, "reader.update", by=chefin, target=target).detail["fields"] == ["locale"]
    post(client, f"{url}/unsubscribe", url)
    post(client, f"{url}/unsubscribe", url)  # had left already: nothing happens, nothing is recorded
    the_entry(db, "reader.unsubscribe", by=chefin, target=target)
    post(client, f"{url}/erase", f"{url}/erase", confirm_email="jemand@example.org")  # refused
    assert entries(db, "reader.erase") == []
    post(client, f"{url}/erase", f"{url}/erase", confirm_email="lena.leser@example.org")
    assert db.session.get(Subscriber, reader_id) is None
    assert the_entry(db, "reader.erase", by=chefin, target=target).detail == {"via": "staff"}
    everything = repr([(e.actor, e.target, e.address, e.detail) for e in entries(db)]).lower()
    assert "lena" not in everything


def test_a_readers_own_download_and_erasure_are_recorded_without_their_address(app, db, client):
    reader = make_reader(db, "Lena@example.org", newsletters=[make_newsletter(db)])
    db.session.commit()
    path = links.preferences_url("", app.config["SECRET_KEY"], reader.id)
    assert client.post(f"{path}/export", data={"csrf_token": csrf_token(client, path)}).status_code == 200
    done = client.post(f"{path}/erase", data={"csrf_token": csrf_token(client, path), "confirm": "y"})
    assert "Ihre Daten sind gelöscht" in text_of(done)
    target = f"reader:{reader.id}"
    the_entry(db, "reader.export_data", by="reader", target=target, address=None)
    erased = the_entry(db, "reader.erase", by="reader", target=target, address=None)
    assert erased.detail == {"via": "preference center"}
    assert "lena" not in repr([(e.actor, e.target, e.detail) for e in entries(db)]).lower()


def test_the_reader_export_says_what_was_exported_but_not_the_address_searched_for(app, db, client):
    chefin = staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    sign_in(client, chefin)
    response = client.get("/staff/subscribers/export.csv?status=active&q=lena@example.org")
    assert response.status_code == 200 and response.get_data()  # the download itself still works
    entry = the_entry(db, "readers.export", by=chefin, target="export:subscribers")
    assert entry.detail == {"status": "active", "address_prefix": True}


def test_an_import_leaves_an_entry_for_upload_start_report_and_delete(app, db, client):
    eda = staff_user(db, "eda@example.org")
    sign_in(client, eda)
    make_newsletter(db, is_default=True)
    db.session.commit()
    assert upload(client, b"email\nneu@example.org\n", name="herbst.csv").status_code == 302
    record = db.session.scalar(select(SubscriberImport))
    target = f"import:{record.id}"
    assert the_entry(db, "import.upload", by=eda, target=target).detail == {"file": "herbst.csv", "bytes": 22}
    start(client, record.id, {0: "email"})
    assert the_entry(db, "import.start", by=eda, target=target).detail["consent"] == "none"
    report(client, record.id)
    the_entry(db, "import.download_report", by=eda, target=target)
    record.state = ImportState.DONE  # as the worker leaves it; a running import cannot be deleted
    db.session.commit()
    post(client, f"/staff/imports/{record.id}/delete", f"/staff/imports/{record.id}")
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(SubscriberImport)) == 0
    the_entry(db, "import.delete", by=eda, target=target)


# -- settings and statistics ---------------------------------------------------------------------------


def test_newsletter_and_feed_settings_and_a_manual_feed_import_are_recorded(app, db, client):
    eda = staff_user(db, "eda@example.org")
    sign_in(client, eda)
    form = {"name": "KI-News", "slug": "ki-news", "description": "", "is_public": "y", "is_default": "y",
            "position": 1}  # fmt: skip
    post(client, "/staff/newsletters/new", "/staff/newsletters/new", **form)
    news = db.session.scalar(select(Newsletter))
    target = f"newsletter:{news.id}"
    assert the_entry(db, "newsletter.create", by=eda, target=target).detail["slug"] == "ki-news"
    url = f"/staff/newsletters/{news.id}"
    post(client, url, url, **{**form, "name": "KI-News täglich"})
    assert the_entry(db, "newsletter.update", by=eda, target=target).detail["name"] == "KI-News täglich"
    post(client, "/staff/feeds", "/staff/feeds", url="https://news.example.org/rss", interval_minutes=30)
    feed = db.session.scalar(select(Feed))
    created = the_entry(db, "feed.create", by=eda, target=f"feed:{feed.id}")
    assert created.detail == {"url": "https://news.example.org/rss", "minutes": 30}
    post(client, f"/staff/feeds/{feed.id}/import", "/staff/feeds")
    the_entry(db, "feed.import", by=eda, target=f"feed:{feed.id}")


def test_a_statistics_download_is_recorded_with_its_table_and_days(app, db, client):
    eda = staff_user(db, "eda@example.org")
    sign_in(client, eda)
    response = client.get("/staff/stats/export/issues.csv?period=custom&from=2026-01-01&to=2026-01-31")
    assert response.status_code == 200
    entry = the_entry(db, "stats.export", by=eda, target="export:issues")
    assert entry.detail == {"from": "2026-01-01", "to": "2026-01-31"}
    assert client.get("/staff/stats/export/nonsense.csv").status_code == 404
    assert len(entries(db, "stats.export")) == 1


# -- staff accounts, tokens, sign-ins ------------------------------------------------------------------


def test_account_commands_are_recorded_as_cli_from_this_machine(app, db, runner):
    made = runner.invoke(args=["users", "create", "neu@example.org", "--role", "admin",
                               "--password", PASSWORD])  # fmt: skip
    assert made.exit_code == 0, made.output
    user = accounts.find_staff_user(db.session, "neu@example.org")
    target = f"staff:{user.id}"
    created = the_entry(db, "staff.create", by="cli", target=target, address=SERVER)
    assert created.detail == {"email": "neu@example.org", "role": "admin"}
    new_password = ["--password", "another long one!"]
    again = runner.invoke(args=["users", "set-password", "neu@example.org", *new_password])
    assert again.exit_code == 0, again.output
    the_entry(db, "staff.set_password", by="cli", target=target, address=SERVER)
    staff_user(db, "chefin@example.org", role="admin")  # so that neu is not the last admin
    for _ in range(2):  # the second changes nothing and records nothing
        assert runner.invoke(args=["users", "set-role", "neu@example.org", "editor"]).exit_code == 0
    role = the_entry(db, "staff.set_role", by="cli", target=target, address=SERVER)
    assert role.detail == {"email": "neu@example.org", "from": "admin", "to": "editor"}
    for _ in range(2):  # the second finds the account deactivated already
        assert runner.invoke(args=["users", "deactivate", "neu@example.org"]).exit_code == 0
    the_entry(db, "staff.deactivate", by="cli", target=target, address=SERVER)
    short = runner.invoke(args=["users", "create", "kurz@example.org", "--password", "short"])
    assert short.exit_code != 0 and len(entries(db, "staff.create")) == 2  # neu and chefin only


def test_tokens_made_and_revoked_on_the_page_and_on_the_command_line(app, db, client, runner):
    chefin = staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    sign_in(client, chefin)
    post(client, "/staff/tokens", "/staff/tokens", staff_user_id=chefin.id, name="Grafana")
    token = db.session.scalar(select(StaffApiToken))
    made = the_entry(db, "token.create", by=chefin, target=f"token:{token.id}")
    assert made.detail["for"] == "chefin@example.org" and made.detail["name"] == "Grafana"
    post(client, f"/staff/tokens/{token.id}/revoke", "/staff/tokens")
    the_entry(db, "token.revoke", by=chefin, target=f"token:{token.id}")

    cli_made = runner.invoke(args=["newsletter", "token", "create", "chefin@example.org", "--name", "TV"])
    assert cli_made.exit_code == 0, cli_made.output
    second = db.session.scalars(select(StaffApiToken).order_by(StaffApiToken.id.desc())).first()
    assert runner.invoke(args=["newsletter", "token", "revoke", str(second.id)]).exit_code == 0
    for action in ("token.create", "token.revoke"):
        latest = entries(db, action)[-1]
        assert (latest.actor, latest.target, latest.address) == ("cli", f"token:{second.id}", SERVER)
    # The secret itself is in no entry.
    shown = cli_made.output.strip().splitlines()[-1]
    assert shown.startswith("btr_") and shown not in repr([e.detail for e in entries(db)])


def test_each_sign_in_and_each_failed_attempt_is_one_entry(app, db, client):
    eda = staff_user(db, "eda@example.org")
    assert login(client, "eda@example.org", "not the password").status_code == 401
    assert login(client, "nobody@example.org", "my-secret-password").status_code == 401
    assert login(client, "EDA@example.org", PASSWORD).status_code == 302
    the_entry(db, "staff.sign_in", by=eda, target=f"staff:{eda.id}")
    wrong, unknown = entries(db, "staff.sign_in_failed")
    assert (wrong.actor, wrong.target, wrong.address) == ("anonymous", f"staff:{eda.id}", CLIENT)
    assert (unknown.actor, unknown.target, unknown.address) == ("anonymous", "", CLIENT)
    # What was typed is not kept: it may be a password typed into the wrong field.
    assert "nobody" not in repr([(e.target, e.detail) for e in entries(db)])


# -- one transaction ----------------------------------------------------------------------------------------


def test_an_action_rolled_back_leaves_no_entry_and_a_committed_one_always_has_one(app, db):
    def count(model) -> int:
        return db.session.scalar(select(func.count()).select_from(model))

    # The entry is written, then the action fails further on and its transaction is rolled back.
    accounts.create_staff_user(db.session, "erste@example.org", PASSWORD, "editor")
    with pytest.raises(accounts.AccountError):
        accounts.create_staff_user(db.session, "zweite@example.org", "too short", "editor")
    db.session.rollback()
    assert count(StaffUser) == 0 and count(AuditEntry) == 0
    accounts.create_staff_user(db.session, "erste@example.org", PASSWORD, "editor")
    db.session.commit()
    assert count(StaffUser) == 1 and [e.action for e in entries(db)] == ["staff.create"]


def test_a_send_refused_before_anything_is_written_leaves_no_entry(app, db, client):
    sign_in(client, StaffRole.EDITOR)
    issue = issue_with_readers(db)
    issue.state = IssueState.SENT
    db.session.commit()
    page = f"/staff/issues/{issue.id}"
    response = post(client, f"{page}/send", page)
    assert "wurde nicht gesendet" in text_of(client.get(response.headers["Location"]))
    assert entries(db, "issue.send") == []


def test_the_erasure_form_page_and_the_upload_form_record_nothing(app, db, client):
    """Opening pages is not an action: only what changes or exports data is recorded."""
    chefin = staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    sign_in(client, chefin)
    reader = make_reader(db, "leser@example.org")
    db.session.commit()
    before = len(entries(db))
    pages = (f"/staff/subscribers/{reader.id}/erase", "/staff/imports", "/staff/subscribers", "/staff/audit")
    for url in pages:
        assert client.get(url).status_code == 200, url
    assert len(entries(db)) == before


def test_ending_a_session_and_signing_out_everywhere_are_recorded(app, db, client):
    user = sign_in(client, "editor")
    other = app.test_client()
    sign_in(other, user)
    rows = list(db.session.scalars(select(StaffSession).where(StaffSession.staff_user_id == user.id)
                                   .order_by(StaffSession.id)))  # fmt: skip
    token = csrf_token(client, "/staff/sessions")
    ended = client.post(f"/staff/sessions/{rows[-1].id}/end", data={"csrf_token": token})
    assert ended.status_code == 302
    entry = the_entry(db, "staff.end_session", by=user, target=f"staff:{user.id}")
    assert entry.detail == {"session": rows[-1].id}
    token = csrf_token(client, "/staff/sessions")
    everywhere = client.post("/staff/sessions/end-all", data={"csrf_token": token})
    assert everywhere.status_code == 302
    the_entry(db, "staff.sign_out_everywhere", by=user, target=f"staff:{user.id}")
