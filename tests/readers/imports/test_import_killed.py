"""A real worker process killed with SIGKILL (worker and work horse) in the middle of a 50,000-row import
on PostgreSQL; the clock's import sweep queues the import again once its lease has run out, a new worker
continues it from its last settled chunk. Every line of the file ends as once, and the import's counts and
report equal those of an uninterrupted import of the same file.
Bad inputs tried: killed once, killed twice, killed while the last chunk was settled; the uploaded file
deleted before the resume; duplicates, broken addresses, unknown languages, a known and a suppressed
address spread over the chunks."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsletter.readers import tasks as readers_tasks
from newsletter.readers.imports import settle
from newsletter.readers.models import ImportChunk, ImportState, SubscriberImport
from tests.readers.imports.pages import start, upload
from tests.readers.imports.resume import empty_readers, outcome, prepare_readers, resume_file
from tests.support.processes import Workers
from tests.support.web import text_of
from tests.support.worker import run_jobs

ROWS = 50_000
CHUNK = 2_000  # 25 chunks: room to kill a worker in the middle
LEASE = 2


@pytest.fixture
def import_workers(own_redis_app, db, database_url, base_config, own_redis, tmp_path, monkeypatch):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: real workers settling an import beside the test's own connection")
    monkeypatch.setitem(own_redis_app.config, "IMPORT_SETTLE_ROWS", CHUNK)
    monkeypatch.setitem(own_redis_app.config, "IMPORT_LEASE_SECONDS", float(LEASE))
    env = {
        "BEITRAG_ENV": "testing", "DATABASE_URL": database_url, "REDIS_URL": own_redis.url,
        "SECRET_KEY": base_config["SECRET_KEY"], "BASE_URL": base_config["BASE_URL"],
        "IMPORT_SETTLE_ROWS": str(CHUNK), "IMPORT_LEASE_SECONDS": str(LEASE),
        "BEITRAG_INSTANCE": str(tmp_path / "instance"),
    }  # fmt: skip
    (tmp_path / "instance").mkdir()
    pool = Workers(env, tmp_path, queues=("default",))
    yield pool
    pool.stop()


def _queued(editor, content: bytes) -> int:
    response = upload(editor, content)
    import_id = int(response.headers["Location"].rsplit("/", 1)[1])
    columns = {0: "email", 1: "locale", 2: "newsletters", 3: "source"}
    assert start(editor, import_id, columns, consent="recorded", consent_detail="Messe").status_code == 302
    return import_id


def _chunks(db, import_id: int) -> int:
    db.session.rollback()
    return db.session.scalar(
        select(func.count()).select_from(ImportChunk).where(ImportChunk.import_id == import_id)
    )


def _kill_after(db, workers: Workers, import_id: int, chunks: int, timeout: float = 120) -> int:
    """SIGKILL the worker (and its work horse) once the import has settled ``chunks`` chunks."""
    deadline = time.monotonic() + timeout
    while (settled := _chunks(db, import_id)) < chunks:
        assert time.monotonic() < deadline, f"only {settled} chunks settled\n{workers.logs()}"
        time.sleep(0.01)
    _kill_worker_and_horse(workers, workers.processes[0])
    return _chunks(db, import_id)


def _kill_worker_and_horse(workers: Workers, process) -> None:
    """SIGKILL the worker and the work horse running the import. RQ puts each horse in a process group of
    its own (``os.setpgrp``), so killing the worker's group leaves the horse running: it is killed by its
    own process id, found among the worker's children."""
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    workers.kill(process)
    for pid in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    for pid in children:
        while Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text():
            time.sleep(0.01)


def _finish(db, workers: Workers, import_id: int, timeout: float = 120) -> None:
    """What the clock and a process manager do: sweep every second, keep one worker running."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers.revive(1)
        readers_tasks.sweep_imports()
        db.session.rollback()
        if db.session.get(SubscriberImport, import_id, populate_existing=True).state in (
            ImportState.DONE, ImportState.FAILED,
        ):  # fmt: skip
            return
        time.sleep(1)
    raise AssertionError(f"the import did not finish\n{workers.logs()}")




@pytest.mark.slow  # real worker processes killed, 50,000 rows three times
@pytest.mark.parametrize("kills", [(8,), (5, 14), ("last",)], ids=["once", "twice", "during-the-last-chunk"])
def test_an_import_whose_worker_is_killed_ends_as_if_never_interrupted(
    app, db, import_workers, editor, lists, kills
):
    content = resume_file(ROWS)
    prepare_readers()
    reference = _queued(editor, content)
    run_jobs(app, ("default",))
    expected = outcome(editor, reference)
    assert expected["state"] == "done" and expected["distinct"]
    total = _chunks(db, reference)

    empty_readers()
    import_id = _queued(editor, content)
    for kill in kills:
        import_workers.revive(1)
        # "last": two chunks before the end, since two connections settle side by side and the last two
        # may commit within the same moment; the kill must come while one of them is still open.
        settled = _kill_after(db, import_workers, import_id, total - 2 if kill == "last" else kill)
        record = db.session.get(SubscriberImport, import_id, populate_existing=True)
        assert record.state is ImportState.RUNNING, "the import finished before the kill"
        assert settled < total
        time.sleep(LEASE + 0.5)
        assert readers_tasks.sweep_imports() == 1
    _finish(db, import_workers, import_id)
    assert outcome(editor, import_id) == expected
    record = db.session.get(SubscriberImport, import_id)
    assert record.resumed == len(kills)
    assert "fortgesetzt" in text_of(editor.get(f"/staff/imports/{import_id}"))
    assert import_workers.deaths == 0


@pytest.mark.slow  # a real worker process killed
def test_a_killed_import_whose_file_is_gone_says_so_and_changes_nothing_more(
    app, db, import_workers, editor, lists
):
    prepare_readers()
    import_id = _queued(editor, resume_file(ROWS))
    import_workers.revive(1)
    _kill_after(db, import_workers, import_id, 6)
    before = outcome(editor, import_id)
    Path(db.session.get(SubscriberImport, import_id).stored_path).unlink()
    time.sleep(LEASE + 0.5)
    _finish(db, import_workers, import_id)
    after = outcome(editor, import_id)
    assert after["state"] == "failed"
    assert after["readers"] == before["readers"] and after["report"] == before["report"]
    assert db.session.get(SubscriberImport, import_id).failure == settle.FILE_GONE
    assert "Die hochgeladene Datei ist nicht mehr da" in text_of(editor.get(f"/staff/imports/{import_id}"))
