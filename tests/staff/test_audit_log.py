"""The audit log's admin page and CSV, its retention and its append-only rule.

Bad inputs tried: an editor on the page and the download, a day that is no date, a range that ends before
it begins, an actor and an action that are not offered, a cursor that is not a number, staff addresses
and a target beginning with = + - @ in the CSV, UPDATE and DELETE straight in SQL (and DELETE with the
purge's setting naming a cutoff of now), changing an entry through the ORM, a negative retention."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from db import utcnow
from newsletter.platform import audit, queues
from newsletter.platform.access import StaffRole
from newsletter.platform.audit import AuditEntry
from newsletter.platform.settings import ConfigError, load_config
from tests.staff.factories import sign_in, staff_user
from tests.support.web import text_of
from tests.support.worker import run_jobs

ROW = re.compile(r'<tr>\s*<td><time datetime="[^"]+">')


def add(db, action: str, *, at: datetime | None = None, actor=audit.CLI, target=None, **detail) -> AuditEntry:
    """An entry as ``audit.record`` writes it; ``at`` moves it into the past (inserted so, never changed)."""
    entry = audit.record(db.session, action, actor=actor, target=target, detail=detail)
    if at is not None:
        entry.at = at  # still pending: this is the row's first and only INSERT
    db.session.commit()
    return entry


def shown_rows(page: str) -> int:
    return len(ROW.findall(page))


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


# -- who may see it -------------------------------------------------------------------------------------


def test_an_editor_can_open_neither_the_page_nor_the_download(db, client):
    sign_in(client, StaffRole.EDITOR)
    for url in ("/staff/audit", "/staff/audit/export.csv", "/staff/audit?action=staff.sign_in"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Nicht erlaubt" in text_of(response)
    assert "/staff/audit" not in text_of(client.get("/staff/"))
    assert db.session.scalar(select(func.count()).where(AuditEntry.action == "audit.export")) == 0


def test_an_admin_sees_every_entry_newest_first_in_german(db, client):
    chefin = staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    sign_in(client, chefin)
    add(db, "newsletter.update", target=("newsletter", 2), public=True, fields=["name", "slug"])
    add(db, "issue.cancel", target=("issue", 7), rows_cancelled=12)
    page = text_of(client.get("/staff/audit"))
    assert "<h1>Audit-Protokoll</h1>" in page and 'href="/staff/audit"' in page  # the link in the menu
    table = page[page.index("<tbody>"):]
    # Newest first: the cancel, the newsletter, the admin's sign-in, the account made on the command line.
    labels = ("Versand abgebrochen", "Newsletter geändert", "Angemeldet", "Team-Konto angelegt")
    order = [table.index(label) for label in labels]
    assert order == sorted(order) and shown_rows(page) == 4
    assert "Befehlszeile auf dem Server" in table and "rows_cancelled: 12" in table
    assert "public: ja" in table and "fields: name, slug" in table
    assert 'href="/staff/issues/7"' in table  # the target links to the issue


# -- filters and pages ------------------------------------------------------------------------------------


def test_filters_by_actor_action_target_and_days_in_the_newsrooms_time_zone(db, client):
    chefin = staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    eda = staff_user(db, "eda@example.org")
    sign_in(client, chefin)
    march_2 = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 00:30 on 2 March in Berlin
    add(db, "issue.send", actor=eda, target=("issue", 7), at=march_2)
    add(db, "issue.pause", actor=eda, target=("issue", 8), at=datetime(2026, 3, 3, 12, 0, tzinfo=UTC))
    add(db, "issue.send", actor=audit.SYSTEM, target=("issue", 8), at=datetime(2026, 3, 5, 9, 0, tzinfo=UTC))
    add(db, "readers.export", actor=chefin, target="export:subscribers")

    def rows(**args) -> int:
        response = client.get("/staff/audit", query_string=args)
        assert response.status_code == 200, args
        return shown_rows(text_of(response))

    total = db.session.scalar(select(func.count()).select_from(AuditEntry))
    assert rows() == total
    assert rows(actor=f"staff:{eda.id}") == 2
    assert rows(actor="system") == 1
    assert rows(action="issue.send") == 2
    assert rows(action="issue.send", actor=f"staff:{eda.id}") == 1
    assert rows(target="issue") == 3
    assert rows(target="issue:8") == 2
    assert rows(target="Issue:7") == 1  # any case
    assert rows(target="export:subscribers") == 1
    assert rows(**{"from": "2026-03-02", "to": "2026-03-03"}) == 2  # both days included, Berlin days
    assert rows(**{"from": "2026-03-04"}) == total - 2
    assert rows(to="2026-03-01") == 0  # 23:30 UTC on 1 March is already 2 March in Berlin


@pytest.mark.parametrize(
    ("args", "message"),
    [({"from": "gestern"}, "ersten Tag als Datum"),
     ({"from": "2026-03-05", "to": "2026-03-01"}, "vor dem ersten"),
     ({"actor": "root"}, "aus der Liste"), ({"action": "issue.delete"}, "Aktion aus der Liste")],
)  # fmt: skip
def test_a_filter_that_cannot_be_read_says_so_and_shows_everything(db, client, args, message):
    sign_in(client, StaffRole.ADMIN)
    response = client.get("/staff/audit", query_string=args)
    page = text_of(response)
    assert response.status_code == 400 and message in page
    assert shown_rows(page) == db.session.scalar(select(func.count()).select_from(AuditEntry))
    assert client.get("/staff/audit/export.csv", query_string=args).status_code == 400


def test_pages_continue_by_id_without_repeats_and_keep_the_filter(db, client):
    sign_in(client, StaffRole.ADMIN)
    for number in range(60):
        audit.record(db.session, "feed.import", actor=audit.CLI, target=("feed", number))
    db.session.commit()
    first = text_of(client.get("/staff/audit?action=feed.import"))
    assert shown_rows(first) == 50 and "feed:59" in first and "feed:10" in first and "feed:9<" not in first
    older = re.search(r'<a rel="next" href="([^"]+)">Ältere Einträge</a>', first).group(1)
    older = older.replace("&amp;", "&")
    assert "action=feed.import" in older and "before=" in older
    second = text_of(client.get(older))
    assert shown_rows(second) == 10 and "feed:9<" in second and "feed:10<" not in second
    assert 'rel="next"' not in second
    assert shown_rows(text_of(client.get("/staff/audit?action=feed.import&before=abc"))) == 50


# -- the CSV -------------------------------------------------------------------------------------------------


def test_the_csv_holds_the_filtered_entries_with_formulas_neutralised_and_is_itself_recorded(db, client):
    chefin = staff_user(db, "chefin@example.org", role=StaffRole.ADMIN)
    for address in ("=1+1@example.org", "+1@example.org", "-1@example.org"):
        add(db, "issue.test_send", actor=staff_user(db, address), target=("issue", 3), to=address)
    add(db, "issue.test_send", actor=audit.CLI, target=("@SUM(A1)", 1))
    add(db, "staff.sign_in", actor=chefin, target=("staff", chefin.id))
    sign_in(client, chefin)
    response = client.get("/staff/audit/export.csv?action=issue.test_send")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    header, *rows = csv_rows(response)
    assert header == ["id", "time_utc", "actor", "actor_id", "action", "target", "address", "detail"]
    assert [r[4] for r in rows] == ["issue.test_send"] * 4
    assert [r[2] for r in rows] == ["cli", "'-1@example.org", "'+1@example.org", "'=1+1@example.org"]
    assert rows[0][5] == "'@SUM(A1):1"
    assert rows[1][7] == '{"to": "-1@example.org"}'  # JSON, opened as text
    exported = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "audit.export")).all()
    assert [(e.actor, e.detail) for e in exported] == [("chefin@example.org", {"action": "issue.test_send"})]


# -- retention --------------------------------------------------------------------------------------------


def test_the_purge_removes_only_entries_past_the_retention_and_says_how_many(app, db, monkeypatch):
    now = utcnow()
    for days in (800, 400, 366):
        add(db, "feed.import", at=now - timedelta(days=days), target=("feed", days))
    for days in (364, 30, 0):
        add(db, "feed.import", at=now - timedelta(days=days), target=("feed", days))
    queues.enqueue(queues.PURGE_AUDIT_LOG)  # as the clock queues it every hour
    run_jobs(app, queue_names=("default",))
    db.session.expire_all()
    kept = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert [e.target for e in kept] == ["feed:364", "feed:30", "feed:0", "audit"]
    assert (kept[-1].action, kept[-1].actor, kept[-1].detail["removed"]) == ("audit.purge", "system", 3)
    # Again: nothing is old enough, nothing is removed, nothing more is recorded.
    queues.enqueue(queues.PURGE_AUDIT_LOG)
    run_jobs(app, queue_names=("default",))
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 4


def test_the_purge_command_follows_the_setting_and_zero_keeps_everything(app, db, runner, monkeypatch):
    add(db, "feed.import", at=utcnow() - timedelta(days=40), target=("feed", 40))
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 0)
    result = runner.invoke(args=["newsletter", "purge-audit-log"])
    assert result.exit_code == 0 and "every audit entry is kept" in result.output
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 1
    monkeypatch.setitem(app.config, "AUDIT_RETENTION_DAYS", 30)
    result = runner.invoke(args=["newsletter", "purge-audit-log"])
    assert result.exit_code == 0 and "1 audit entries older than 30 days removed" in result.output
    db.session.expire_all()
    [purge] = db.session.scalars(select(AuditEntry)).all()
    assert (purge.action, purge.actor) == ("audit.purge", "cli")


def test_retention_is_a_setting_of_its_own(tmp_path):
    env = {"BEITRAG_ENV": "testing"}
    assert load_config(env, tmp_path)["AUDIT_RETENTION_DAYS"] == 365
    assert load_config({**env, "AUDIT_RETENTION_DAYS": "90"}, tmp_path)["AUDIT_RETENTION_DAYS"] == 90
    for bad in ("-1", "ein Jahr"):
        with pytest.raises(ConfigError, match="AUDIT_RETENTION_DAYS"):
            load_config({**env, "AUDIT_RETENTION_DAYS": bad}, tmp_path)


# -- append-only ------------------------------------------------------------------------------------------


def test_an_entry_cannot_be_changed_in_sql_or_through_the_orm(db):
    entry = add(db, "issue.send", target=("issue", 1))
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text("UPDATE audit_log SET action = 'issue.cancel'"))
    db.session.rollback()
    entry.action = "issue.cancel"
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.commit()
    db.session.rollback()
    with pytest.raises(RuntimeError, match="append-only"):
        db.session.delete(entry)
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(AuditEntry.action)) == "issue.send"


def test_postgresql_refuses_a_delete_unless_the_purge_names_an_old_enough_cutoff(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: SQLite has no transaction setting for the purge to carry")
    add(db, "issue.send", at=utcnow() - timedelta(days=3), target=("issue", 1))
    with pytest.raises(DBAPIError, match="append-only: DELETE refused"):
        db.session.execute(text("DELETE FROM audit_log"))
    db.session.rollback()
    # The purge's setting with a cutoff younger than a day lets nothing through.
    db.session.execute(text("SELECT set_config('beitrag.audit_purge_before', :at, true)"),
                       {"at": utcnow().isoformat()})  # fmt: skip
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text("DELETE FROM audit_log"))
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 1
    # The purge itself, with a cutoff two days back, removes the three-day-old entry.
    assert audit.purge_expired(db.session, retention_days=2) == 1
