"""The newsroom's test readers: its own addresses a test send of an issue may go to, kept on a staff page,
and the choice of recipients for one test send. Plain functions; the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from newsletter.editorial.models import TestReader
from newsletter.readers import addresses

MAX_RECIPIENTS = 10  # addresses one test send may go to: a test, not a small mailing
MAX_TEST_READERS = 50


class TestReaderRefused(ValueError):
    """A test reader or a test send's recipients refused. ``reason`` names why (``known``, ``full``,
    ``none``, ``too_many``); the staff page says it in the editor's language."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def all_test_readers(session: Session) -> list[TestReader]:
    return list(session.scalars(select(TestReader).order_by(TestReader.label, TestReader.email)))


def add(session: Session, email: str, label: str = "", *, created_by_id: int | None = None) -> TestReader:
    """Keep ``email`` as a test reader. Raises :class:`InvalidEmail` for an address that is not one, and
    :class:`TestReaderRefused` when it is kept already or the list is full."""
    address = addresses.normalize_email(email)
    known = session.scalars(select(TestReader.email)).all()
    if address.lower() in {e.lower() for e in known}:
        raise TestReaderRefused("known")
    if len(known) >= MAX_TEST_READERS:
        raise TestReaderRefused("full")
    reader = TestReader(email=address, label=label.strip()[:100], created_by_id=created_by_id)
    session.add(reader)
    session.flush()
    return reader


def remove(session: Session, test_reader_id: int) -> bool:
    """Forget one test reader; False when there was none by that id."""
    return bool(session.execute(delete(TestReader).where(TestReader.id == test_reader_id)).rowcount)


def recipients(session: Session, test_reader_ids: Iterable[int], own_address: str | None) -> list[str]:
    """The addresses of one test send: the chosen test readers (unknown ids are ignored: removed since the
    page was shown) and the editor's own address when ``own_address`` is given, each once. Raises
    :class:`TestReaderRefused` for none or more than :data:`MAX_RECIPIENTS`."""
    ids = {int(i) for i in test_reader_ids}
    chosen = session.scalars(select(TestReader.email).where(TestReader.id.in_(ids))).all() if ids else []
    seen: dict[str, str] = {}
    for address in ([own_address] if own_address else []) + list(chosen):
        seen.setdefault(address.lower(), address)
    if not seen:
        raise TestReaderRefused("none")
    if len(seen) > MAX_RECIPIENTS:
        raise TestReaderRefused("too_many")
    return list(seen.values())
