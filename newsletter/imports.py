"""CSV import and export of readers. Plain functions; the caller (view, job, CLI) owns the transaction.

An import goes: the upload is streamed to a file under the instance folder (:func:`save_upload`), its
first kilobytes are sniffed for the delimiter and the header (:func:`inspect_file`), the editor maps the
columns and states the consent basis (:func:`set_mapping`), and a job reads the file and settles every
row in a few set-based statements (:func:`run_import`): duplicates within the file, suppressed addresses,
readers already known, new readers, their newsletters. On PostgreSQL that happens chunk by chunk while
the file is read (COPY into a temporary table, settled by a second thread); elsewhere the rows go to the
staging table ``subscriber_import_rows`` first. The rows kept there are the per-row report. Readers
without recorded consent get the opt-in mail, capped and paced (:func:`send_opt_ins`).
"""

from __future__ import annotations

import concurrent.futures
import csv
import hashlib
import io
import itertools
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from sqlalchemy import bindparam, delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from db import UTCDateTime, utcnow

from . import newsletters as newsletter_service
from . import roster, subscribers
from .models import (
    ConsentBasis,
    ImportConsent,
    ImportRow,
    ImportState,
    Newsletter,
    Subscriber,
    SubscriberImport,
    SubscriberStatus,
)

log = logging.getLogger(__name__)

FIELDS = ("email", "locale", "newsletters", "source")
SNIFF_BYTES = 64 * 1024
CHUNK_ROWS = 10_000
REPORT_CHUNK = 5_000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class ImportFileError(subscribers.SubscriberError):
    """The file or the column map cannot be used; the message says why."""


# -- reading the file ------------------------------------------------------------------------------


def normalize_address(raw: str) -> str:
    """``subscribers.normalize_email`` (plain addresses on its fast path, the domain checked once per
    distinct domain)."""
    return subscribers.normalize_email(raw)


def _decoded_lines(
    lines: Iterable[bytes], errors: list[tuple[int, str]], position: list[int]
) -> Iterator[str]:
    """The lines as text, one at a time. A line that is not UTF-8 is reported and skipped, not fatal.
    ``position[0]`` is the number of the line last read (1-based)."""
    for raw in lines:
        position[0] += 1
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError:
            errors.append((position[0], "the line is not valid UTF-8 (saved in another encoding?)"))


_BLOCK_BYTES = 1024 * 1024


def _file_rows(
    handle: IO[bytes], delimiter: str, errors: list[tuple[int, str]], position: list[int]
) -> Iterator[list[str]]:
    """The file's rows as lists of cells, exactly as ``csv.reader`` reads them line by line, with
    ``position[0]`` the number of the (last) line of the row just given. Lines that are not UTF-8 and
    rows the csv module refuses are appended to ``errors`` and skipped.

    The file is read in blocks of whole lines. A block that decodes as UTF-8 and holds no quote, no NUL
    and no carriage return outside a CRLF is split on line ends and delimiters (there the csv module
    would do nothing else); from the first block that does not, the rest of the file goes line by line
    through the csv module, which then also sees quoted fields that span lines."""
    block = handle.read(_BLOCK_BYTES)
    if block.startswith(b"\xef\xbb\xbf"):
        block = block[3:]
    while block:
        if not block.endswith(b"\n"):
            block += handle.readline()  # whole lines only
        try:
            text_block = block.decode("utf-8")
        except UnicodeDecodeError:
            text_block = None
        if (
            text_block is None
            or '"' in text_block
            or "\0" in text_block
            or text_block.count("\r") != text_block.count("\r\n")
        ):
            yield from _careful_rows(itertools.chain(io.BytesIO(block), handle), delimiter, errors, position)
            return
        lines = text_block.replace("\r\n", "\n").split("\n")
        if lines[-1] == "":
            lines.pop()  # the block ended with a line end
        number = position[0]
        for line in lines:
            number += 1
            position[0] = number
            yield line.split(delimiter) if line else []  # csv.reader: [] for an empty line
        block = handle.read(_BLOCK_BYTES)


