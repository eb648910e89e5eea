"""The staging writer: rows read from the file, written chunk by chunk (COPY and settled in a second
thread on PostgreSQL; executemany elsewhere)."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from newsletter.readers.imports.settle_sql import (
    _CHUNK,
    _COUNT_CHUNK,
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
    timed,
)
from newsletter.readers.models import ImportConsent, ImportRow, SubscriberImport


class StagingWriter:
    """Writes chunks of staging rows and reports progress.

    PostgreSQL: the rows are settled chunk by chunk while the file is read. Each chunk of
    ``SETTLE_ROWS`` rows goes to a second thread, which COPYs it into a temporary table of the import's
    transaction and settles it there (:data:`_SETTLE_CHUNK`): suppressed addresses refused, new readers
    and their newsletters inserted, known ones marked, report rows kept. Meanwhile this thread reads the
    next chunk, so the server and Python work at the same time; the thread waits for the previous chunk
    before handing over the next, so the connection is used by one thread at a time. Everything happens
    in the one transaction, so an interrupted import leaves nothing behind. Reader ids and progress go
    through a second connection. Elsewhere: executemany per chunk into ``subscriber_import_rows``,
    progress by commit, and :func:`_settle` afterwards.
    """

    def __init__(
        self,
        session: Session,
        record: SubscriberImport,
        on_progress: Callable[[], None],
        params: dict[str, Any],
    ):
        self.session, self.record, self.on_progress, self.params = session, record, on_progress, params
        self.record_id = record.id
        self.postgres = session.connection().dialect.name == "postgresql"
        self.locked_newsletters: set[int] | None = None  # PostgreSQL: the newsletters held for the import
        self.counts: dict[tuple[str, str | None], int] = {}
        self.created = 0
        self.pending: list[str] = []
        self.pending_rows = 0
        self.running: concurrent.futures.Future | None = None
        self.insert_seconds = 0.0  # in the settling thread, inserting readers and their newsletters
        self.all_new = True  # no chunk has met a known address yet (see _SETTLE_NEW_CHUNK)

    def __enter__(self) -> StagingWriter:
        if self.postgres:
            for sql in _POSTGRES_SETUP:
                self.session.execute(text(sql))
            _create_chunk_table(self.session)
            # The newsletters cannot be deleted before the import commits (what each membership's
            # foreign-key trigger would otherwise lock row by row); only these may be named.
            self.locked_newsletters = set(
                self.session.scalars(text("SELECT id FROM newsletters ORDER BY id FOR KEY SHARE"))
            )
            # The import's record likewise: its report rows point to it.
            self.session.execute(
                text("SELECT 1 FROM subscriber_imports WHERE id = :id FOR KEY SHARE"), {"id": self.record_id}
            )
            self.triggers_off = _foreign_keys_checked_per_statement(self.session)
            self.connection = self.session.connection()
            self.side = self.session.get_bind().connect()
            self.pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="beitrag-import")
        return self

    def __exit__(self, exc_type, *exc_info) -> None:
        if self.postgres:
            try:
                if exc_type is None:
                    self._hand_over()
                    self._wait()
                    if self.triggers_off:
                        self.session.execute(text("SET LOCAL session_replication_role = origin"))
                elif self.running is not None:
                    concurrent.futures.wait([self.running])  # the first error is the one raised
            finally:
                self.pool.shutdown(wait=True)
                self.side.close()

    def write(self, rows: list[list]) -> None:
        if not rows:
            return
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
            if self.pending_rows >= SETTLE_ROWS:
                self._hand_over()
        else:
            self.session.execute(
                insert(ImportRow.__table__), [dict(zip(_STAGING_COLUMNS, row, strict=True)) for row in rows]
            )

    def _hand_over(self) -> None:
        """Wait for the chunk being settled, then give the pending rows to the settling thread."""
        self._wait()
        if self.pending:
            lines, self.pending, self.pending_rows = "".join(self.pending), [], 0
            self.running = self.pool.submit(self._settle_chunk, lines)

    def _wait(self) -> None:
        if self.running is not None:
            running, self.running = self.running, None
            running.result()  # an error in the chunk is raised here

    def _settle_chunk(self, lines: str) -> None:
        """In the settling thread: COPY one chunk into the chunk table and settle it."""
        connection, params = self.connection, self.params
        connection.execute(text(f"TRUNCATE {_CHUNK}"))
        cursor = connection.connection.dbapi_connection.cursor()
        with cursor.copy(f"COPY {_CHUNK} ({', '.join(_STAGING_COLUMNS)}) FROM STDIN") as copy:
            copy.write(lines)
        connection.execute(text(f"ANALYZE {_CHUNK}"))  # without statistics the planner nests loops here
        connection.execute(text(_SUPPRESS_CHUNK), {"suppressed": SUPPRESSED})
        started = time.perf_counter()
        self.created += self._insert_chunk(connection, params)
        self.insert_seconds = getattr(self, "insert_seconds", 0.0) + time.perf_counter() - started
        keep_accepted = self.record.consent is ImportConsent.NONE  # the opt-in mails work through them
        connection.execute(text(_KEEP_ROWS), {"keep_accepted": keep_accepted})
        for outcome, reason, n in connection.execute(text(_COUNT_CHUNK)):
            self.counts[outcome, reason] = self.counts.get((outcome, reason), 0) + n

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
        if self.postgres:
            self.side.execute(
                update(SubscriberImport)
                .where(SubscriberImport.id == self.record_id)
                .values(bytes_done=bytes_done, rows_read=rows_read)
            )
            self.side.commit()
        else:
            self.record.bytes_done = bytes_done
            self.record.rows_read = rows_read
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


def count_outcomes(
    record: SubscriberImport, counts: dict[tuple[str, str | None], int], created: int
) -> None:
    """The import's counts from the rows' outcomes and reasons."""
    refused = {reason: n for (outcome, reason), n in counts.items() if outcome == "refused"}
    read = sum(n for (outcome, _reason), n in counts.items() if outcome == "read")
    existing = sum(n for (outcome, _reason), n in counts.items() if outcome == "existing")
    record.created_count = created
    record.existing_count = existing + read - created
    record.duplicate_count = sum(n for r, n in refused.items() if r and r.startswith("duplicate"))
    record.suppressed_count = sum(n for r, n in refused.items() if r and r.startswith("on the suppression"))
    record.error_count = sum(refused.values()) - record.duplicate_count - record.suppressed_count


SETTLE_ROWS = 50_000


def _foreign_keys_checked_per_statement(session: Session) -> bool:
    """Switch off PostgreSQL's per-row foreign-key triggers for the import's inserts, where the role may
    (superuser, or ``GRANT SET ON PARAMETER session_replication_role``). Every key the import writes is
    then right by construction: reader ids come from the same statement's INSERT (no other transaction
    can see, let alone delete, those readers before commit), newsletter ids only from the newsletters
    locked ``FOR KEY SHARE`` before reading, and the report rows belong to this import, whose record is
    locked the same way. Without the privilege nothing changes and the triggers
    check each row."""
    try:
        with session.begin_nested():
            session.execute(text("SET LOCAL session_replication_role = replica"))
    except DBAPIError:
        return False
    return True
