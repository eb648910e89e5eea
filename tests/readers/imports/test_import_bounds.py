"""CSV imports within bounds: the upload's own size limit, the longest line (``IMPORT_MAX_LINE_BYTES``), never
read whole by the work horse, and uploaded files deleted once nothing needs them.

Bad inputs tried: a 20 MB file that is one single line (refused at upload); a 20 MB line in the middle of
a file, and one at its end without a line end (measured: the reader holds a few MB, not the line); lines
just over a small limit, one with CRLF; a quote that never closes, followed by good lines; a file left
behind by a worker that died after its import failed; an upload never started for a day; a stray file
no import names, fresh and an hour old."""

from __future__ import annotations

import io
import os
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from db import utcnow
from newsletter.readers import subscribers
from newsletter.readers import tasks as readers_tasks
from newsletter.readers.imports import files, records, settle
from newsletter.readers.models import ImportState, Subscriber, SubscriberImport
from tests.readers.imports.pages import report, start, upload
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


def _folder(app) -> Path:
    return records.upload_folder(app.instance_path)


def _stored_files(app) -> set[str]:
    folder = _folder(app)
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def _import_id(response) -> int:
    assert response.status_code == 302, text_of(response)[:500]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_a_file_that_is_one_huge_line_is_refused_at_upload_and_not_kept(app, db, editor):
    before = _stored_files(app)
    response = upload(editor, b"anna@example.org;" + b"x" * (20 * 1024 * 1024))
    assert response.status_code == 422
    assert "Die erste Zeile der Datei ist zu lang. Ist das eine CSV-Datei?" in text_of(response)
    assert db.session.scalar(select(func.count()).select_from(SubscriberImport)) == 0
    assert _stored_files(app) == before


