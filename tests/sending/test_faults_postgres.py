"""PostgreSQL restarting during a send. The test runs a PostgreSQL server of its own (initdb and pg_ctl,
as the ``postgres`` user, on a free port in a temporary folder), so the shared server is never touched.

Fault tried: ``pg_ctl restart -m fast`` (every connection cut) while two worker processes send to 2,000
readers. Workers keep the outcomes the relay gave them until the database takes them again.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from db import db
from newsletter.sending import ledger
from tests.conftest import TEST_DATABASE_URL
from tests.sending.factories import issue_with_readers, start_send
from tests.sending.faults import compare_ledger_with_capture, drive
from tests.support.smtp import free_port

READERS = 2000

pytestmark = [
    pytest.mark.slow,  # a PostgreSQL server of the test's own, restarted, and real worker processes
    pytest.mark.skipif(
        not TEST_DATABASE_URL,
        reason="the SQLite pass has no database server to restart (PostgreSQL pass only)",
    ),
]


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else None


class OwnPostgres:
    def __init__(self, folder):
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()

    def _as_postgres(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=60
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/beitrag"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.folder, "postgres")
        shutil.chown(self.folder.parent, "postgres")
        self._as_postgres(_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self._pg_ctl("start")
        self._as_postgres(
            _bin("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "beitrag"
        )

    def _pg_ctl(self, action: str, *extra: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        log = str(self.folder / "pg.log")
        pg_ctl = _bin("pg_ctl")
        self._as_postgres(pg_ctl, "-D", str(self.data), "-o", options, "-l", log, "-w", *extra, action)

    def restart(self) -> None:
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        self._pg_ctl("stop", "-m", "immediate")


@pytest.fixture
def own_postgres():
    if os.geteuid() != 0 or _bin("initdb") is None:
        pytest.skip("needs root (to run initdb as the postgres user) and PostgreSQL's server binaries")
    # Not under pytest's folder: that one is private to root, and the server runs as postgres.
    folder = Path(tempfile.mkdtemp(prefix="beitrag-pg-"))
    server = OwnPostgres(folder / "cluster")
    try:
        server.start()
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_postgres_restart_mid_send_loses_no_reader_and_sends_nobody_twice(
    make_app, redis_url, own_postgres, relay, workers
):
    from flask_migrate import upgrade

    # A second app for the second database, on the tests' usual Redis (its rate-limit storage stays the
    # same for the tests after this one).
    own = make_app(DATABASE_URL=own_postgres.url, REDIS_URL=redis_url, SMTP_URL=relay.url,
                   MAIL_LEASE_SECONDS=2.0)  # fmt: skip
    workers.env.update(DATABASE_URL=own_postgres.url, REDIS_URL=redis_url)
    with own.app_context():
        upgrade()
        issue = issue_with_readers(db, readers=READERS)
        start_send(db, issue, batch_size=ledger.BATCH_SIZE)
        restarted = []

        def restart(received: int) -> None:
            if not restarted and received >= READERS // 3:
                own_postgres.restart()
                restarted.append(received)

        workers.revive(2)
        counts = drive(issue.id, workers, relay, during=restart)
        assert restarted and restarted[0] < READERS
        compare_ledger_with_capture(issue.id, relay)
        assert counts["sent"] + counts["uncertain"] == READERS
        assert counts["queued"] == counts["sending"] == counts["failed"] == 0
        assert counts["uncertain"] <= workers.deaths
        db.session.remove()
        db.engine.dispose()
