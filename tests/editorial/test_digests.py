"""The desk's digest pages (``/staff/digests``): an editor sets a digest up, sees its next runs in the
newsroom's time, skips one and holds another; bad schedules are refused with the reason; the pages are
for signed-in staff only and every change needs the form's CSRF token."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from newsletter.editorial import digests
from newsletter.editorial.models import Digest, DigestRun
from newsletter.platform.audit import AuditEntry
from tests.staff.factories import sign_in, staff_user
from tests.support.web import csrf_token, text_of

NEW = "/staff/digests/new"


def _form(app, newsletter, **changes) -> dict:
    data = {
        "newsletter": str(newsletter.id),
        "subject": "KI am Morgen",
        "weekdays": ["1", "2", "3", "4", "5"],
        "time_of_day": "07:00",
        "timezone": "Europe/Berlin",
        "layout": "digest",
        "mode": "send",
        "tags": "",
        "sender_name": "KI-Kompass",
        "sender_address": app.config["MAIL_FROM"],
        "active": "y",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def _create(client, app, newsletter, **changes):
    return client.post(NEW, data={"csrf_token": csrf_token(client, NEW), **_form(app, newsletter, **changes)})


def test_an_editor_sets_up_a_digest_and_sees_its_next_runs(client, db, app, editor, newsletter):
    response = _create(client, app, newsletter, tags="Chips, Politik")
    assert response.status_code == 302
    digest = db.session.scalar(select(Digest))
    assert (digest.weekdays, digest.hour, digest.minute, digest.mode) == ("12345", 7, 0, "send")
    assert digest.tags == ["Chips", "Politik"]

    page = text_of(client.get("/staff/digests"))
    assert "KI am Morgen" in page and "Nächste Läufe" in page and "um 07:00 (Europe/Berlin)" in page
    # The next runs, at 07:00 on the wall clock in Berlin, on weekdays only.
    stamps = [int(s) for s in re.findall(r'data-slot="(\d+)"', page)]
    slots = [datetime.fromtimestamp(s, UTC) for s in stamps]
    assert len(slots) == 5 and slots == sorted(slots)
    assert all(s.hour in (5, 6) and s.minute == 0 and s.isoweekday() <= 5 for s in slots)
    assert re.search(r"(Montag|Dienstag|Mittwoch|Donnerstag|Freitag), \d\d\.\d\d\.\d{4} 07:00<", page)
    assert db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.startswith("digest."))
    ).all() == ["digest.create"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"time_of_day": "25:00"}, "die Uhrzeit 25:00 ist keine Uhrzeit wie 07:00"),
        ({"time_of_day": "7 Uhr"}, "die Uhrzeit 7 Uhr ist keine Uhrzeit wie 07:00"),
        ({"timezone": "Europe/Atlantis"}, "es gibt keine Zeitzone Europe/Atlantis"),
        ({"weekdays": None}, "wählen Sie mindestens einen Wochentag"),
        ({"weekdays": ["8"]}, "wählen Sie mindestens einen Wochentag"),
        ({"sender_address": "kein-absender"}, "die Absenderadresse ist ungültig"),
        ({"mode": "sometimes"}, "wählen Sie, ob der Digest verschickt oder als Entwurf gelassen wird"),
    ],
)
def test_a_bad_schedule_is_refused_with_its_reason(client, db, app, editor, newsletter, changes, reason):
    response = _create(client, app, newsletter, **changes)
    assert response.status_code == 400
    page = text_of(response)
    assert "Der Digest wurde nicht gespeichert" in page and reason in page
    assert db.session.scalar(select(Digest)) is None


def test_an_editor_skips_one_run_and_holds_another_and_takes_a_skip_back(client, db, app, editor, newsletter):
    _create(client, app, newsletter)
    digest = db.session.scalar(select(Digest))
    first, second = digests.next_slots(digest, datetime.now(UTC), 2)
    base = f"/staff/digests/{digest.id}/runs"

    for slot, action in ((first, "skip"), (second, "hold")):
        response = client.post(
            f"{base}/{int(slot.timestamp())}/{action}",
            data={"csrf_token": csrf_token(client, "/staff/digests")},
        )
        assert response.status_code == 302
    page = text_of(client.get("/staff/digests"))
    assert "Von der Redaktion ausgelassen" in page and "Angehalten: wird als Entwurf erstellt" in page
    marks = dict(db.session.execute(select(DigestRun.slot_at, DigestRun.state)).all())
    assert marks == {first: "skip", second: "hold"}

    client.post(
        f"{base}/{int(first.timestamp())}/release", data={"csrf_token": csrf_token(client, "/staff/digests")}
    )
    assert dict(db.session.execute(select(DigestRun.slot_at, DigestRun.state)).all()) == {second: "hold"}
    actions = db.session.scalars(
        select(AuditEntry.action).where(AuditEntry.action.startswith("digest.")).order_by(AuditEntry.id)
    ).all()
    assert actions == ["digest.create", "digest.skip", "digest.hold", "digest.release"]

    # A time that is not one of the digest's runs, or one past, is refused with the reason.
    for stamp in (int(first.timestamp()) + 60, int(datetime(2020, 1, 6, 6, tzinfo=UTC).timestamp())):
        response = client.post(
            f"{base}/{stamp}/skip",
            data={"csrf_token": csrf_token(client, "/staff/digests")},
            follow_redirects=True,
        )
        assert "das ist kein kommender Lauf des Digests" in text_of(response)


def test_an_editor_changes_a_digest(client, db, app, editor, newsletter):
    _create(client, app, newsletter)
    digest = db.session.scalar(select(Digest))
    path = f"/staff/digests/{digest.id}"
    form = text_of(client.get(path))
    assert 'value="07:00"' in form and "Digest bearbeiten" in form
    data = _form(app, newsletter, weekdays=["6"], time_of_day="09:00", mode="draft")
    response = client.post(path, data={"csrf_token": csrf_token(client, path), **data})
    assert response.status_code == 302
    db.session.refresh(digest)
    assert (digest.weekdays, digest.hour, digest.mode) == ("6", 9, "draft")
    slots = digests.next_slots(digest, datetime.now(UTC), 3)
    assert all(s.isoweekday() == 6 for s in slots)


def test_changes_need_the_csrf_token(client, db, app, editor, newsletter):
    assert client.post(NEW, data=_form(app, newsletter)).status_code == 400
    _create(client, app, newsletter)
    digest = db.session.scalar(select(Digest))
    slot = int(digests.next_slots(digest, datetime.now(UTC), 1)[0].timestamp())
    assert client.post(f"/staff/digests/{digest.id}/runs/{slot}/skip").status_code == 400
    assert db.session.scalar(select(DigestRun)) is None
    assert db.session.scalar(select(Digest.id).where(Digest.subject != "KI am Morgen")) is None


def test_the_digest_pages_are_for_signed_in_staff(app, db, newsletter):
    anonymous = app.test_client()
    for path in ("/staff/digests", NEW):
        response = anonymous.get(path)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    response = anonymous.post("/staff/digests/1/runs/1893456000/skip")
    assert response.status_code in (302, 400) and db.session.scalar(select(DigestRun)) is None
    admin = app.test_client()
    sign_in(admin, staff_user(db, "ada@example.org", role="admin"))
    assert admin.get("/staff/digests").status_code == 200
    inactive = staff_user(db, "weg@example.org")
    gone = app.test_client()
    sign_in(gone, inactive)
    inactive.active = False
    db.session.commit()
    assert gone.get("/staff/digests").status_code in (302, 403)
