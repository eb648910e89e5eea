"""The uploaded file: saved, sniffed (encoding, delimiter, header), its columns guessed and mapped, and
read line by line."""

from __future__ import annotations

import csv
import io
import os
import re
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.platform import audit
from newsletter.readers import addresses
from newsletter.readers.errors import InvalidEmail, SubscriberError
from newsletter.readers.models import ImportConsent, ImportState, Newsletter, SubscriberImport

FIELDS = ("email", "locale", "newsletters", "source")
SNIFF_BYTES = 64 * 1024


CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


class ImportFileError(SubscriberError):
    """The file or the column map cannot be used; the message says why."""


def normalize_address(raw: str) -> str:
    """``addresses.normalize_email`` (plain addresses on its fast path, the domain checked once per
    distinct domain)."""
    return addresses.normalize_email(raw)


MAX_LINE_BYTES = 64 * 1024  # IMPORT_MAX_LINE_BYTES's default
_SKIP_BYTES = 64 * 1024  # the rest of a line too long is read in pieces of this size and dropped


def line_too_long(limit: int) -> str:
    return f"the line is longer than {limit:,} bytes (IMPORT_MAX_LINE_BYTES) and was skipped"


def row_too_long(limit: int, first: int, last: int) -> str:
    return (f"the line starts a row longer than {limit:,} bytes (IMPORT_MAX_LINE_BYTES; a quote that is "
            f"never closed?): lines {first} to {last} were skipped")  # fmt: skip


class _Unreadable(Exception):
    """A line (or a row spanning lines) that is not read; ``line`` is where it starts."""

    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line = line
        self.reason = reason


class _BoundedLines:
    """The lines of ``head`` followed by those of ``handle``, as bytes with their line ends, each read
    with ``readline(limit + 2)``: of a line longer than ``limit`` bytes (besides its line end) no more
    than that is ever in memory. Such a line is read on to its end in pieces and dropped, and raises
    :class:`_Unreadable` once; iterating goes on after it."""

    def __init__(self, head: bytes, handle: IO[bytes], limit: int, position: list[int]):
        self._head = io.BytesIO(head)
        self._handle = handle
        self.limit = limit
        self.position = position

    def _readline(self, size: int) -> bytes:
        piece = self._head.readline(size)
        if len(piece) == size or piece.endswith(b"\n"):
            return piece
        return piece + self._handle.readline(size - len(piece))  # a line that began in ``head``

    def __iter__(self) -> _BoundedLines:
        return self

    def __next__(self) -> bytes:
        line = self._readline(self.limit + 2)
        if not line:
            raise StopIteration
        self.position[0] += 1
        end = 2 if line.endswith(b"\r\n") else 1 if line.endswith(b"\n") else 0
        if len(line) - end <= self.limit:
            return line
        while not line.endswith(b"\n"):
            line = self._readline(_SKIP_BYTES)
            if not line:
                break
        raise _Unreadable(self.position[0], line_too_long(self.limit))


class _DecodedLines:
    """The lines as text for the csv module. A line that is not UTF-8 is reported and skipped, not fatal;
    a row that spans lines may hold at most ``limit`` bytes in all (:class:`_Unreadable` otherwise), so a
    quote that never closes cannot gather the rest of the file into one row."""

    def __init__(self, lines: _BoundedLines, errors: list[tuple[int, str]]):
        self.lines = lines
        self.errors = errors
        self.row_bytes = 0  # of the row the csv module is reading; :func:`_careful_rows` resets it
        self.row_start = 0

    def __iter__(self) -> _DecodedLines:
        return self

    def __next__(self) -> str:
        while True:
            raw = next(self.lines)
            number = self.lines.position[0]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                self.errors.append((number, "the line is not valid UTF-8 (saved in another encoding?)"))
                continue
            if not self.row_bytes:
                self.row_start = number
            self.row_bytes += len(raw)
            if self.row_bytes > self.lines.limit + 2:
                raise _Unreadable(self.row_start, row_too_long(self.lines.limit, self.row_start, number))
            return text


_BLOCK_BYTES = 1024 * 1024


