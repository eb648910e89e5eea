"""An import whose run dies continues from its last settled chunk, with the report of an uninterrupted
run (the bookkeeping, in process; real workers killed on PostgreSQL: test_import_killed.py).
Bad inputs tried: a run dying right after a chunk was committed and in the middle of one (its rows
written, not committed), duplicates of lines that an earlier run settled, a known and a suppressed
address, broken addresses and unknown languages across chunks, a second run while the first one's lease
holds, a stale run writing after it was taken over, and the uploaded file deleted before the resume."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from db import utcnow
from newsletter.readers import tasks as readers_tasks
from newsletter.readers.imports import settle, staging
from newsletter.readers.models import ImportChunk, ImportState, Subscriber, SubscriberImport
from tests.readers.imports.pages import start, upload
from tests.readers.imports.resume import empty_readers, outcome, prepare_readers, resume_file
from tests.support.web import text_of
from tests.support.worker import run_jobs

ROWS = 400
CHUNK = 40


class Died(Exception):
    """The run's worker is gone (in process: the run stops here, its open transaction is rolled back)."""


def _queued(editor, content: bytes) -> int:
    response = upload(editor, content)
    import_id = int(response.headers["Location"].rsplit("/", 1)[1])
    columns = {0: "email", 1: "locale", 2: "newsletters", 3: "source"}
    assert start(editor, import_id, columns, consent="recorded", consent_detail="Messe").status_code == 302
    return import_id


def _uninterrupted(app, db, editor, content: bytes) -> dict:
    import_id = _queued(editor, content)
    run_jobs(app)
    return outcome(editor, import_id)


def _dying_run(db, import_id: int, *, commits: int, before_commit: bool) -> None:
    """A run that dies after ``commits`` commits of the import's progress, either just before the next
    commit (the chunk's rows written, not committed) or just after it."""
    done = []

    def progress():
        if before_commit and len(done) == commits:
            raise Died
        db.session.commit()
        done.append(1)
        if len(done) > commits:
            raise Died

    with pytest.raises(Died):
        settle.run_import(db.session, import_id, on_progress=progress, lease_seconds=0, settle_rows=CHUNK)
    db.session.rollback()


@pytest.fixture
def sqlite_only(db):
    if db.engine.dialect.name == "postgresql":
        pytest.skip("on PostgreSQL the chunks are settled by a thread; test_import_killed.py kills workers")


@pytest.mark.parametrize("before_commit", [False, True], ids=["after-a-commit", "mid-chunk"])
def test_an_interrupted_import_continues_and_reports_like_an_uninterrupted_one(
    app, db, sqlite_only, editor, lists, monkeypatch, before_commit
):
    monkeypatch.setitem(app.config, "IMPORT_SETTLE_ROWS", CHUNK)
    content = resume_file(ROWS)
    prepare_readers()
    expected = _uninterrupted(app, db, editor, content)
    assert expected["state"] == "done" and expected["distinct"]
    assert expected["counts"][3] > 0 and expected["counts"][4] == 1 and expected["counts"][2] == 1

    empty_readers()
    import_id = _queued(editor, content)
    _dying_run(db, import_id, commits=4, before_commit=before_commit)
    record = db.session.get(SubscriberImport, import_id, populate_existing=True)
    assert record.state is ImportState.RUNNING
    settled = db.session.scalar(
        select(func.count()).select_from(ImportChunk).where(ImportChunk.import_id == import_id)
    )
    assert 0 < settled < ROWS // CHUNK

    assert readers_tasks.sweep_imports() == 1  # its lease ran out: queued again
    run_jobs(app)
    resumed = outcome(editor, import_id)
    assert resumed == expected
    page = text_of(editor.get(f"/staff/imports/{import_id}"))
    assert "einmal fortgesetzt" in page
    assert readers_tasks.sweep_imports() == 0


def test_a_resumed_import_whose_file_is_gone_says_so_and_changes_nothing(app, db, sqlite_only, editor, lists):
    prepare_readers()
    import_id = _queued(editor, resume_file(ROWS))
    _dying_run(db, import_id, commits=3, before_commit=False)
    before = outcome(editor, import_id)
    Path(db.session.get(SubscriberImport, import_id).stored_path).unlink()

    assert readers_tasks.sweep_imports() == 1
    run_jobs(app)
    after = outcome(editor, import_id)
    assert after["state"] == "failed"
    assert after["readers"] == before["readers"] and after["report"] == before["report"]
    record = db.session.get(SubscriberImport, import_id)
    assert record.failure == settle.FILE_GONE and record.created_count == len(before["readers"]) - 1
    page = text_of(editor.get(f"/staff/imports/{import_id}"))
    assert "Die hochgeladene Datei ist nicht mehr da" in page
    assert readers_tasks.sweep_imports() == 0  # failed: nobody queues it again
    run_jobs(app)
    assert outcome(editor, import_id) == after


def test_a_run_whose_lease_holds_keeps_its_import_and_a_stale_run_settles_nothing(app, db, editor, lists):
    prepare_readers()
    import_id = _queued(editor, resume_file(ROWS))
    first = settle.claim_import(db.session, import_id, lease_seconds=60)
    assert first == 1
    # A second job for the same import (queued twice, say) leaves it to the live run.
    assert readers_tasks.run_subscriber_import(import_id) == f"import {import_id}: another run holds it"
    assert readers_tasks.sweep_imports() == 0
    # The first run stalls past its lease: the sweep queues a second run, which claims the import.
    db.session.execute(
        update(SubscriberImport).where(SubscriberImport.id == import_id)
        .values(lease_until=utcnow() - timedelta(seconds=1))
    )  # fmt: skip
    db.session.commit()
    assert readers_tasks.sweep_imports() == 1
    assert settle.claim_import(db.session, import_id, lease_seconds=60) == 2
    # The first run wakes up: what it writes is refused, and it stops.
    record = db.session.get(SubscriberImport, import_id, populate_existing=True)
    stale = staging.StagingWriter(db.session, record, db.session.commit, {}, run=first)
    with pytest.raises(staging.ImportTakenOver), stale:
        stale.write([[import_id, 2, "x@example.org", "x@example.org", "0" * 64, None, None, None, "read",
                      None, False, None]])  # fmt: skip
        stale.progress(100, 1)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(ImportChunk)) == 0
    assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 1  # the known reader
    db.session.execute(
        update(SubscriberImport).where(SubscriberImport.id == import_id)
        .values(lease_until=utcnow() - timedelta(seconds=1))
    )  # fmt: skip
    db.session.commit()
    assert readers_tasks.sweep_imports() == 1
    run_jobs(app)
    db.session.expire_all()
    record = db.session.get(SubscriberImport, import_id)
    assert record.state is ImportState.DONE and record.run == 3 and record.resumed == 2
