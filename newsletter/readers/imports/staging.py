"""The staging writer: rows read from the file, written chunk by chunk (COPY and settled in a second
thread on PostgreSQL; executemany elsewhere)."""

from __future__ import annotations

import bisect
import concurrent.futures
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, insert, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.readers.imports.settle_sql import (
    _CHUNK,
    _COUNT_CHUNK,
    _FENCE_KEY,
    _FENCE_SHARED,
    _KEEP_ROWS,
    _KNOWN_ADDRESS,
    _POSTGRES_SETUP,
    _SETTLE_CHUNK,
    _SETTLE_NEW_CHUNK,
    _STAGING_COLUMNS,
    _SUPPRESS_CHUNK,
    EXISTING,
    SUPPRESSED,
    _create_chunk_table,
    _drop_chunk_table,
    timed,
)
from newsletter.readers.models import ImportChunk, ImportConsent, ImportRow, SubscriberImport


class ImportTakenOver(Exception):
    """Another run of the job holds the import now (this one's lease ran out): this run settles nothing
    more and leaves the import to it."""


class StagingWriter:
    """Writes chunks of staging rows, settles them, and reports progress; each chunk is committed with the
    record of the lines it covers (:class:`ImportChunk`), so a run that dies loses at most the chunks in
    flight, and the next run skips the lines of the settled ones (``settled``: their line ranges).

    PostgreSQL: the rows are settled chunk by chunk while the file is read. Each chunk of ``SETTLE_ROWS``
    rows goes to a settling thread with a connection of its own, which COPYs it into its temporary table
    and settles it there in one transaction (:data:`_SETTLE_CHUNK`): suppressed addresses refused, new
    readers and their newsletters inserted, known ones marked, report rows kept, the chunk recorded.
    Meanwhile this thread reads the next chunk, so the server and Python work at the same time. Reader ids,
    progress and the lease go through a third connection. Elsewhere: executemany per chunk into
    ``subscriber_import_rows``, committed with the chunk's record and the progress, and :func:`_settle`
    afterwards.

    Every commit is fenced by the run (``run``) that claimed the import: when another run has claimed it,
    the chunk is rolled back and :class:`ImportTakenOver` raised.
    """

    def __init__(
        self,
        session: Session,
        record: SubscriberImport,
        on_progress: Callable[[], None],
        params: dict[str, Any],
        *,
        run: int = 0,
        settled: list[tuple[int, int]] = (),
        lease_seconds: float = 120.0,
        settle_rows: int | None = None,
    ):
        self.settle_rows = settle_rows or SETTLE_ROWS
        self.session, self.record, self.on_progress, self.params = session, record, on_progress, params
        self.record_id = record.id
        self.run, self.lease_seconds = run, lease_seconds
        self.settled = sorted(settled)
        self.settled_starts = [first for first, _last in self.settled]
        self.postgres = session.connection().dialect.name == "postgresql"
        self.locked_newsletters: set[int] | None = None  # PostgreSQL: the newsletters held for the import
        self.triggers_off = False
        self.pending: list[str] = []
        self.pending_rows = 0
        self.pending_lines: tuple[int, int] | None = None  # first and last line of the pending rows
        self.running: list[concurrent.futures.Future] = []
        self.idle: list[Connection] = []  # settling connections not busy with a chunk
        self.insert_seconds = 0.0  # in the settling threads, inserting readers and their newsletters
        self.all_new = True  # no chunk has met a known address yet (see _SETTLE_NEW_CHUNK)

    def __enter__(self) -> StagingWriter:
        if self.postgres:
            # The newsletters cannot be deleted while this run goes on (what each membership's
            # foreign-key trigger would otherwise lock row by row); only these may be named. The lock is
            # held by this session's transaction until the run ends.
            self.locked_newsletters = set(
                self.session.scalars(text("SELECT id FROM newsletters ORDER BY id FOR KEY SHARE"))
            )
            # The import's record likewise: its report rows and chunks point to it.
            self.session.execute(
                text("SELECT 1 FROM subscriber_imports WHERE id = :id FOR KEY SHARE"), {"id": self.record_id}
            )
            engine = self.session.get_bind()
            self.side = engine.connect()
            self.pool = concurrent.futures.ThreadPoolExecutor(SETTLE_CONNECTIONS, "beitrag-import")
            try:
                for _ in range(SETTLE_CONNECTIONS):
                    connection = engine.connect()
                    self.idle.append(connection)
                    _create_chunk_table(connection)
                self.triggers_off = _foreign_keys_checked_per_statement(self.idle[0])
            except BaseException:
                self._close()
                raise
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        if self.postgres:
            try:
                if exc_type is None:
                    self._hand_over()
                    self._wait(everything=True)
                elif self.running:
                    concurrent.futures.wait(self.running)  # the first error is the one raised
            finally:
                self._close()

    def _close(self) -> None:
        if hasattr(self, "pool"):
            self.pool.shutdown(wait=True)
        for connection in self.idle:
            try:
                _drop_chunk_table(connection)
            finally:
                connection.close()
        self.idle.clear()
        if hasattr(self, "side"):
            self.side.close()

    def is_settled(self, line: int) -> bool:
        """Whether a line was settled by an earlier run (it lies in one of the settled chunks)."""
        at = bisect.bisect_right(self.settled_starts, line) - 1
        return at >= 0 and line <= self.settled[at][1]

    def write(self, rows: list[list]) -> None:
        if self.settled:
            rows = [row for row in rows if not self.is_settled(row[1])]
        if not rows:
            return
        lines = [row[1] for row in rows]
        first, last = min(lines), max(lines)
        if self.pending_lines is not None:
            first, last = min(first, self.pending_lines[0]), max(last, self.pending_lines[1])
        self.pending_lines = (first, last)
        if self.postgres:
            accepted = [row for row in rows if row[8] == "read"]
            if accepted:
                ids = self.side.execute(
                    text(
                        "SELECT array_agg(nextval(pg_get_serial_sequence('subscribers', 'id'))) "
                        "FROM generate_series(1, :n)"
                    ),
                    {"n": len(accepted)},
                ).scalar_one()
                self.side.commit()
                for row, new_id in zip(accepted, ids, strict=True):
                    row[11] = new_id
            self.pending.append("".join([_copy_line(row) for row in rows]))
            self.pending_rows += len(rows)
            if self.pending_rows >= self.settle_rows:
                self._hand_over()
        else:
            self.session.execute(
                insert(ImportRow.__table__), [dict(zip(_STAGING_COLUMNS, row, strict=True)) for row in rows]
            )

    def _hand_over(self) -> None:
        """Give the pending rows to a settling thread, once one of them is free."""
        if not self.pending:
            return
        while not self.idle:
            self._wait()
        lines, self.pending, self.pending_rows = "".join(self.pending), [], 0
        first, last = self.pending_lines
        self.pending_lines = None
        connection = self.idle.pop()
        self.running.append(self.pool.submit(self._settle_chunk, connection, lines, first, last))

    def _wait(self, everything: bool = False) -> None:
        """Wait for the oldest chunk being settled (or all of them); an error in a chunk is raised here."""
        while self.running:
            running = self.running.pop(0)
            self.idle.append(running.result())
            if not everything:
                return

    def _settle_chunk(self, connection: Connection, lines: str, first: int, last: int) -> Connection:
        """In a settling thread: COPY one chunk into the connection's chunk table, settle it and record it,
        in one transaction fenced by the run."""
        params = self.params
        with connection.begin():
            for sql in _POSTGRES_SETUP:
                connection.execute(text(sql))
            if self.triggers_off:
                connection.execute(text("SET LOCAL session_replication_role = replica"))
            self._fence(connection)
            connection.execute(text(f"TRUNCATE {_CHUNK}"))
            cursor = connection.connection.dbapi_connection.cursor()
            with cursor.copy(f"COPY {_CHUNK} ({', '.join(_STAGING_COLUMNS)}) FROM STDIN") as copy:
                copy.write(lines)
            connection.execute(text(f"ANALYZE {_CHUNK}"))  # without statistics the planner nests loops
            connection.execute(text(_SUPPRESS_CHUNK), {"suppressed": SUPPRESSED})
            started = time.perf_counter()
            created = self._insert_chunk(connection, params)
            self.insert_seconds += time.perf_counter() - started
            # The opt-in mails work through the accepted rows, and so do welcome mails an import asks for.
            keep_accepted = self.record.consent is ImportConsent.NONE or self.record.send_welcome
            connection.execute(text(_KEEP_ROWS), {"keep_accepted": keep_accepted})
            counts = {(outcome, reason): n for outcome, reason, n in connection.execute(text(_COUNT_CHUNK))}
            connection.execute(
                insert(ImportChunk.__table__),
                {"import_id": self.record_id, "first_line": first, "last_line": last, "run": self.run,
                 **outcome_figures(counts, created)},
            )  # fmt: skip
        return connection

    def _fence(self, connection: Connection) -> None:
        """PostgreSQL: hold the import's fence for this transaction and check that this run holds it."""
        connection.execute(text(_FENCE_SHARED), {"key": _FENCE_KEY, "id": self.record_id})
        run = connection.scalar(
            text("SELECT run FROM subscriber_imports WHERE id = :id"), {"id": self.record_id}
        )
        if run != self.run:
            raise ImportTakenOver(f"import {self.record_id}: run {run} holds it, not run {self.run}")

    def _insert_chunk(self, connection, params: dict[str, Any]) -> int:
        """The chunk's new readers and their newsletters; returns how many readers were created."""
        if self.all_new:
            try:
                with connection.begin_nested():
                    return connection.execute(timed(_SETTLE_NEW_CHUNK), params).scalar_one()
            except IntegrityError as error:
                if getattr(getattr(error.orig, "diag", None), "constraint_name", None) != _KNOWN_ADDRESS:
                    raise
                self.all_new = False  # some addresses are known: this chunk and the rest check each one
        return connection.execute(timed(_SETTLE_CHUNK), {**params, "existing": EXISTING}).scalar_one()

    def progress(self, bytes_done: int, rows_read: int) -> None:
        """Progress for the page and a renewed lease, fenced by the run. Elsewhere than on PostgreSQL
        this also commits the chunks written since the last call, with their record."""
        values = {"bytes_done": bytes_done, "rows_read": rows_read,
                  "lease_until": utcnow() + timedelta(seconds=self.lease_seconds)}  # fmt: skip
        fenced = (
            update(SubscriberImport)
            .where(SubscriberImport.id == self.record_id, SubscriberImport.run == self.run)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if self.postgres:
            if self.side.execute(fenced).rowcount != 1:
                self.side.rollback()
                raise ImportTakenOver(f"import {self.record_id}: another run holds it")
            self.side.commit()
            return
        if self.pending_lines is not None:
            first, last = self.pending_lines
            self.pending_lines = None
            self.session.execute(
                insert(ImportChunk.__table__),
                {"import_id": self.record_id, "first_line": first, "last_line": last, "run": self.run,
                 "created": 0, "existing": 0, "duplicates": 0, "suppressed": 0, "errors": 0},
            )  # fmt: skip
        if self.session.execute(fenced).rowcount != 1:
            self.session.rollback()
            raise ImportTakenOver(f"import {self.record_id}: another run holds it")
        self.on_progress()


def _copy_line(row: list) -> str:
    """One staging row in COPY's text format. An accepted row (the common case) is written in one
    f-string: its locale and newsletter ids cannot hold a backslash, its address and source rarely do."""
    if row[8] == "read" and "\\" not in row[2] and (row[6] is None or "\\" not in row[6]):
        return (
            f"{row[0]}\t{row[1]}\t{row[2]}\t{row[3]}\t{row[4]}\t{row[5] or _NULL}\t{row[6] or _NULL}"
            f"\t{row[7] or _NULL}\tread\t\\N\tf\t{row[11]}\n"
        )
    return "\t".join(map(_copy_value, row)) + "\n"


_NULL = "\\N"


def _copy_value(value: Any) -> str:
    """One field in COPY's text format. Control characters never reach here (refused or replaced)."""
    if value is None:
        return "\\N"
    if value is True or value is False:
        return "t" if value else "f"
    text_value = str(value)
    return text_value.replace("\\", "\\\\") if "\\" in text_value else text_value


def outcome_figures(counts: dict[tuple[str, str | None], int], created: int) -> dict[str, int]:
    """What the import page counts, from the rows' outcomes and reasons and the readers created."""
    refused = {reason: n for (outcome, reason), n in counts.items() if outcome == "refused"}
    read = sum(n for (outcome, _reason), n in counts.items() if outcome == "read")
    existing = sum(n for (outcome, _reason), n in counts.items() if outcome == "existing")
    duplicates = sum(n for r, n in refused.items() if r and r.startswith("duplicate"))
    suppressed = sum(n for r, n in refused.items() if r and r.startswith("on the suppression"))
    return {"created": created, "existing": existing + read - created, "duplicates": duplicates,
            "suppressed": suppressed, "errors": sum(refused.values()) - duplicates - suppressed}  # fmt: skip


def count_outcomes(record: SubscriberImport, figures: dict[str, int]) -> None:
    """The import's counts, as :func:`outcome_figures` gives them (summed over its chunks)."""
    record.created_count = figures["created"]
    record.existing_count = figures["existing"]
    record.duplicate_count = figures["duplicates"]
    record.suppressed_count = figures["suppressed"]
    record.error_count = figures["errors"]


SETTLE_ROWS = 50_000
# Settling threads, each with a connection of its own. While one waits for the server, another's chunk
# is worked on: on two cores a million rows took 11.2-12.0 s with 3, 11.7-16.2 s with 2, 14.0 s with 1
# and 11.8-13.7 s with 4 (``bench.import --connections``, 8 December).
SETTLE_CONNECTIONS = 3


def _foreign_keys_checked_per_statement(connection: Connection) -> bool:
    """Switch off PostgreSQL's per-row foreign-key triggers for the import's inserts, where the role may
    (superuser, or ``GRANT SET ON PARAMETER session_replication_role``). Every key the import writes is
    then right by construction: reader ids come from the same statement's INSERT (no other transaction
    can see, let alone delete, those readers before commit), newsletter ids only from the newsletters
    locked ``FOR KEY SHARE`` before reading, and the report rows belong to this import, whose record is
    locked the same way. Without the privilege nothing changes and the triggers
    check each row."""
    try:
        with connection.begin():
            connection.execute(text("SET LOCAL session_replication_role = replica"))
    except DBAPIError:
        return False
    return True