def file_rows(
    handle: IO[bytes], delimiter: str, errors: list[tuple[int, str]], position: list[int],
    max_line: int = MAX_LINE_BYTES,
) -> Iterator[list[str]]:  # fmt: skip
    """The file's rows as lists of cells, exactly as ``csv.reader`` reads them line by line, with
    ``position[0]`` the number of the (last) line of the row just given. Lines that are not UTF-8, rows
    the csv module refuses and lines (or rows) longer than ``max_line`` bytes are appended to ``errors``
    and skipped; of a longer line no more than ``max_line + 2`` bytes are read at a time.

    The file is read in blocks of whole lines. A block that decodes as UTF-8 and holds no quote, no NUL,
    no carriage return outside a CRLF and no line that might pass ``max_line`` is split on line ends and
    delimiters (there the csv module would do nothing else); from the first block that does not, the rest
    of the file goes line by line through the csv module, which then also sees quoted fields that span
    lines."""
    block = handle.read(_BLOCK_BYTES)
    if block.startswith(b"\xef\xbb\xbf"):
        block = block[3:]
    while block:
        if not block.endswith(b"\n"):
            block += handle.readline(max_line + 2)  # whole lines only, but never a line past the limit
        try:
            text_block = block.decode("utf-8")
        except UnicodeDecodeError:
            text_block = None
        lines = None
        if text_block is not None and '"' not in text_block and "\0" not in text_block \
                and text_block.count("\r") == text_block.count("\r\n"):  # fmt: skip
            lines = text_block.replace("\r\n", "\n").split("\n")
            # A character is at most 4 bytes: lines of up to max_line / 4 characters are within the limit;
            # a longer one is measured in bytes by the careful reader.
            if max(map(len, lines)) > max_line // 4:
                lines = None
        if lines is None:
            yield from _careful_rows(block, handle, delimiter, errors, position, max_line)
            return
        if lines[-1] == "":
            lines.pop()  # the block ended with a line end
        number = position[0]
        for line in lines:
            number += 1
            position[0] = number
            yield line.split(delimiter) if line else []  # csv.reader: [] for an empty line
        block = handle.read(_BLOCK_BYTES)


def _careful_rows(
    head: bytes, handle: IO[bytes], delimiter: str, errors: list[tuple[int, str]], position: list[int],
    max_line: int,
) -> Iterator[list[str]]:  # fmt: skip
    """Rows through the csv module, line by line, from ``head`` on and then the rest of ``handle`` (see
    :func:`file_rows`)."""
    source = _DecodedLines(_BoundedLines(head, handle, max_line, position), errors)
    reader = csv.reader(source, delimiter=delimiter)
    while True:
        row = None
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append((position[0], f"the line cannot be read as CSV: {exc}"[:300]))
        except _Unreadable as exc:  # the csv module starts afresh with the next line
            errors.append((exc.line, exc.reason))
        source.row_bytes = 0  # the next row is counted from its own first line
        if row is not None:
            yield row


FIRST_LINE_TOO_LONG = "the first line of the file is too long: is this a CSV file?"


def inspect_file(
    path: str | Path, max_line: int = MAX_LINE_BYTES
) -> tuple[str, bool, list[str], list[list[str]]]:
    """Delimiter, whether the first row is a header, the column names and a few sample rows.
    Raises :class:`ImportFileError` for an empty file, one that is not CSV text, or one whose first line
    (the header, if any) is longer than ``max_line`` bytes or does not end within the first 64 KB."""
    with open(path, "rb") as fh:
        head = fh.read(SNIFF_BYTES)
    whole_file = len(head) < SNIFF_BYTES
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if not head.strip():
        raise ImportFileError("the file is empty")
    if b"\0" in head:
        raise ImportFileError("this is not a CSV file: it holds binary data")
    first_end = head.find(b"\n")
    if first_end < 0 and not whole_file:
        raise ImportFileError(FIRST_LINE_TOO_LONG)
    if len(head[: first_end if first_end >= 0 else len(head)].rstrip(b"\r")) > max_line:
        raise ImportFileError(FIRST_LINE_TOO_LONG)
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
    except InvalidEmail:
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


def save_upload(
    session: Session,
    stream: IO[bytes],
    filename: str,
    folder: str | Path,
    *,
    staff_user_id: int | None,
    max_bytes: int,
    max_line: int = MAX_LINE_BYTES,
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
        delimiter, has_header, columns, samples = inspect_file(path, max_line)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    record = SubscriberImport(
        staff_user_id=staff_user_id,
        filename=CONTROL_CHARACTERS.sub(" ", os.path.basename(filename or "upload.csv"))[:255],
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
    audit.record(session, "import.upload", target=record, detail={"file": record.filename, "bytes": size})
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
    send_welcome: bool = False,
) -> None:
    """Check and keep the editor's column map and consent statement; the import is then ready to run.
    A wrong map is refused with a message and nothing is kept. ``send_welcome``: readers imported with
    recorded consent get their newsletters' welcome mails (never without recorded consent: those readers
    get it when they confirm)."""
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
    record.consent_detail = CONTROL_CHARACTERS.sub(" ", consent_detail.strip())[:400]
    record.send_welcome = bool(send_welcome) and consent is ImportConsent.RECORDED
    record.state = ImportState.QUEUED
    audit.record(session, "import.start", target=record,
                 detail={"consent": record.consent.value, "newsletters": record.newsletter_ids,
                         "send_welcome": record.send_welcome})  # fmt: skip
