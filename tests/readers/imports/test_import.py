"""CSV import through the staff pages and the worker.
Bad inputs tried: a 50 MB file, mixed encodings (Latin-1 lines among UTF-8), a BOM, semicolons,
duplicate rows (in any case), a suppressed address, header injection (CR/LF in the address and in the
source column), unknown newsletters and languages, wrong column maps (no e-mail column, two e-mail
columns, a column without addresses, a column index that does not exist), an empty file, a PNG and a
text file without addresses, an upload without a file, a second start of a running import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from newsletter.readers import addresses, errors, subscribers
from newsletter.readers.imports import rows as import_rows
from newsletter.readers.models import (
    ImportRow,
    ImportState,
    Subscriber,
    SubscriberEvent,
    SubscriberImport,
    SubscriberStatus,
    Subscription,
    SuppressionReason,
)
from tests.readers.factories import make_reader
from tests.readers.imports.pages import report, start, upload
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


def test_import_with_recorded_consent_dedupes_and_reports(app, db, editor, lists, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", smtp.url)
    daily, weekly = lists
    make_reader(db, "Bekannt@example.org")
    addresses.suppress(db.session, "weg@example.org", SuppressionReason.UNSUBSCRIBED)
    db.session.commit()
    content = (
        "\ufeffE-Mail;Name;Sprache;Newsletter;Quelle\n"
        "anna@example.org;Anna;en;woche;messe\n"
        "ANNA@example.org;Anna again;de;;\n"
        "bekannt@EXAMPLE.org;Known;de;;\n"
        "weg@example.org;Gone;de;;\n"
        "kaputt;Broken;de;;\n"
        "ben@example.org;Ben;fr;;\n"
        "carla@example.org;Carla;de;gibtsnicht;\n"
        '"dora@example.org\r\nBcc: opfer@example.org";Dora;de;;\n'
        'emil@example.org;Emil;de;;=HYPERLINK("x")\n'
        "fritz@example.org;Fritz;;ki-taeglich|woche;\n"
    ).encode()
    response = upload(editor, content)
    assert response.status_code == 302
    record = db.session.scalars(select(SubscriberImport)).one()
    assert record.delimiter == ";" and record.has_header
    page = text_of(editor.get(response.headers["Location"]))
    assert "E-Mail" in page and "anna@example.org" in page
    response = start(editor, record.id, {0: "email", 1: "ignore", 2: "locale", 3: "newsletters", 4: "source"},
                     consent="recorded", consent_detail="Messe-Formular 2026")  # fmt: skip
    assert response.status_code == 302
    run_jobs(app)
    db.session.expire_all()
    record = db.session.get(SubscriberImport, record.id)
    assert record.state is ImportState.DONE
    emails = set(db.session.scalars(select(Subscriber.email)))
    assert emails == {"Bekannt@example.org", "anna@example.org", "emil@example.org", "fritz@example.org"}
    anna = subscribers.find_subscriber(db.session, "anna@example.org")
    assert anna.status is SubscriberStatus.ACTIVE and anna.locale == "en" and anna.source == "messe"
    assert anna.consent_detail.startswith("Messe-Formular 2026")
    assert [s.newsletter_id for s in anna.subscriptions] == [weekly.id]
    fritz = subscribers.find_subscriber(db.session, "fritz@example.org")
    assert sorted(s.newsletter_id for s in fritz.subscriptions) == sorted([daily.id, weekly.id])
    emil = subscribers.find_subscriber(db.session, "emil@example.org")
    assert [s.newsletter_id for s in emil.subscriptions] == [daily.id]  # the default
    shown = text_of(editor.get(f"/staff/subscribers/{anna.id}"))
    assert (
        "Eintrag angelegt" in shown
        and "Quelle: messe; Messe-Formular 2026 (import 1 by editor@example.org)" in shown
    )
    assert record.created_count == 3 and record.existing_count == 1
    assert record.duplicate_count == 1 and record.suppressed_count == 1 and record.error_count == 4
    rows = report(editor, record.id)
    assert rows[0] == ["Zeile", "E-Mail-Adresse", "Ergebnis", "Grund"]
    by_line = {int(r[0]): r for r in rows[1:]}
    # The report is worded in the editor's language (German by default), no stored code shows through,
    # and a refused line keeps the address it held.
    assert by_line[3][1:] == ["ANNA@example.org", "abgelehnt",
                              "doppelt: dieselbe Adresse steht schon in einer früheren Zeile"]  # fmt: skip
    assert by_line[4][2:] == ["bereits eingetragen", "bereits eingetragen; unverändert gelassen"]
    assert by_line[5][3].startswith("auf der Sperrliste")
    assert by_line[6][1:] == ["kaputt", "abgelehnt", "ungültige E-Mail-Adresse: @-Zeichen fehlt"]
    assert by_line[7][1:] == ["ben@example.org", "abgelehnt", "unbekannte Sprache „fr“ (de oder en)"]
    assert by_line[8][3] == "unbekannter Newsletter „gibtsnicht“"
    assert any(r[1] == "dora@example.org  Bcc: opfer@example.org"
               and r[3] == "ungültige E-Mail-Adresse: unzulässige Zeichen" for r in rows[1:])  # fmt: skip
    shown = " ".join(" ".join(r) for r in rows)
    for code in ("refused", "existing", "duplicate", "invalid e-mail", "unknown", "must have"):
        assert code not in shown
    assert smtp.messages == []  # recorded consent: no mail
    progress = json.loads(text_of(editor.get(f"/staff/imports/{record.id}/progress.json")))
    assert progress["state"] == "done" and progress["created"] == 3 and progress["percent"] == 100


def test_import_without_consent_sends_paced_opt_in_mails(app, db, editor, lists, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", smtp.url)
    monkeypatch.setitem(app.config, "IMPORT_OPT_IN_BATCH", 2)
    content = "email\n" + "".join(f"leser{i}@example.org\n" for i in range(3))
    response = upload(editor, content.encode())
    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
    start(editor, record_id, {0: "email"})
    run_jobs(app)
    readers = db.session.scalars(select(Subscriber)).all()
    assert {r.status for r in readers} == {SubscriberStatus.PENDING}
    # The first batch went out; the next one is scheduled for later, not sent at once.
    messages = smtp.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["leser0@example.org", "leser1@example.org"]
    assert "/confirm/" in messages[0].get_body(("plain",)).get_content()
    # Running the job again sends the rest, and nobody twice.
    from newsletter.readers import tasks as readers_tasks

    readers_tasks.send_import_opt_ins(record_id)
    run_jobs(app)
    readers_tasks.send_import_opt_ins(record_id)
    run_jobs(app)
    messages = smtp.wait_for(3)
    assert sorted(m["To"] for m in messages) == [f"leser{i}@example.org" for i in range(3)]


def test_a_known_address_in_a_later_chunk_is_left_alone_and_the_rest_imported(app, db, editor, lists,
                                                                              monkeypatch):  # fmt: skip
    """On PostgreSQL the file is settled in chunks, the first ones by a plain INSERT while no address is
    known; the chunk that meets a known reader goes back to its savepoint and is settled checking each
    address, as are the chunks after it. Chunks of two rows here: new, new | new, known | new, new."""
    monkeypatch.setattr(import_rows, "CHUNK_ROWS", 2)
    monkeypatch.setitem(app.config, "IMPORT_SETTLE_ROWS", 2)
    daily, weekly = lists
    make_reader(db, "Bekannt@example.org", status=SubscriberStatus.UNSUBSCRIBED, locale="en")
    db.session.commit()
    lines = ["email;newsletter", "a@example.org;woche", "b@example.org;", "c@example.org;woche",
             "BEKANNT@example.org;woche", "d@example.org;", "e@example.org;woche"]  # fmt: skip
    upload(editor, ("\n".join(lines) + "\n").encode())
    record = db.session.scalars(select(SubscriberImport)).one()
    start(editor, record.id, {0: "email", 1: "newsletters"}, consent="recorded", consent_detail="Liste")
    run_jobs(app)
    db.session.expire_all()
    record = db.session.get(SubscriberImport, record.id)
    assert record.state is ImportState.DONE
    assert (record.created_count, record.existing_count, record.error_count) == (5, 1, 0)
    readers = {r.email: r for r in db.session.scalars(select(Subscriber))}
    assert set(readers) == {"Bekannt@example.org", *(f"{x}@example.org" for x in "abcde")}
    again = readers["Bekannt@example.org"]
    assert (again.status, again.locale, again.subscriptions) == (SubscriberStatus.UNSUBSCRIBED, "en", [])
    for name, expected in (("a", weekly), ("b", daily), ("c", weekly), ("d", daily), ("e", weekly)):
        assert [s.newsletter_id for s in readers[f"{name}@example.org"].subscriptions] == [expected.id]
    assert [r[2] for r in report(editor, record.id)[1:]] == ["bereits eingetragen"]


def test_mixed_encodings_are_reported_per_line(app, db, editor, lists):
    content = b"email,source\n" + "anna@example.org,Straße\n".encode()
    content += "ben@example.org,Stra\xdfe\n".encode("latin-1") + b"carla@example.org,ok\n"
    response = upload(editor, content)
    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
    start(editor, record_id, {0: "email", 1: "source"})
    run_jobs(app)
    assert set(db.session.scalars(select(Subscriber.email))) == {"anna@example.org", "carla@example.org"}
    rows = report(editor, record_id)
    assert rows[1][0] == "3" and "UTF-8" in rows[1][3]


@pytest.mark.slow  # half a minute: the slowest test of the suite
def test_a_50_mb_file_is_streamed_and_imported(app, db, editor, lists, tmp_path):
    path = tmp_path / "big.csv"
    padding = "x" * 5000
    with open(path, "w") as fh:
        fh.write("email,notes\n")
        i = 0
        while fh.tell() < 50 * 1024 * 1024:
            fh.write(f"leser{i}@example.org,{padding}\n")
            i += 1
    with open(path, "rb") as fh:
        token = csrf_token(editor, "/staff/imports")
        response = editor.post(
            "/staff/imports", data={"csrf_token": token, "file": (fh, "big.csv")},
            content_type="multipart/form-data",
        )  # fmt: skip
    assert response.status_code == 302
    record = db.session.scalars(select(SubscriberImport)).one()
    assert record.size_bytes >= 50 * 1024 * 1024
    start(editor, record.id, {0: "email"}, consent="recorded", consent_detail="Altbestand")
    run_jobs(app)
    assert db.session.scalar(select(func.count()).select_from(Subscriber)) == i
    db.session.expire_all()
    assert db.session.get(SubscriberImport, record.id).created_count == i


def test_bad_files_are_refused_with_a_message(app, db, editor):
    cases = [
        (b"", "Die Datei ist leer."),
        (b"\xef\xbb\xbf\n\n", "Die Datei ist leer."),
        (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bytes(range(256)), "keine CSV-Datei"),
        (b"Liebe Leserinnen,\nhier ist ein Brief.\n", "keine E-Mail-Adresse"),
    ]
    folder = Path(app.instance_path, "imports")
    stored_before = sorted(folder.glob("*")) if folder.exists() else []
    for content, message in cases:
        response = upload(editor, content, "x.csv")
        assert response.status_code == 422
        assert message in text_of(response)
    assert db.session.scalar(select(func.count()).select_from(SubscriberImport)) == 0
    assert (sorted(folder.glob("*")) if folder.exists() else []) == stored_before  # refused files deleted
    token = csrf_token(editor, "/staff/imports")
    response = editor.post("/staff/imports", data={"csrf_token": token}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Wählen Sie eine CSV-Datei" in text_of(response)


def test_wrong_column_maps_are_refused_and_nothing_starts(app, db, editor, lists):
    response = upload(editor, b"email,name\nanna@example.org,Anna\n")
    record_id = int(response.headers["Location"].rsplit("/", 1)[1])
    for columns, message in [
        ({0: "ignore", 1: "ignore"}, "genau eine Spalte"),
        ({0: "email", 1: "email"}, "genau eine Spalte"),
        ({0: "source", 1: "email"}, "enthält in den ersten Zeilen keine E-Mail-Adressen"),
        ({0: "email", 1: "password"}, "das es nicht gibt"),
    ]:
        response = start(editor, record_id, columns)
        assert response.status_code == 422, columns
        assert message in text_of(response), columns
    response = start(editor, record_id, {0: "email"}, consent="recorded")
    assert response.status_code == 422 and "Zustimmung" in text_of(response)
    assert db.session.get(SubscriberImport, record_id).state is ImportState.UPLOADED
    run_jobs(app)
    assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 0
    assert start(editor, record_id, {0: "email"}).status_code == 302
    assert start(editor, record_id, {0: "email"}).status_code == 409
    run_jobs(app)
    assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 1
    # Running the job a second time adds nothing and mails nobody twice.
    from newsletter.readers import tasks as readers_tasks

    readers_tasks.run_subscriber_import(record_id)
    assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 1
    assert db.session.scalar(select(func.count()).select_from(SubscriberEvent)) == 1  # confirmation sent
    assert db.session.scalar(select(func.count()).select_from(Subscription)) == 1
    assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 1


@pytest.mark.parametrize(
    "raw",
    [
        "Lena.Brandt@EXAMPLE.org", " user+tag@Sub.Example.co.uk ", "leser@xn--bcher-kva.example",
        "leser@bücher.example", "jürgen@example.org", "a..b@example.org", "a@localhost", "a@example.test",
        "a@mail.invalid", "a@example", "a@-bad.example", "a" * 65 + "@example.org", "x@" + "d" * 64 + ".org",
        "a@example.123", '"quoted"@example.org', "a@example.org\r\nBcc: b@example.org", "@example.org",
        "a@b@example.org", "A.B@Example.ORG", ".a@example.org", "a.@example.org", "a@example.org.",
        "a@exa_mple.org", "a@", "a@.example.org", "a@EXAMPLE.TEST", "a@sub.localhost", "a b@example.org",
        "a@example.org\n", "a@example.org\x00", "O'Brien+news@Example.COM", "a@EXAMPLE.local",
        "a@b.c.d.onion", "a@xn--nxasmq6b.example", "a@ex--ample.org", "a@example.o", "a@example.ORG.",
        "x@" + "d" * 63 + ".org", "\u00e4@example.org", "a@b\u00fccher.DE", "a@[127.0.0.1]",
        "user@example.home.arpa", "a@exa mple.org",
    ],
)  # fmt: skip
def test_the_fast_address_check_agrees_with_the_full_one(raw):
    """The fast path (sign-up form, API and import) must accept, refuse and normalise exactly like
    email-validator alone. Tried: upper case, IDN and xn-- domains, non-ASCII local parts, quoted local
    parts, doubled and leading/trailing dots, trailing dot on the domain, special-use and numeric TLDs,
    over-long labels and local parts, CR/LF, a trailing newline, spaces, underscores, two @."""
    from newsletter.readers.imports.files import normalize_address

    try:
        expected = addresses.normalize_email_by_validator(raw)
    except errors.InvalidEmail:
        with pytest.raises(errors.InvalidEmail):
            addresses.normalize_email(raw)
        with pytest.raises(errors.InvalidEmail):
            normalize_address(raw)
    else:
        assert addresses.normalize_email(raw) == expected
        assert normalize_address(raw) == expected


def test_an_export_imports_again_as_it_is(app, db, admin, lists):
    """The staff export read back by the import: every reader with the same newsletters (several to a
    reader), language and source, with no column edited in between."""
    daily, weekly = lists
    make_reader(db, "anna@example.org", locale="de", source="messe", newsletters=[daily, weekly])
    make_reader(db, "Ben@example.org", locale="en", source="website", newsletters=[weekly])
    make_reader(db, "carla@example.org", locale="de", source="formular", newsletters=[daily])
    db.session.commit()

    def readers() -> set[tuple]:
        db.session.expire_all()
        return {(r.email, r.locale, r.source, tuple(sorted(s.newsletter_id for s in r.subscriptions)))
                for r in db.session.scalars(select(Subscriber))}  # fmt: skip

    before = readers()
    exported = admin.get("/staff/subscribers/export.csv")
    assert exported.status_code == 200
    content = exported.get_data()  # streamed: read before the readers go
    assert b"anna@example.org" in content
    db.session.execute(delete(Subscription))
    db.session.execute(delete(Subscriber))
    db.session.commit()
    assert readers() == set()

    response = upload(admin, content, name="export.csv")
    assert response.status_code == 302
    record = db.session.scalars(select(SubscriberImport)).one()
    header = record.columns
    columns = {header.index(name): name for name in ("email", "locale", "source", "newsletters")}
    start(admin, record.id, columns, consent="recorded", consent_detail="Export vom 7. Dezember")
    run_jobs(app)
    db.session.expire_all()
    record = db.session.get(SubscriberImport, record.id)
    assert record.state is ImportState.DONE and record.error_count == 0 and record.created_count == 3
    assert readers() == before


def test_the_import_page_writes_its_counts_as_german_does(app, db, editor, lists):
    content = "email\n" + "".join(f"leser{i}@example.org\n" for i in range(1200)) + "kaputt\n"
    record_id = int(upload(editor, content.encode()).headers["Location"].rsplit("/", 1)[1])
    start(editor, record_id, {0: "email"}, consent="recorded", consent_detail="Messe 2026")
    run_jobs(app)
    page = text_of(editor.get(f"/staff/imports/{record_id}"))
    assert '<dd data-field="rows_read">1.201</dd>' in page
    assert '<dd data-field="created">1.200</dd>' in page
    assert '<dd data-field="errors">1</dd>' in page
    assert [row[1:] for row in report(editor, record_id)[1:]] == [
        ["kaputt", "abgelehnt", "ungültige E-Mail-Adresse: @-Zeichen fehlt"]
    ]
