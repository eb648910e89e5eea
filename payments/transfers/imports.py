"""Staff import the bank's export: upload (bounded, sniffed), map the columns when their names are not
known, preview what will happen to every line, record. And what staff do by hand: assign an unmatched
transfer, set one aside, enter one that is not in any export.

Each booking line is recorded once (``bank_transfers.line_key`` is unique): a second import of the same
file, or of an overlapping one, finds its lines there and adds nothing; two staff members recording at the
same moment meet at the unique key (``INSERT ... ON CONFLICT DO NOTHING``), and the second one's line
counts as already imported.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import IO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db import dialect_insert, utcnow
from payments.models import Donation
from payments.transfers import recording, references, statements
from payments.transfers.models import BankImport, BankTransfer, TransferState

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def save_upload(
    session: Session, stream: IO[bytes], filename: str, *, staff_user_id: int | None, max_bytes: int,
    max_line: int,
) -> BankImport:  # fmt: skip
    """Read the upload in 1 MB pieces up to ``max_bytes`` (more is refused, ``too_large``), find its
    layout and keep it for the column map and the preview."""
    data = bytearray()
    while piece := stream.read(1024 * 1024):
        data += piece
        if len(data) > max_bytes:
            raise statements.StatementError("too_large", mb=max(max_bytes // (1024 * 1024), 1))
    shape = statements.layout(bytes(data), max_line)
    record = BankImport(
        staff_user_id=staff_user_id,
        filename=_CONTROL.sub(" ", os.path.basename(filename or "export.csv"))[:255],
        size_bytes=len(data), content=bytes(data), encoding=shape.encoding, delimiter=shape.delimiter,
        header_line=shape.header_line, columns=shape.columns, mapping=shape.mapping, counts={}, problems=[],
    )  # fmt: skip
    session.add(record)
    session.flush()
    return record


def layout_of(record: BankImport) -> statements.Layout:
    mapping = {k: int(v) for k, v in (record.mapping or {}).items()}
    return statements.Layout(record.encoding, record.delimiter, record.header_line, record.columns, mapping)


def is_mapped(record: BankImport) -> bool:
    mapping = record.mapping or {}
    return all(f in mapping for f in statements.REQUIRED) and statements.has_amount(mapping)


def set_mapping(record: BankImport, chosen: dict[str, str]) -> None:
    """The staff's column map (field -> column number as text, or empty). Raises StatementError
    ``mapping`` when a required field has no column, a column is chosen twice or does not exist."""
    mapping: dict[str, int] = {}
    for field_name in statements.FIELDS:
        raw = (chosen.get(field_name) or "").strip()
        if not raw:
            continue
        if not raw.isdigit() or int(raw) >= len(record.columns) or int(raw) in mapping.values():
            raise statements.StatementError("mapping")
        mapping[field_name] = int(raw)
    if any(f not in mapping for f in statements.REQUIRED) or not statements.has_amount(mapping):
        raise statements.StatementError("mapping")
    record.mapping = mapping


@dataclass
class Planned:
    """A line of the export and what recording it does."""

    line: statements.BookingLine
    outcome: str  # match, unmatched, duplicate, outgoing
    reason: str | None = None  # for unmatched: no_reference, unknown_reference, currency, by_hand
    code: str | None = None
    donation: Donation | None = None


@dataclass
class Plan:
    lines: list[Planned] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for p in self.lines if p.outcome == outcome)

    def counts(self) -> dict[str, int]:
        counts = {o: self.count(o) for o in ("match", "unmatched", "duplicate", "outgoing")}
        return counts | {"problems": len(self.problems)}


def plan(session: Session, record: BankImport, *, currency: str, max_line: int) -> Plan:
    """What recording the import would do with each line, without changing anything."""
    lines, problems = statements.read_lines(record.content or b"", layout_of(record), max_line)
    known = set()
    keys = [line.key for line in lines]
    for start in range(0, len(keys), 500):
        known |= set(session.scalars(select(BankTransfer.line_key)
                                     .where(BankTransfer.line_key.in_(keys[start:start + 500]))))  # fmt: skip
    result = Plan(problems=problems)
    codes = {line.key: references.candidates(line.purpose) for line in lines}
    wanted = {c for found in codes.values() for c in found}
    waiting = {}
    wanted_list = sorted(wanted)
    for start in range(0, len(wanted_list), 500):
        for donation in session.scalars(select(Donation).where(
            Donation.reference.in_(wanted_list[start:start + 500]),
            Donation.payment_method == recording.BANK_TRANSFER,
        )):  # fmt: skip
            waiting[donation.reference] = donation
    by_hand = _recorded_by_hand(session, {line.booked_on for line in lines if line.amount_cents > 0})
    in_file: set[str] = set()
    for line in lines:
        if line.amount_cents <= 0:
            result.lines.append(Planned(line, "outgoing"))
            continue
        if line.key in known or line.key in in_file:
            result.lines.append(Planned(line, "duplicate"))
            continue
        in_file.add(line.key)
        found = [c for c in codes[line.key] if c in waiting]
        same = by_hand.get((line.booked_on, line.amount_cents), [])
        twin = next((ref for ref in same if ref is None or ref in codes[line.key]), False)
        if twin is not False:
            # Staff recorded a transfer of this day and amount by hand: this line may be the same money.
            # It waits for them instead of counting twice (each hand-recorded one stands for one line).
            same.remove(twin)
            result.lines.append(Planned(line, "unmatched", "by_hand"))
        elif line.currency != currency:
            result.lines.append(Planned(line, "unmatched", "currency"))
        elif found:
            result.lines.append(Planned(line, "match", code=found[0], donation=waiting[found[0]]))
        else:
            reason = "unknown_reference" if codes[line.key] else "no_reference"
            result.lines.append(Planned(line, "unmatched", reason))
    return result


def _recorded_by_hand(session: Session, days: set) -> dict[tuple, list[str | None]]:
    """(booking day, cents) -> the references of transfers staff recorded by hand on those days."""
    found: dict[tuple, list[str | None]] = {}
    if not days:
        return found
    rows = session.execute(
        select(BankTransfer.booked_on, BankTransfer.amount_cents, BankTransfer.reference).where(
            BankTransfer.line_key.like("hand:%"), BankTransfer.state == TransferState.MATCHED,
            BankTransfer.booked_on.in_(sorted(days)),
        )
    )  # fmt: skip
    for day, cents, reference in rows:
        found.setdefault((day, cents), []).append(reference)
    return found


def _insert_transfer(session: Session, values: dict) -> BankTransfer | None:
    """The transfer's row, or None when its line was recorded already (by an earlier import, or by
    another staff member this moment)."""
    statement = dialect_insert(session, BankTransfer.__table__).values(**values)
    written = session.execute(
        statement.on_conflict_do_nothing(index_elements=["line_key"]).returning(BankTransfer.id)
    ).first()
    return session.get(BankTransfer, written[0]) if written else None


def record_import(
    session: Session, record: BankImport, *, currency: str, max_line: int, base_url: str, zone: str,
    staff_id: int | None,
) -> dict[str, int]:  # fmt: skip
    """Record every new incoming line: matched ones as paid donations (with the donor's receipt), the
    others in the list of unmatched transfers. Drops the file, keeps the counts and the unreadable lines
    as the report. The caller commits."""
    if record.recorded:
        return dict(record.counts)
    planned = plan(session, record, currency=currency, max_line=max_line)
    counts = planned.counts()
    for item in planned.lines:
        if item.outcome not in ("match", "unmatched"):
            continue
        line = item.line
        transfer = _insert_transfer(session, {
            "line_key": line.key, "import_id": record.id, "line_number": line.line,
            "booked_on": line.booked_on, "amount_cents": line.amount_cents, "currency": line.currency,
            "payer_name": line.payer_name, "payer_iban": line.payer_iban, "purpose": line.purpose,
            "reference": item.code or (references.candidates(line.purpose) or [None])[0],
            "state": TransferState.UNMATCHED.value, "created_at": utcnow(),
        })  # fmt: skip
        if transfer is None:
            counts[item.outcome] -= 1
            counts["duplicate"] += 1
            continue
        if item.outcome == "match":
            recording.record_transfer(session, transfer, code=item.code, email=None, base_url=base_url,
                                      zone=zone, staff_id=staff_id)  # fmt: skip
    record.recorded = True
    record.recorded_at = utcnow()
    record.counts = counts
    record.problems = statements.problem_lines(planned.problems)
    record.content = None
    return counts


def unmatched(session: Session, *, limit: int = 200) -> list[BankTransfer]:
    return list(session.scalars(
        select(BankTransfer).where(BankTransfer.state == TransferState.UNMATCHED)
        .order_by(BankTransfer.booked_on.desc(), BankTransfer.id.desc()).limit(limit)
    ))  # fmt: skip


def unmatched_count(session: Session) -> int:
    return session.scalar(
        select(func.count()).select_from(BankTransfer).where(BankTransfer.state == TransferState.UNMATCHED)
    ) or 0  # fmt: skip


def recent_imports(session: Session, limit: int = 20) -> list[BankImport]:
    return list(session.scalars(select(BankImport).order_by(BankImport.id.desc()).limit(limit)))


class AssignError(ValueError):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def assign(
    session: Session, transfer: BankTransfer, *, typed_reference: str, email: str, base_url: str, zone: str,
    staff_id: int | None,
) -> Donation:  # fmt: skip
    """Staff say whose an unmatched transfer is: by a reference (``unknown_reference`` unless it is one of
    ours) or by the donor's address; either makes it a paid donation. Locks the transfer first, so two
    staff members assigning the same line record it once (``already``)."""
    locked = session.execute(
        select(BankTransfer).where(BankTransfer.id == transfer.id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()  # fmt: skip
    if locked.state is not TransferState.UNMATCHED:
        raise AssignError("already")
    code = None
    if typed_reference.strip():
        code = references.normalize(typed_reference)
        if code is None or recording.waiting_donation(session, code) is None:
            raise AssignError("unknown_reference")
    elif not email.strip():
        raise AssignError("nothing")
    if locked.currency != "eur":
        raise AssignError("currency")
    return recording.record_transfer(session, locked, code=code, email=email, base_url=base_url, zone=zone,
                                     staff_id=staff_id)  # fmt: skip


def set_aside(session: Session, transfer: BankTransfer, *, staff_id: int | None) -> bool:
    """Not a donation (a refund from a supplier, a grant): out of the list, kept for the record."""
    if transfer.state is not TransferState.UNMATCHED:
        return False
    transfer.state = TransferState.SET_ASIDE
    transfer.recorded_at = utcnow()
    transfer.recorded_by = staff_id
    return True


def record_by_hand(
    session: Session, *, booked_on: date, amount_cents: int, payer_name: str, email: str,
    typed_reference: str, note: str, base_url: str, zone: str, staff_id: int | None,
) -> Donation:  # fmt: skip
    """A transfer that is in no export (yet): recorded as staff typed it. A later import of an export
    that holds a line of the same day and amount (and the same reference, when it had one) leaves that
    line to the staff rather than recording the money twice (``plan``)."""
    code = None
    if typed_reference.strip():
        code = references.normalize(typed_reference)
        if code is None or recording.waiting_donation(session, code) is None:
            raise AssignError("unknown_reference")
    elif not email.strip():
        raise AssignError("nothing")
    transfer = BankTransfer(
        line_key=f"hand:{uuid.uuid4().hex}", booked_on=booked_on, amount_cents=amount_cents, currency="eur",
        payer_name=" ".join(payer_name.split())[:200] or None, purpose=" ".join(note.split())[:500],
        state=TransferState.UNMATCHED,
    )  # fmt: skip
    session.add(transfer)
    session.flush()
    return recording.record_transfer(session, transfer, code=code, email=email, base_url=base_url, zone=zone,
                                     staff_id=staff_id)  # fmt: skip
