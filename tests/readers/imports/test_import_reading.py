"""How the import reads a file fast without reading it differently, and how it settles on PostgreSQL.

The block reader (whole-line blocks split directly while they hold no quote, NUL or lone CR) must give
the same rows, line numbers and per-line errors as the csv module line by line. Bad inputs tried: a
quoted field with a delimiter and a line break in a later block, a lone CR, a NUL, a Latin-1 line after
the first block, CRLF line ends, a last line without a line end, blank lines, duplicates whose first
line sits in another block, a newsletter deleted while the import runs (PostgreSQL; the failed import's
file is deleted), and the import run by a role that may not switch PostgreSQL's per-row foreign-key
triggers off."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from newsletter.readers import addresses, subscribers
from newsletter.readers import tasks as readers_tasks
from newsletter.readers.imports import files, staging
from newsletter.readers.imports import rows as import_rows
from newsletter.readers.models import (
    ImportRow,
    ImportState,
    Subscriber,
    SubscriberImport,
    SubscriberStatus,
    Subscription,
    SuppressionReason,
)
from tests.readers.factories import make_reader
from tests.readers.imports.pages import report, start, upload
from tests.support.worker import run_jobs


def _reference(content: bytes, delimiter: str) -> tuple[list[tuple[int, list[str]]], list[tuple[int, str]]]:
    """What the import read before the block reader: the csv module over the file's lines, one by one."""
    rows, errors, number = [], [], [0]

    def lines():
        for i, raw in enumerate(io.BytesIO(content)):
            number[0] += 1
            if i == 0 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                errors.append((number[0], "the line is not valid UTF-8 (saved in another encoding?)"))

    reader = csv.reader(lines(), delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return rows, errors
        except csv.Error as exc:
            errors.append((number[0], f"the line cannot be read as CSV: {exc}"[:300]))
            continue
        rows.append((number[0], row))


def _block_read(content: bytes, delimiter: str) -> tuple[list[tuple[int, list[str]]], list[tuple[int, str]]]:
    errors: list[tuple[int, str]] = []
    position = [0]
    rows = files.file_rows(io.BytesIO(content), delimiter, errors, position)
    return [(position[0], row) for row in rows], errors


PLAIN = "".join(f"leser.{i}@example.org;Leser {i};de;woche;messe\n" for i in range(40))


@pytest.mark.parametrize(
    "content",
    [
        ("\ufeffE-Mail;Name\n" + PLAIN).encode(),
        ("E-Mail;Name\r\n" + PLAIN.replace("\n", "\r\n")).encode(),
        (PLAIN + "letzte@example.org;ohne Zeilenende").encode(),
        (PLAIN + "\n\n;;\n" + PLAIN).encode(),
        (PLAIN + '"quoted;with\nline break@example.org";x\n' + PLAIN).encode(),
        (PLAIN + 'a@example.org;"Name ""in"" quotes"\n' + PLAIN).encode(),
        (PLAIN + "a@example.org;lone\rcarriage return\n" + PLAIN).encode(),
        (PLAIN + "a@example.org;nul\0here\n" + PLAIN).encode(),
        PLAIN.encode() + "b@example.org;Stra\xdfe\n".encode("latin-1") + PLAIN.encode(),
        ("\ufeff" + PLAIN).encode() + b"\xff\xfe broken\n" + b'c@example.org;"open quote\n',
    ],
    ids=["bom", "crlf", "no-final-newline", "blank-lines", "quoted-newline", "doubled-quotes", "lone-cr",
         "nul", "latin-1", "broken-and-open-quote"],
)  # fmt: skip
@pytest.mark.parametrize("block_bytes", [37, 200, 1024 * 1024])
def test_block_reader_reads_like_the_csv_module(content, block_bytes, monkeypatch):
    monkeypatch.setattr(files, "_BLOCK_BYTES", block_bytes)
    assert _block_read(content, ";") == _reference(content, ";")


def test_line_numbers_and_first_wins_across_blocks(app, db, editor, lists, monkeypatch):
    """Small blocks, so the file spans many: each refused line is reported with its own number, and a
    duplicate is refused in favour of the first line even when that line was in an earlier block; a
    quoted address after the fast blocks is still read."""
    monkeypatch.setattr(files, "_BLOCK_BYTES", 64)
    monkeypatch.setattr(import_rows, "CHUNK_ROWS", 4)  # rows handed to the writer at a time
    monkeypatch.setitem(app.config, "IMPORT_SETTLE_ROWS", 7)  # rows settled and committed at a time
    make_reader(db, "Leser20@example.org", status=SubscriberStatus.PENDING, source="form")
    addresses.suppress(db.session, "leser21@example.org", SuppressionReason.UNSUBSCRIBED)
    db.session.commit()
    lines = ["email;quelle"] + [f"leser{i}@example.org;q{i}" for i in range(30)]
    lines[25] = "LESER3@Example.org;again"  # line 26 repeats line 5
    lines[12] = "kaputt;x"  # line 13
    lines.append('"spaet@example.org";"mit ""Anführung"""')  # line 32: quotes switch to the csv module
    lines.append("leser7@EXAMPLE.ORG;late again")  # line 33 repeats line 9
    response = upload(editor, ("\n".join(lines) + "\n").encode())
    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
    start(editor, record_id, {0: "email", 1: "source"}, consent="recorded", consent_detail="Messe 2026")
    run_jobs(app)
    record = db.session.get(SubscriberImport, record_id)
    assert record.state is ImportState.DONE
    assert record.created_count == 27 and record.duplicate_count == 2 and record.error_count == 1
    assert record.existing_count == 1 and record.suppressed_count == 1 and record.rows_read == 32
    by_line = {int(r[0]): r for r in report(editor, record_id)[1:]}
    assert sorted(by_line) == [13, 22, 23, 26, 33]
    assert by_line[22][2] == "bereits eingetragen" and "Sperrliste" in by_line[23][3]
    assert subscribers.find_subscriber(db.session, "leser20@example.org").source == "form"  # left alone
    assert by_line[26][1] == "LESER3@example.org" and by_line[26][3].startswith("doppelt")
    assert by_line[33][1] == "leser7@example.org" and by_line[33][3].startswith("doppelt")
    assert by_line[13][1:] == ["kaputt", "abgelehnt", "ungültige E-Mail-Adresse: @-Zeichen fehlt"]
    assert subscribers.find_subscriber(db.session, "leser3@example.org").source == "q3"  # the first line won
    assert subscribers.find_subscriber(db.session, "spaet@example.org").source == 'mit "Anführung"'


@pytest.fixture
def postgres(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: chunked settling and the set-based foreign-key check")


def test_a_newsletter_deleted_before_the_import_runs_fails_it_and_writes_nothing(
    app, db, postgres, editor, lists
):
    """The editor chose the weekly newsletter for every reader; it is deleted before the worker starts.
    The import fails and nothing of it is written (the foreign keys are checked set-based: the chosen
    newsletters must be among those the import holds)."""
    _daily, weekly = lists
    response = upload(editor, b"email\nanna@example.org\nben@example.org\n")
    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
    start(
        editor, record_id, {0: "email"}, consent="recorded", consent_detail="Messe", newsletters=[weekly.id]
    )
    assert db.session.get(SubscriberImport, record_id).newsletter_ids == [weekly.id]
    stored = Path(db.session.get(SubscriberImport, record_id).stored_path)
    assert stored.is_file()
    db.session.execute(text("DELETE FROM newsletters WHERE id = :id"), {"id": weekly.id})
    db.session.commit()
    with pytest.raises(files.ImportFileError, match="deleted while it ran"):
        readers_tasks.run_subscriber_import(record_id)
    db.session.expire_all()
    record = db.session.get(SubscriberImport, record_id)
    assert record.state is ImportState.FAILED and "ImportFileError" in record.failure
    assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 0
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 0
    assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 0
    assert not stored.exists()  # a failed import keeps no file on disk


@pytest.mark.parametrize("may_switch_triggers_off", [True, False])
def test_settling_gives_the_same_readers_with_or_without_the_trigger_privilege(
    app, db, postgres, editor, lists, monkeypatch, may_switch_triggers_off
):
    """A role without the privilege keeps PostgreSQL's per-row foreign-key checks; the result is the same,
    and the session is back to normal trigger behaviour afterwards."""
    daily, weekly = lists
    if not may_switch_triggers_off:
        monkeypatch.setattr(staging, "_foreign_keys_checked_per_statement", lambda session: False)
    content = "email;newsletter\n" + "".join(
        f"leser{i}@example.org;{'woche|ki-taeglich' if i % 2 else ''}\n" for i in range(20)
    )
    response = upload(editor, content.encode())
    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
    start(editor, record_id, {0: "email", 1: "newsletters"}, consent="recorded", consent_detail="Messe")
    run_jobs(app)
    assert db.session.get(SubscriberImport, record_id).created_count == 20
    memberships = db.session.execute(
        select(Subscriber.email, Subscription.newsletter_id).join(Subscription).order_by(Subscriber.id)
    ).all()
    assert len(memberships) == 30
    assert {n for e, n in memberships if e == "leser1@example.org"} == {daily.id, weekly.id}
    assert {n for e, n in memberships if e == "leser2@example.org"} == {daily.id}
    # Recorded consent: no opt-in mails to track, so only report rows are kept (there are none here).
    assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 0
    assert db.session.scalar(text("SHOW session_replication_role")) == "origin"
    # The foreign keys are still enforced for everything else.
    with pytest.raises(Exception, match="foreign key"):
        db.session.execute(text("INSERT INTO subscriptions VALUES (999999, :n, now())"), {"n": daily.id})
    db.session.rollback()


def test_a_reader_who_signs_up_while_the_import_runs_is_left_alone(
    app, db, postgres, editor, lists, monkeypatch
):
    """A sign-up stores one of the file's addresses after the import has started: the import still
    finishes, counts it as existing, and the sign-up's reader stays as it is."""
    response = upload(editor, b"email\nanna@example.org\nben@example.org\n")
    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
    start(editor, record_id, {0: "email"}, consent="recorded", consent_detail="Messe")
    check = staging._foreign_keys_checked_per_statement

    def sign_up_meanwhile(session):
        other = create_engine(db.engine.url)
        with other.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO subscribers (email, status, locale, source, created_at, updated_at, "
                    "ask_frequency) VALUES ('Anna@Example.org', 'pending', 'de', 'form', now(), now(), "
                    "'normal')"
                )
            )
        other.dispose()
        return check(session)

    monkeypatch.setattr(staging, "_foreign_keys_checked_per_statement", sign_up_meanwhile)
    run_jobs(app)
    record = db.session.get(SubscriberImport, record_id)
    assert record.state is ImportState.DONE
    assert record.created_count == 1 and record.existing_count == 1
    anna = subscribers.find_subscriber(db.session, "anna@example.org")
    assert anna.email == "Anna@Example.org" and anna.source == "form" and anna.subscriptions == []
    assert subscribers.find_subscriber(db.session, "ben@example.org").source == f"import:{record_id}"