def test_lines_past_the_limit_are_reported_and_the_rest_is_imported(app, db, editor, lists, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_LINE_BYTES", 4096)
    content = (
        b"email;quelle\n"
        b"anna@example.org;a\n"
        b"ben@example.org;b\n"
        b"carla@example.org;" + b"x" * (3 * 1024 * 1024) + b"\n"  # line 4: 3 MB
        b"dora@example.org;d\r\n"
        b"emil@example.org;" + b"y" * 4080 + b"\r\n"  # line 6: 4,097 bytes without its CRLF
        b"fritz@example.org;" + b"z" * 4078 + b"\r\n"  # line 7: 4,096 bytes, just within
        b"gina@example.org;g"  # line 8, no line end
    )
    import_id = _import_id(upload(editor, content))
    start(editor, import_id, {0: "email", 1: "source"}, consent="recorded", consent_detail="Messe 2026")
    run_jobs(app)
    record = db.session.get(SubscriberImport, import_id)
    assert record.state is ImportState.DONE
    assert record.created_count == 5 and record.error_count == 2 and record.rows_read == 7
    emails = set(db.session.scalars(select(Subscriber.email)))
    assert emails == {"anna@example.org", "ben@example.org", "dora@example.org", "fritz@example.org",
                      "gina@example.org"}  # fmt: skip
    lines = {int(row[0]): row for row in report(editor, import_id)[1:]}
    assert sorted(lines) == [4, 6]
    for number in (4, 6):
        assert lines[number][2] == "abgelehnt"
        assert lines[number][3] == "die Zeile ist länger als 4.096 Bytes und wurde übersprungen"
    assert files.line_too_long(4096) == (
        "the line is longer than 4,096 bytes (IMPORT_MAX_LINE_BYTES) and was skipped"
    )
    assert subscribers.find_subscriber(db.session, "fritz@example.org").source == "z" * 255


def test_a_quote_that_never_closes_takes_no_more_than_the_limit_with_it(app, db, editor, lists, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_LINE_BYTES", 1024)
    good = [f"leser{i}@example.org;q{i}" for i in range(300)]
    opened = '"offen@example.org;nie geschlossen\n'  # line 3: its quote never closes
    content = "email;quelle\nanna@example.org;a\n" + opened + "\n".join(good) + "\n"
    import_id = _import_id(upload(editor, content.encode()))
    start(editor, import_id, {0: "email", 1: "source"}, consent="recorded", consent_detail="Messe 2026")
    run_jobs(app)
    record = db.session.get(SubscriberImport, import_id)
    assert record.state is ImportState.DONE
    [(line, _email, outcome, reason)] = report(editor, import_id)[1:]
    assert (line, outcome) == ("3", "abgelehnt")
    first, last = 3, int(reason.rsplit("Zeilen 3 bis ", 1)[1].split()[0])
    assert reason.startswith("die Zeile beginnt einen Datensatz, der länger als 1.024 Bytes ist")
    # The open quote took some 1,024 bytes of lines with it, no more; every line after them is imported.
    swallowed = last - first
    assert 20 <= swallowed <= 60
    assert record.created_count == 1 + 300 - swallowed
    assert subscribers.find_subscriber(db.session, "leser299@example.org").source == "q299"


def _peak_while_reading(path: Path, max_line: int = files.MAX_LINE_BYTES) -> tuple[int, list, list]:
    tracemalloc.start()
    try:
        with open(path, "rb") as handle:
            errors: list = []
            rows = list(files.file_rows(handle, ";", errors, [0], max_line))
        return tracemalloc.get_traced_memory()[1], rows, errors
    finally:
        tracemalloc.stop()


def test_the_reader_never_holds_a_huge_line_whole(tmp_path):
    """What made the work horse reach 693 MB on a 200 MB line: it read the line whole and decoded it. A
    20 MB line now costs the reader no more than its blocks (a few MB), in the middle of the file and at
    its end, where it has no line end."""
    huge = b"x" * (20 * 1024 * 1024)
    middle = tmp_path / "middle.csv"
    head = b"email;quelle\nanna@example.org;a\nben@example.org;"
    middle.write_bytes(head + huge + b"\ncarla@example.org;c\n")
    peak, rows, errors = _peak_while_reading(middle)
    print(f"reading a 20 MB line: {peak / 1024 / 1024:.1f} MB at most")
    assert peak < 8 * 1024 * 1024, f"the reader held {peak / 1024 / 1024:.1f} MB"
    assert rows == [["email", "quelle"], ["anna@example.org", "a"], ["carla@example.org", "c"]]
    assert errors == [(3, files.line_too_long(files.MAX_LINE_BYTES))]
    end = tmp_path / "end.csv"
    end.write_bytes(head + huge)
    peak, rows, errors = _peak_while_reading(end)
    assert peak < 8 * 1024 * 1024, f"the reader held {peak / 1024 / 1024:.1f} MB"
    assert rows == [["email", "quelle"], ["anna@example.org", "a"]] and [e[0] for e in errors] == [3]


# -- the uploaded file -----------------------------------------------------------------------------------


def test_the_uploaded_file_is_deleted_once_the_import_is_done(app, db, editor, lists):
    import_id = _import_id(upload(editor, b"email\nanna@example.org\nkaputt\n"))
    stored = Path(db.session.get(SubscriberImport, import_id).stored_path)
    assert stored.is_file()
    start(editor, import_id, {0: "email"}, consent="recorded", consent_detail="Messe 2026")
    run_jobs(app)
    record = db.session.get(SubscriberImport, import_id)
    assert record.state is ImportState.DONE and record.created_count == 1
    assert not stored.exists()
    # What the editor still sees comes from the database: the page and the report.
    page = text_of(editor.get(f"/staff/imports/{import_id}"))
    assert "fertig" in page and "Die hochgeladene Datei ist nicht mehr da" not in page
    assert [row[0] for row in report(editor, import_id)[1:]] == ["3"]


def test_a_cancelled_upload_takes_its_file_with_it(app, db, editor):
    import_id = _import_id(upload(editor, b"email\nanna@example.org\n"))
    stored = Path(db.session.get(SubscriberImport, import_id).stored_path)
    url = f"/staff/imports/{import_id}"
    response = editor.post(f"{url}/delete", data={"csrf_token": csrf_token(editor, url)})
    assert response.status_code == 302 and not stored.exists()
    assert db.session.get(SubscriberImport, import_id) is None


def test_the_sweep_deletes_the_files_nothing_needs(app, db, editor, lists):
    # A failed import whose worker died right after committing the failure, before deleting the file.
    failed_id = _import_id(upload(editor, b"email\nanna@example.org\n"))
    start(editor, failed_id, {0: "email"}, consent="recorded", consent_detail="Messe 2026")
    settle.fail_import(db.session, failed_id, "the import stopped: OperationalError")
    db.session.commit()
    failed_file = Path(db.session.get(SubscriberImport, failed_id).stored_path)
    # An upload whose columns are still to be mapped, and a file of an upload that died while copying.
    waiting_id = _import_id(upload(editor, b"email\nben@example.org\n"))
    waiting_file = Path(db.session.get(SubscriberImport, waiting_id).stored_path)
    fresh_orphan = _folder(app) / "0123456789abcdef0123456789abcdef.csv"
    fresh_orphan.write_bytes(b"email\ncarla@example.org\n")
    old_orphan = _folder(app) / "fedcba9876543210fedcba9876543210.csv"
    old_orphan.write_bytes(b"email\ndora@example.org\n")
    hour_ago = time.time() - 2 * 3600
    os.utime(old_orphan, (hour_ago, hour_ago))

    readers_tasks.sweep_imports()
    assert not failed_file.exists() and not old_orphan.exists()
    assert waiting_file.is_file() and fresh_orphan.is_file()  # may still be needed
    assert db.session.get(SubscriberImport, failed_id).state is ImportState.FAILED  # the record stays

    # A day later the upload nobody started goes, with its import; the fresh stray file is an hour old.
    later = utcnow() + timedelta(days=1, minutes=1)
    os.utime(fresh_orphan, (hour_ago, hour_ago))
    records.discard_leftovers(db.session, _folder(app), now=later)  # other tests' strays may go too
    db.session.commit()
    assert not waiting_file.exists() and not fresh_orphan.exists()
    assert db.session.get(SubscriberImport, waiting_id) is None
    assert db.session.get(SubscriberImport, failed_id) is not None


def test_an_import_the_editor_starts_is_not_swept_away(app, db, editor, lists):
    import_id = _import_id(upload(editor, b"email\nanna@example.org\n"))
    start(editor, import_id, {0: "email"}, consent="recorded", consent_detail="Messe 2026")
    stored = Path(db.session.get(SubscriberImport, import_id).stored_path)
    later = utcnow() + timedelta(days=2)
    records.discard_leftovers(db.session, _folder(app), now=later)  # queued: its file is still to be read
    db.session.commit()
    assert stored.is_file()
    run_jobs(app)
    assert db.session.get(SubscriberImport, import_id).created_count == 1


def test_the_line_limit_of_the_reader_and_of_the_csv_module_agree(tmp_path):
    """Lines over the limit in the fast blocks and in the careful path (after a quote) are reported alike."""
    long = "x" * 2000
    text = f"email;q\na@example.org;{long}\nb@example.org;ok\n\"c@example.org\";{long}\nd@example.org;ok\n"
    errors: list = []
    rows = list(files.file_rows(io.BytesIO(text.encode()), ";", errors, [0], 1024))
    assert rows == [["email", "q"], ["b@example.org", "ok"], ["d@example.org", "ok"]]
    assert errors == [(2, files.line_too_long(1024)), (4, files.line_too_long(1024))]