def _careful_rows(
    lines: Iterable[bytes], delimiter: str, errors: list[tuple[int, str]], position: list[int]
) -> Iterator[list[str]]:
    """Rows through the csv module, line by line (see :func:`_file_rows`)."""
    reader = csv.reader(_decoded_lines(lines, errors, position), delimiter=delimiter)
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append((position[0], f"the line cannot be read as CSV: {exc}"[:300]))


def inspect_file(path: str | Path) -> tuple[str, bool, list[str], list[list[str]]]:
    """Delimiter, whether the first row is a header, the column names and a few sample rows.
    Raises :class:`ImportFileError` for an empty file or one that is not CSV text."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if not head.strip():
        raise ImportFileError("the file is empty")
    if b"\0" in head:
        raise ImportFileError("this is not a CSV file: it holds binary data")
    sample = head.decode("utf-8", errors="replace")
    if len(head) == SNIFF_BYTES and "\n" in sample:
        sample = sample[: sample.rindex("\n") + 1]  # whole lines only
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\r\n\t")
    if controls > len(sample) // 100 or sample.count("\ufffd") > len(sample) // 10:
        raise ImportFileError("this is not a CSV file: it does not read as text")
    first_line = sample.splitlines()[0] if sample.splitlines() else ""
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;").delimiter
    except csv.Error:
        delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    rows = [
        row for row in csv.reader(io.StringIO(sample), delimiter=delimiter) if any(c.strip() for c in row)
    ]
    rows = rows[:8]
    if not rows:
        raise ImportFileError("the file is empty")
    if not any("@" in cell for row in rows for cell in row):
        raise ImportFileError("no e-mail address in the first lines of the file: is this the right file?")
    has_header = not any(_looks_like_address(cell) for cell in rows[0])
    width = max(len(r) for r in rows)
    if has_header:
        columns = [c.strip()[:80] or f"#{i + 1}" for i, c in enumerate(rows[0])]
        columns += [f"#{i + 1}" for i in range(len(columns), width)]
        samples = rows[1:6]
    else:
        columns = [f"#{i + 1}" for i in range(width)]
        samples = rows[:5]
    return delimiter, has_header, columns, samples


def _looks_like_address(cell: str) -> bool:
    try:
        normalize_address(cell)
        return True
    except subscribers.InvalidEmail:
        return False


_GUESSES = {
    "email": ("email", "e-mail", "mail", "e-mail-adresse", "email address", "e-mail address", "adresse"),
    "locale": ("locale", "language", "lang", "sprache"),
    "newsletters": ("newsletter", "newsletters", "lists", "list", "listen", "liste"),
    "source": ("source", "quelle", "herkunft", "utm_source"),
}


def guess_mapping(columns: Sequence[str], samples: Sequence[Sequence[str]]) -> dict[str, str]:
    """A first column map from the header names (or, without a header, the column holding addresses)."""
    mapping: dict[str, str] = {}
    for index, name in enumerate(columns):
        key = name.strip().lower()
        for field, names in _GUESSES.items():
            if key in names and field not in mapping.values():
                mapping[str(index)] = field
    if "email" not in mapping.values():
        for index in range(len(columns)):
            if any(index < len(r) and _looks_like_address(r[index]) for r in samples):
                mapping[str(index)] = "email"
                break
    return mapping


# -- the import record -----------------------------------------------------------------------------


def save_upload(
    session: Session,
    stream: IO[bytes],
    filename: str,
    folder: str | Path,
    *,
    staff_user_id: int | None,
    max_bytes: int,
) -> SubscriberImport:
    """Copy the upload to a file under ``folder`` in 1 MB pieces (never whole into memory), check that it
    reads as CSV and create the import record. A refused file is deleted again."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{uuid.uuid4().hex}.csv"
    size = 0
    try:
        with open(path, "wb") as out:
            while piece := stream.read(1024 * 1024):
                size += len(piece)
                if size > max_bytes:
                    raise ImportFileError(f"the file is larger than {max_bytes // (1024 * 1024)} MB")
                out.write(piece)
        delimiter, has_header, columns, samples = inspect_file(path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    record = SubscriberImport(
        staff_user_id=staff_user_id,
        filename=_CONTROL.sub(" ", os.path.basename(filename or "upload.csv"))[:255],
        stored_path=str(path),
        size_bytes=size,
        delimiter=delimiter,
        has_header=has_header,
        columns=columns,
        mapping=guess_mapping(columns, samples),
        state=ImportState.UPLOADED,
    )
    session.add(record)
    session.flush()
    return record


def sample_rows(record: SubscriberImport) -> list[list[str]]:
    return inspect_file(record.stored_path)[3]


def set_mapping(
    session: Session,
    record: SubscriberImport,
    mapping: dict[str, str],
    *,
    newsletter_ids: Sequence[int],
    consent: ImportConsent,
    consent_detail: str,
) -> None:
    """Check and keep the editor's column map and consent statement; the import is then ready to run.
    A wrong map is refused with a message and nothing is kept."""
    if record.state is not ImportState.UPLOADED:
        raise ImportFileError("this import has already started")
    chosen = {k: v for k, v in mapping.items() if v and v != "ignore"}
    for key, field in chosen.items():
        if field not in FIELDS or not key.isdigit() or int(key) >= len(record.columns):
            raise ImportFileError("the column map names a column or a field that does not exist")
    fields = list(chosen.values())
    if fields.count("email") != 1:
        raise ImportFileError("choose exactly one column that holds the e-mail addresses")
    for field in FIELDS:
        if fields.count(field) > 1:
            raise ImportFileError("each field can come from one column only")
    email_index = int(next(k for k, v in chosen.items() if v == "email"))
    samples = sample_rows(record)
    if samples and not any(email_index < len(r) and _looks_like_address(r[email_index]) for r in samples):
        raise ImportFileError(
            f"the column “{record.columns[email_index]}” holds no e-mail addresses in the first rows"
        )
    if consent is ImportConsent.RECORDED and not consent_detail.strip():
        raise ImportFileError("say where and when the readers gave their consent")
    known = set(session.scalars(select(Newsletter.id).where(Newsletter.id.in_(list(newsletter_ids)))))
    record.mapping = chosen
    record.newsletter_ids = sorted(known)
    record.consent = consent
    record.consent_detail = _CONTROL.sub(" ", consent_detail.strip())[:400]
    record.state = ImportState.QUEUED


# -- running the import ----------------------------------------------------------------------------


_STAGING_COLUMNS = ("import_id", "line", "email", "email_lower", "email_hash", "locale", "source",
                    "newsletter_ids", "outcome", "reason", "mailed", "subscriber_id")  # fmt: skip


# PostgreSQL: each chunk of the file is settled in a temporary table of the import's transaction (no WAL,
# no index, no foreign key to check per row, dropped at commit). Only what is needed afterwards is written
# to ``subscriber_import_rows``: the report rows, and the accepted rows while opt-in mails still need them.
_CHUNK = "pg_temp.beitrag_import_chunk"
SETTLE_ROWS = 50_000

# PostgreSQL, for the import's own transaction: room for the sorts and hashes of a chunk in memory; no JIT
# (its compile time buys nothing on these plans); the commit does not wait for the WAL flush (a crash
# in that instant loses the whole transaction, never half of it, and the import is run again, as after
# any interruption); and each chunk's statistics come from a small sample (the planner only needs to know
# that most rows are accepted, and a full ANALYZE of every chunk took 2.7 s of a million-row import).
_POSTGRES_SETUP = [
    "SET LOCAL work_mem = '64MB'",
    "SET LOCAL jit = off",
    "SET LOCAL synchronous_commit = off",
    "SET LOCAL default_statistics_target = 10",
]


def _create_chunk_table(session: Session) -> None:
    """The temporary chunk table, shaped like ``subscriber_import_rows``, in the session's own buffers (a
    bigger ``temp_buffers`` where PostgreSQL still allows it: before the session's first temporary table)."""
    try:
        with session.begin_nested():
            session.execute(text("SET LOCAL temp_buffers = '64MB'"))
    except DBAPIError:
        pass
    session.execute(text(f"DROP TABLE IF EXISTS {_CHUNK}"))
    session.execute(text(f"CREATE TEMPORARY TABLE {_CHUNK} (LIKE subscriber_import_rows) ON COMMIT DROP"))


_SUPPRESSED = "on the suppression list (left, bounced, complained or erased)"
_EXISTING = "already a reader; left unchanged"
_DUPLICATE = "duplicate of an earlier line"

# Suppressed addresses are refused, whatever the editor says.
_SUPPRESS_CHUNK = f"""
UPDATE {_CHUNK} SET outcome = 'refused', reason = :suppressed
WHERE outcome = 'read' AND email_hash IN (SELECT email_hash FROM suppressions)"""  # noqa: S608 (constants)

# A chunk's new readers and their newsletters in one statement. Each row carries the id its reader gets
# (drawn while reading), so the newsletters meet the new readers on that integer, and each row's list of
# newsletters is unnested; the ids are fresh and a row's list has no repeats, so memberships cannot
# conflict. An address the database already holds (``uq_subscribers_email_lower``: the conflict) is left
# as it is and its row marked "existing".
_SETTLE_TEMPLATE = """
WITH created AS (
  INSERT INTO subscribers (id, email, status, locale, source, created_at, updated_at, confirmed_at,
                           consent_basis, consent_at, consent_detail, ask_frequency)
  SELECT subscriber_id, email, :status, COALESCE(locale, :locale), COALESCE(source, :source), :now, :now,
         :confirmed_at, :basis, :consent_at, :detail, 'normal'
  FROM {chunk} WHERE outcome = 'read'
  {on_conflict} RETURNING id
), memberships AS (
  INSERT INTO subscriptions (subscriber_id, newsletter_id, created_at)
  SELECT r.subscriber_id, CAST(unnest(string_to_array(r.newsletter_ids, ',')) AS INTEGER), :now
  FROM {chunk} r JOIN created c ON c.id = r.subscriber_id
  WHERE r.outcome = 'read' AND r.newsletter_ids IS NOT NULL
){known}
SELECT count(*) FROM created"""
_KNOWN_ROWS = f"""
, known AS (
  UPDATE {_CHUNK} SET outcome = 'existing', reason = :existing
  WHERE outcome = 'read' AND subscriber_id NOT IN (SELECT id FROM created)
)"""  # noqa: S608 (constants only)
_SETTLE_CHUNK = _SETTLE_TEMPLATE.format(chunk=_CHUNK, on_conflict="ON CONFLICT DO NOTHING", known=_KNOWN_ROWS)
# The same for a chunk of addresses the database does not hold yet (the usual case of a first import):
# a plain INSERT, which PostgreSQL carries out in about two thirds of the time of one with ON CONFLICT
# (no speculative insertion). Run under a savepoint: a known address raises a unique violation, the chunk
# is rolled back to the savepoint and settled with the statement above, as is every later chunk.
_SETTLE_NEW_CHUNK = _SETTLE_TEMPLATE.format(chunk=_CHUNK, on_conflict="", known="")
_KNOWN_ADDRESS = "uq_subscribers_email_lower"

_KEEP_ROWS = f"""
INSERT INTO subscriber_import_rows ({", ".join(_STAGING_COLUMNS)})
SELECT {", ".join(_STAGING_COLUMNS)} FROM {_CHUNK}
WHERE reason IS NOT NULL OR (:keep_accepted AND outcome = 'read')"""  # noqa: S608 (constants only)

_COUNT_CHUNK = f"SELECT outcome, reason, count(*) FROM {_CHUNK} GROUP BY outcome, reason"  # noqa: S608


class _StagingWriter:
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

    def __enter__(self) -> _StagingWriter:
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
        connection.execute(text(_SUPPRESS_CHUNK), {"suppressed": _SUPPRESSED})
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
                    return connection.execute(_timed(_SETTLE_NEW_CHUNK), params).scalar_one()
            except IntegrityError as error:
                if getattr(getattr(error.orig, "diag", None), "constraint_name", None) != _KNOWN_ADDRESS:
                    raise
                self.all_new = False  # some addresses are known: this chunk and the rest check each one
        return connection.execute(_timed(_SETTLE_CHUNK), {**params, "existing": _EXISTING}).scalar_one()

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


class _CellCache(dict):
    """What a cell value came to, per distinct value: files repeat a handful of languages, newsletter
    lists and sources, so each is worked out once per import. Bounded, so a file of distinct values
    cannot grow it without end."""

    def keep(self, value: str, result: Any) -> Any:
        if len(self) < 10_000:
            self[value] = result
        return result


_BAD = object()  # a cached "refused" marker; the reason is kept beside it


def _locale_cell(value: str, cache: _CellCache) -> tuple[Any, str | None]:
    """(language or None) or (_BAD, reason)."""
    if value in cache:
        return cache[value]
    cell = value.strip().lower()
    if cell:
        cell = cell.replace("_", "-").split("-")[0]
        if cell not in roster.LOCALES:
            return cache.keep(value, (_BAD, f"unknown language “{cell[:20]}” (de or en)"))
    return cache.keep(value, (cell or None, None))


def _source_cell(value: str, cache: _CellCache) -> tuple[Any, str | None]:
    """(source or None) or (_BAD, reason)."""
    if value in cache:
        return cache[value]
    cell = value.strip()
    if _CONTROL.search(cell):
        return cache.keep(value, (_BAD, "the source contains a line break or a control character"))
    return cache.keep(value, (cell[:255] or None, None))


def _parse_row(
    row: list[str],
    fields: dict[str, int],
    newsletter_keys: dict[str, int],
    caches: dict[str, _CellCache] | None = None,
) -> tuple[str, str | None, str | None, str | None] | str:
    """(email, locale, source, newsletter ids) for a good row, or the reason it is refused."""
    if caches is None:
        caches = {"locale": _CellCache(), "source": _CellCache(), "newsletters": _CellCache()}
    index = fields["email"]
    raw = row[index] if index < len(row) else ""
    try:
        email = normalize_address(raw)
    except subscribers.InvalidEmail as exc:
        if not raw.strip():
            return "no e-mail address in this row"
        return f"invalid e-mail address: {exc}"[:300]
    locale = source = nl_ids = None
    if "locale" in fields:
        locale, reason = _locale_cell(
            row[fields["locale"]] if fields["locale"] < len(row) else "", caches["locale"]
        )
        if locale is _BAD:
            return reason
    if "source" in fields:
        source, reason = _source_cell(
            row[fields["source"]] if fields["source"] < len(row) else "", caches["source"]
        )
        if source is _BAD:
            return reason
    if "newsletters" in fields:
        value = row[fields["newsletters"]] if fields["newsletters"] < len(row) else ""
        nl_ids = _newsletter_ids(value, newsletter_keys, caches["newsletters"])
        if nl_ids is not None and nl_ids.startswith("unknown"):
            return nl_ids
    return email, locale, source, nl_ids


def _newsletter_ids(value: str, newsletter_keys: dict[str, int], cache: dict[str, str | None]) -> str | None:
    """The cell's newsletters as sorted ids ("1,3"), None for an empty cell, or the reason it is refused
    (starting with "unknown"). A file repeats a handful of values, so each is worked out once per import
    and kept in ``cache``."""
    if value in cache:
        return cache[value]
    ids = set()
    result = None
    for part in re.split(r"[|,]", value):
        key = part.strip().lower()
        if not key:
            continue
        if _CONTROL.search(key) or key not in newsletter_keys:
            result = f"unknown newsletter “{_CONTROL.sub(' ', part.strip())[:40]}”"
            break
        ids.add(newsletter_keys[key])
    else:
        result = ",".join(str(i) for i in sorted(ids)) or None
    if len(cache) < 10_000:
        cache[value] = result
    return result


def _read_into_staging(
    session: Session, record: SubscriberImport, on_progress: Callable[[], None], params: dict[str, Any]
) -> bool:
    """Read the file into the staging rows; on PostgreSQL also settle them, chunk by chunk (then True).
    Duplicates within the file are refused here, in one set of the lower-cased addresses (the first line
    with an address wins), rather than by a window over the staging table afterwards."""
    fields = {field: int(index) for index, field in record.mapping.items()}
    writer = _StagingWriter(session, record, on_progress, params)
    with writer:
        rows_read = _read_rows(session, record, fields, writer)
    session.expire(record)  # the progress columns were written through another connection
    record.bytes_done = record.size_bytes
    record.rows_read = rows_read
    if writer.postgres:
        _count_outcomes(record, writer.counts, writer.created)
        log.info(
            "import %s: readers and newsletters inserted in %.1f s of the settling thread "
            "(foreign keys checked %s)",
            record.id, writer.insert_seconds, "per statement" if writer.triggers_off else "per row",
        )  # fmt: skip
    return writer.postgres


def _read_rows(
    session: Session, record: SubscriberImport, fields: dict[str, int], writer: _StagingWriter
) -> int:
    keys = newsletter_service.newsletters_by_key(session)
    # Each reader's newsletters: those of the row plus those the editor chose; the default without either.
    chosen = set(record.newsletter_ids)
    default_id = session.scalar(select(Newsletter.id).where(Newsletter.is_default.is_(True)))
    locked = writer.locked_newsletters
    if locked is not None:  # PostgreSQL: only the newsletters held for the import may be named
        keys = {key: nid for key, nid in keys.items() if nid in locked}
        if not chosen <= locked or (default_id is not None and default_id not in locked):
            raise ImportFileError("a newsletter chosen for this import was deleted while it ran")
    fallback = ",".join(str(i) for i in sorted(chosen)) or (str(default_id) if default_id else None)
    combined: dict[str, str | None] = {}
    caches = {"locale": _CellCache(), "source": _CellCache(), "newsletters": _CellCache()}
    seen: set[str] = set()
    errors: list[tuple[int, str]] = []
    position = [0]
    batch: list[tuple] = []
    rows_read = 0
    import_id = record.id
    path, delimiter, header_skipped = record.stored_path, record.delimiter, not record.has_header
    with open(path, "rb") as handle:
        for row in _file_rows(handle, delimiter, errors, position):
            if not header_skipped:
                header_skipped = True
                continue
            if not "".join(row).strip():  # blank in every cell
                continue
            rows_read += 1
            parsed = _parse_row(row, fields, keys, caches)
            if isinstance(parsed, str):
                errors.append((position[0], parsed))
            else:
                email, locale, source, nl_ids = parsed
                if nl_ids is None:
                    nl_ids = fallback
                elif chosen:
                    if nl_ids not in combined:
                        ids = chosen | {int(i) for i in nl_ids.split(",")}
                        combined[nl_ids] = ",".join(str(i) for i in sorted(ids))
                    nl_ids = combined[nl_ids]
                lower = email.lower()
                digest = hashlib.sha256(lower.encode("utf-8")).hexdigest()
                if lower in seen:
                    outcome, reason = "refused", _DUPLICATE
                else:
                    seen.add(lower)
                    outcome, reason = "read", None
                batch.append(
                    [
                        import_id,
                        position[0],
                        email,
                        lower,
                        digest,
                        locale,
                        source,
                        nl_ids,
                        outcome,
                        reason,
                        False,
                        None,
                    ]
                )
            if errors:
                rows_read += sum(1 for _line, reason in errors if reason.startswith("the line"))
                batch.extend(
                    [import_id, line, None, None, None, None, None, None, "refused", reason, False, None]
                    for line, reason in errors
                )
                errors.clear()
            if len(batch) >= CHUNK_ROWS:
                writer.write(batch)
                batch.clear()
                writer.progress(handle.tell(), rows_read)
        if errors:
            rows_read += len(errors)
            batch.extend(
                [import_id, line, None, None, None, None, None, None, "refused", reason, False, None]
                for line, reason in errors
            )
        writer.write(batch)
    return rows_read


# Elsewhere (SQLite): the staging rows are settled after reading, in a few set-based statements.
_SETTLE = [
    # Suppressed addresses are refused, whatever the editor says.
    """UPDATE subscriber_import_rows SET outcome = 'refused', reason = :suppressed
       WHERE import_id = :id AND outcome = 'read'
         AND email_hash IN (SELECT email_hash FROM suppressions)""",
    # Readers the database already knows are left as they are.
    """UPDATE subscriber_import_rows SET outcome = 'existing', reason = :existing
       WHERE import_id = :id AND outcome = 'read'
         AND EXISTS (SELECT 1 FROM subscribers s
                     WHERE lower(s.email) = subscriber_import_rows.email_lower)""",
]
_SETTLE_READERS = """
INSERT INTO subscribers (email, status, locale, source, created_at, updated_at, confirmed_at,
                         consent_basis, consent_at, consent_detail, ask_frequency)
SELECT email, :status, COALESCE(locale, :locale), COALESCE(source, :source), :now, :now, :confirmed_at,
       :basis, :consent_at, :detail, 'normal'
FROM subscriber_import_rows WHERE import_id = :id AND outcome = 'read'
ON CONFLICT DO NOTHING"""


def _timed(sql: str) -> Any:
    """The statement with its time parameters typed, so both databases store them alike."""
    names = [n for n in ("now", "confirmed_at", "consent_at") if f":{n}" in sql]
    return text(sql).bindparams(*(bindparam(n, type_=UTCDateTime()) for n in names))


def _settle_params(record: SubscriberImport, staff_email: str) -> dict[str, Any]:
    """What every new reader of the import gets."""
    now = utcnow()
    recorded = record.consent is ImportConsent.RECORDED
    params = {
        "id": record.id,
        "status": (SubscriberStatus.ACTIVE if recorded else SubscriberStatus.PENDING).value,
        "locale": "de",
        "source": f"import:{record.id}",
        "now": now,
        "confirmed_at": now if recorded else None,
        "basis": ConsentBasis.RECORDED.value if recorded else None,
        "consent_at": now if recorded else None,
        "detail": f"{record.consent_detail} (import {record.id} by {staff_email})"[:500]
        if recorded
        else None,
    }
    return params


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


def _settle(session: Session, record: SubscriberImport, params: dict[str, Any]) -> None:
    """Settle the staging rows in a few set-based statements (not PostgreSQL, which settles while
    reading) and count the outcomes."""
    now = params["now"]
    for sql in _SETTLE:
        session.execute(text(sql), {"id": record.id, "suppressed": _SUPPRESSED, "existing": _EXISTING})
    created = session.execute(_timed(_SETTLE_READERS), params).rowcount
    for newsletter_id in session.scalars(select(Newsletter.id)):
        session.execute(
            _timed(
                "INSERT INTO subscriptions (subscriber_id, newsletter_id, created_at) "
                "SELECT s.id, :nid, :now FROM subscriber_import_rows r "
                "JOIN subscribers s ON lower(s.email) = r.email_lower "
                "WHERE r.import_id = :id AND r.outcome = 'read' AND s.created_at = :now "
                "AND (',' || r.newsletter_ids || ',') LIKE :pattern ON CONFLICT DO NOTHING"
            ),
            {"id": record.id, "nid": newsletter_id, "now": now, "pattern": f"%,{newsletter_id},%"},
        )
    counts = session.execute(
        select(ImportRow.outcome, ImportRow.reason, func.count())
        .where(ImportRow.import_id == record.id)
        .group_by(ImportRow.outcome, ImportRow.reason)
    ).all()
    _count_outcomes(record, {(outcome, reason): n for outcome, reason, n in counts}, created)


def _count_outcomes(
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


def run_import(
    session: Session, import_id: int, *, on_progress: Callable[[], None] = lambda: None
) -> SubscriberImport | None:
    """Carry out a queued import. Safe to run twice: a finished import is left alone, an interrupted one
    starts over (nothing of it reached the reader tables before the final step)."""
    record = session.get(SubscriberImport, import_id, populate_existing=True)
    if record is None or record.state in (ImportState.DONE, ImportState.FAILED, ImportState.UPLOADED):
        return record
    session.execute(delete(ImportRow).where(ImportRow.import_id == record.id))
    record.state = ImportState.RUNNING
    record.started_at = utcnow()
    record.bytes_done = record.rows_read = 0
    on_progress()
    staff = record.staff_user_id
    from .models import StaffUser

    staff_user = session.get(StaffUser, staff) if staff else None
    staff_email = staff_user.email if staff_user else "staff"
    params = _settle_params(record, staff_email)
    started, cpu = time.perf_counter(), time.process_time()
    settled = _read_into_staging(session, record, on_progress, params)
    read, read_cpu = time.perf_counter(), time.process_time()
    if not settled:
        _settle(session, record, params)
    log.info(
        "import %s: %s rows read%s in %.1f s (%.1f s CPU in this process), then settled in %.1f s",
        record.id, record.rows_read, " and settled" if settled else "", read - started, read_cpu - cpu,
        time.perf_counter() - read,
    )  # fmt: skip
    record.state = ImportState.DONE
    record.finished_at = utcnow()
    return record


def fail_import(session: Session, import_id: int, reason: str) -> None:
    record = session.get(SubscriberImport, import_id, populate_existing=True)
    if record is not None:
        session.execute(delete(ImportRow).where(ImportRow.import_id == import_id))
        record.state = ImportState.FAILED
        record.failure = reason[:500]
        record.finished_at = utcnow()


def send_opt_ins(session: Session, import_id: int, *, batch: int, cap: int) -> int:
    """Queue the opt-in mail for the next ``batch`` pending readers of an import, at most ``cap`` in all.
    Returns how many are still waiting (0 when done). Safe to run twice: each row is marked as mailed."""
    record = session.get(SubscriberImport, import_id, populate_existing=True)
    if record is None or record.consent is not ImportConsent.NONE or record.state is not ImportState.DONE:
        return 0
    room = max(0, min(batch, cap - record.opt_in_sent))
    pending = (
        select(ImportRow, Subscriber)
        .join(Subscriber, func.lower(Subscriber.email) == ImportRow.email_lower)
        .where(
            ImportRow.import_id == import_id,
            ImportRow.outcome == "read",
            ImportRow.mailed.is_(False),
            Subscriber.status == SubscriberStatus.PENDING,
        )
        .order_by(ImportRow.line)
    )
    for row, reader in session.execute(pending.limit(room)).all():
        row.mailed = True
        session.flush()
        subscribers.request_confirmation(session, reader)
        record.opt_in_sent += 1
    if record.opt_in_sent >= cap:
        return 0
    return session.scalar(select(func.count()).select_from(pending.subquery())) or 0


# -- reports and export ----------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula: a leading = + - @ tab or CR gets a quote."""
    cell = "" if value is None else str(value)
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def _csv_line(cells: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([neutralize(c) for c in cells])
    return buffer.getvalue()


def iter_report(session: Session, import_id: int, header: Sequence[str]) -> Iterator[str]:
    """The per-row report as CSV lines (line, address, outcome, reason), in line order, chunk by chunk."""
    yield "\ufeff" + _csv_line(header)
    last = 0
    while True:
        rows = session.execute(
            select(ImportRow.line, ImportRow.email, ImportRow.outcome, ImportRow.reason)
            .where(ImportRow.import_id == import_id, ImportRow.reason.is_not(None), ImportRow.line > last)
            .order_by(ImportRow.line)
            .limit(REPORT_CHUNK)
        ).all()
        if not rows:
            return
        for line, email, outcome, reason in rows:
            yield _csv_line([line, email or "", outcome, reason])
        last = rows[-1][0]


EXPORT_HEADER = (
    "email",
    "status",
    "locale",
    "source",
    "newsletters",
    "created_at",
    "confirmed_at",
    "consent_basis",
)


def iter_export(session: Session, flt: roster.SubscriberFilter) -> Iterator[str]:
    """The readers of a filtered staff view as CSV (UTF-8 with BOM for spreadsheets), streamed."""
    slugs = {n.id: n.slug for n in newsletter_service.list_newsletters(session)}
    yield "\ufeff" + _csv_line(EXPORT_HEADER)
    after = None
    while True:
        result = roster.page(session, flt, after=after, size=2000)
        for r in result.rows:
            yield _csv_line(
                [
                    r.email,
                    r.status.value,
                    r.locale,
                    r.source or "",
                    " ".join(sorted(slugs.get(n, "") for n in result.newsletters.get(r.id, []))),
                    r.created_at.isoformat(),
                    r.confirmed_at.isoformat() if r.confirmed_at else "",
                    r.consent_basis.value if r.consent_basis else "",
                ]
            )
        session.expunge_all()
        if result.next_after is None:
            return
        after = result.next_after


def delete_import(session: Session, record: SubscriberImport) -> None:
    """Remove the import, its report rows and its stored file."""
    Path(record.stored_path).unlink(missing_ok=True)
    session.delete(record)


def recent_imports(session: Session, limit: int = 20) -> list[SubscriberImport]:
    return list(session.scalars(select(SubscriberImport).order_by(SubscriberImport.id.desc()).limit(limit)))
