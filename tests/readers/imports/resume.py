"""What the resume tests share: a file with every kind of line spread over many chunks, what an import of
it left (its counts, its report, the readers), and the readers' tables emptied for the next import."""

from __future__ import annotations

from sqlalchemy import func, select, text

from db import db
from newsletter.readers import addresses
from newsletter.readers.models import Subscriber, SubscriberImport, Subscription, SuppressionReason
from tests.readers.factories import make_reader
from tests.readers.imports.pages import report

KNOWN = "Bekannt.17@example.org"
GONE = "leser.23@example.org"


def resume_file(rows: int) -> bytes:
    """Semicolon CSV with a header: new readers in both languages, some on the weekly newsletter; every
    97th line repeats an earlier address in other case (often one of an earlier chunk), every 89th has a
    broken address, every 101st an unknown language, one is a known reader and one a suppressed
    address."""
    lines = ["E-Mail;Sprache;Newsletter;Quelle"]
    for i in range(rows):
        if i % 97 == 50:
            email = f"LESER.{i // 3}@EXAMPLE.org"
        elif i % 89 == 40:
            email = f"kaputt-{i}-at-nowhere"
        elif i == 17:
            email = KNOWN.upper()
        else:
            email = f"leser.{i}@example.org"
        language = "fr" if i % 101 == 70 else ("de" if i % 4 else "en")
        lines.append(f"{email};{language};{'woche' if i % 3 == 0 else ''};datei")
    return ("\n".join(lines) + "\n").encode()


def prepare_readers() -> None:
    """The database before each import of the file: one known reader, one suppressed address."""
    make_reader(db, KNOWN, source="form")
    addresses.suppress(db.session, GONE, SuppressionReason.UNSUBSCRIBED)
    db.session.commit()


def empty_readers() -> None:
    """Every reader and membership gone (the imports stay), then :func:`prepare_readers` again."""
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("TRUNCATE subscribers, subscriptions, subscriber_events CASCADE"))
    else:
        for table in ("subscriber_events", "subscriptions", "subscribers"):
            db.session.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (constants)
    db.session.commit()
    prepare_readers()


def outcome(client, import_id: int) -> dict:
    """What staff see of an import (its counts and its report) and the readers it left, in a form that
    compares across imports of the same file."""
    db.session.expire_all()
    record = db.session.get(SubscriberImport, import_id)
    readers = db.session.execute(
        select(Subscriber.email, Subscriber.status, Subscriber.locale, Subscriber.source,
               func.count(Subscription.newsletter_id))
        .outerjoin(Subscription).group_by(Subscriber.id)
    ).all()  # fmt: skip
    emails = [email.lower() for email, *_rest in readers]
    return {
        "state": record.state.value,
        "counts": (
            record.rows_read, record.created_count, record.existing_count, record.duplicate_count,
            record.suppressed_count, record.error_count,
        ),
        "report": report(client, import_id),
        "readers": sorted((e.lower(), s.value, lo, src, n) for e, s, lo, src, n in readers),
        "distinct": len(set(emails)) == len(emails),
    }
