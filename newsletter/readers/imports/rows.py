"""One line of the file checked: address, language, source, newsletters; refused with a reason."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from newsletter.readers import newsletters as newsletter_service
from newsletter.readers import roster
from newsletter.readers.errors import InvalidEmail
from newsletter.readers.imports.files import (
    CONTROL_CHARACTERS,
    MAX_LINE_BYTES,
    ImportFileError,
    file_rows,
    normalize_address,
)
from newsletter.readers.imports.settle_sql import DUPLICATE
from newsletter.readers.imports.staging import StagingWriter
from newsletter.readers.models import Newsletter, SubscriberImport

log = logging.getLogger(__name__)


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
    if CONTROL_CHARACTERS.search(cell):
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
    except InvalidEmail as exc:
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
        if CONTROL_CHARACTERS.search(key) or key not in newsletter_keys:
            result = f"unknown newsletter “{CONTROL_CHARACTERS.sub(' ', part.strip())[:40]}”"
            break
        ids.add(newsletter_keys[key])
    else:
        result = ",".join(str(i) for i in sorted(ids)) or None
    if len(cache) < 10_000:
        cache[value] = result
    return result


def read_into_staging(
    session: Session,
    record: SubscriberImport,
    on_progress: Callable[[], None],
    params: dict[str, Any],
    *,
    run: int = 0,
    settled: list[tuple[int, int]] = (),
    lease_seconds: float = 120.0,
    settle_rows: int | None = None,
    max_line: int = MAX_LINE_BYTES,
) -> StagingWriter:
    """Read the file into the staging rows; on PostgreSQL also settle them, chunk by chunk. Lines in
    ``settled`` (chunks of an earlier run) are read again but not written: duplicates within the file are
    refused here, in one set of the lower-cased addresses (the first line with an address wins), so a
    resumed run needs the addresses of the lines before as well."""
    fields = {field: int(index) for index, field in record.mapping.items()}
    writer = StagingWriter(
        session, record, on_progress, params, run=run, settled=settled, lease_seconds=lease_seconds,
        settle_rows=settle_rows,
    )  # fmt: skip
    with writer:
        rows_read = _read_rows(session, record, fields, writer, max_line)
    session.expire(record)  # the progress columns were written through another connection
    record.bytes_done = record.size_bytes
    record.rows_read = rows_read
    if writer.postgres:
        log.info(
            "import %s: readers and newsletters inserted in %.1f s of the settling threads "
            "(foreign keys checked %s)",
            record.id, writer.insert_seconds, "per statement" if writer.triggers_off else "per row",
        )  # fmt: skip
    return writer


def _newsletter_plan(session: Session, record: SubscriberImport, writer: StagingWriter):
    """The newsletters by the keys a file may name them with, the editor's choice for every row, and the
    list a row without newsletters gets (the choice, else the default)."""
    keys = newsletter_service.newsletters_by_key(session)
    chosen = set(record.newsletter_ids)
    default_id = session.scalar(select(Newsletter.id).where(Newsletter.is_default.is_(True)))
    locked = writer.locked_newsletters
    if locked is not None:  # PostgreSQL: only the newsletters held for the import may be named
        keys = {key: nid for key, nid in keys.items() if nid in locked}
        if not chosen <= locked or (default_id is not None and default_id not in locked):
            raise ImportFileError("a newsletter chosen for this import was deleted while it ran")
    fallback = ",".join(str(i) for i in sorted(chosen)) or (str(default_id) if default_id else None)
    return keys, chosen, fallback


def _refused_lines(import_id: int, errors: list[tuple[int, str]]) -> list[list]:
    return [[import_id, line, None, None, None, None, None, None, "refused", reason, False, None]
            for line, reason in errors]  # fmt: skip


def _address_as_given(row: list[str], fields: dict[str, int]) -> str | None:
    """A refused row's address cell as the file has it, so the report says which reader the line meant
    (control characters blanked: the report is a CSV and PostgreSQL's COPY reads tabs and line breaks)."""
    index = fields["email"]
    raw = row[index] if index < len(row) else ""
    return CONTROL_CHARACTERS.sub(" ", raw).strip()[:320] or None


def _read_rows(
    session: Session, record: SubscriberImport, fields: dict[str, int], writer: StagingWriter, max_line: int
) -> int:
    # Each reader's newsletters: those of the row plus those the editor chose; the default without either.
    keys, chosen, fallback = _newsletter_plan(session, record, writer)
    combined: dict[str, str | None] = {}
    caches = {"locale": _CellCache(), "source": _CellCache(), "newsletters": _CellCache()}
    seen: set[str] = set()
    errors: list[tuple[int, str]] = []
    position = [0]
    batch: list[list] = []
    batch_rows = min(CHUNK_ROWS, writer.settle_rows)
    rows_read = 0
    import_id = record.id
    path, delimiter, header_skipped = record.stored_path, record.delimiter, not record.has_header
    with open(path, "rb") as handle:
        for row in file_rows(handle, delimiter, errors, position, max_line):
            if not header_skipped:
                header_skipped = True
                continue
            if not "".join(row).strip():  # blank in every cell
                continue
            rows_read += 1
            parsed = _parse_row(row, fields, keys, caches)
            if isinstance(parsed, str):
                batch.append([import_id, position[0], _address_as_given(row, fields), None, None, None, None,
                              None, "refused", parsed, False, None])  # fmt: skip
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
                    outcome, reason = "refused", DUPLICATE
                else:
                    seen.add(lower)
                    outcome, reason = "read", None
                batch.append([import_id, position[0], email, lower, digest, locale, source, nl_ids, outcome,
                              reason, False, None])  # fmt: skip
            if errors:
                rows_read += sum(1 for _line, reason in errors if reason.startswith("the line"))
                batch.extend(_refused_lines(import_id, errors))
                errors.clear()
            if len(batch) >= batch_rows:
                writer.write(batch)
                batch.clear()
                writer.progress(handle.tell(), rows_read)
        if errors:
            rows_read += len(errors)
            batch.extend(_refused_lines(import_id, errors))
        writer.write(batch)
    return rows_read


CHUNK_ROWS = 10_000
