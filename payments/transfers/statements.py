"""The bank's CSV export of an account, as German banks write it: read with care.

Semicolons (or commas, or tabs) between the cells, a few lines about the account before the header, amounts
as ``1.234,56`` (``-20,00`` for money going out), days as ``31.12.2026``, Windows-1252 or UTF-8 with or
without a byte-order mark. The encoding and the delimiter are found, not asked; the header is the first
line that names known columns, and the columns are chosen by their names (a column map where the names are
not known). A line that cannot be read is reported with its number and skipped; the others go on.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

from payments.transfers import iban as ibans

FIELDS = ("booked_on", "amount", "credit", "debit", "purpose", "payer_name", "payer_iban", "currency")
REQUIRED = ("booked_on", "purpose")  # and an amount: one signed column, or the credit (Haben) column
HEADER_SEARCH_LINES = 40
MAX_CENTS = 10**11

# Header names per field, the preferred first (an export with "Buchungstag" and "Valuta" books on the
# first). Compared lower-case, with spaces collapsed.
NAMES = {
    "booked_on": ("buchungstag", "buchungsdatum", "buchung", "booking date", "datum", "date", "wertstellung",
                  "valutadatum", "valuta", "wertstellungsdatum"),
    "amount": ("betrag", "betrag (eur)", "betrag (€)", "betrag in eur", "betrag eur", "umsatz",
               "umsatz in eur", "amount", "amount (eur)"),
    "credit": ("haben", "gutschrift", "credit", "eingang"),
    "debit": ("soll", "lastschrift", "debit", "ausgang"),
    "purpose": ("verwendungszweck", "verwendungszweck/ buchungstext", "purpose", "vwz", "buchungsdetails",
                "remittance information", "description"),
    "payer_name": ("name zahlungsbeteiligter", "beguenstigter/zahlungspflichtiger",
                   "begünstigter/zahlungspflichtiger", "auftraggeber / begünstigter",
                   "auftraggeber/begünstigter", "begünstigter / auftraggeber", "zahlungspflichtige*r",
                   "zahlungspflichtiger",
                   "auftraggeber", "auftraggeber/empfänger", "empfänger/auftraggeber", "gegenseite",
                   "payer", "counterparty", "name"),
    "payer_iban": ("iban zahlungsbeteiligter", "kontonummer/iban", "iban auftraggeber", "iban", "gegenkonto",
                   "kontonummer", "counterparty iban"),
    "currency": ("währung", "waehrung", "whrg", "whrg.", "currency"),
}  # fmt: skip


class StatementError(ValueError):
    """The file cannot be read as a bank export; ``code`` names why (the page says it in words)."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Layout:
    encoding: str
    delimiter: str
    header_line: int  # 0-based index of the header among the file's lines
    columns: list[str]
    mapping: dict[str, int]  # field -> column index


@dataclass(frozen=True)
class BookingLine:
    line: int  # 1-based, as an editor shows it
    booked_on: date
    amount_cents: int  # negative: money going out
    currency: str
    payer_name: str | None
    payer_iban: str | None
    purpose: str
    key: str  # unique per booking line (see :func:`line_keys`)


def decode(data: bytes) -> tuple[str, str]:
    """The text and its encoding: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252."""
    if not data.strip():
        raise StatementError("empty")
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            raise StatementError("encoding") from None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise StatementError("encoding") from None
    if b"\0" in data:
        raise StatementError("binary")
    try:
        text, encoding = data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        try:
            text, encoding = data.decode("cp1252"), "cp1252"
        except UnicodeDecodeError:
            raise StatementError("encoding") from None
    controls = sum(1 for ch in text[:65536] if ord(ch) < 32 and ch not in "\r\n\t")
    if controls > len(text[:65536]) // 100:
        raise StatementError("binary")
    return text, encoding


def _name(cell: str) -> str:
    return " ".join(cell.strip().strip('"').lower().split())


def _known(cell: str) -> str | None:
    name = _name(cell)
    for field, names in NAMES.items():
        if name in names:
            return field
    return None


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter whose count is the same on most lines (and largest): ``;`` before tab before ``,``
    on a tie, since ``1.234,56`` puts commas into the cells of semicolon files."""
    best, best_score = ";", (-1, -1)
    for delimiter in (";", "\t", ","):
        counts = [line.count(delimiter) for line in lines if line.strip()]
        counts = [c for c in counts if c]
        if not counts:
            continue
        modal, times = Counter(counts).most_common(1)[0]
        if (times, modal) > best_score:
            best, best_score = delimiter, (times, modal)
    return best


def guess_mapping(columns: list[str]) -> dict[str, int]:
    """Each field from the column whose name comes first in its list of names."""
    mapping: dict[str, int] = {}
    names = [_name(c) for c in columns]
    for field, wanted in NAMES.items():
        for name in wanted:
            if name in names and names.index(name) not in mapping.values():
                mapping[field] = names.index(name)
                break
    return mapping


def _split(line: str, delimiter: str) -> list[str]:
    return next(csv.reader([line], delimiter=delimiter), [])


def layout(data: bytes, max_line: int) -> Layout:
    """Encoding, delimiter, header and a first column map of an export."""
    text, encoding = decode(data)
    head = [line for line in text.splitlines()[:HEADER_SEARCH_LINES]]
    short = [line for line in head if len(line.encode("utf-8")) <= max_line]
    if not any(line.strip() for line in short):
        raise StatementError("first_lines_too_long")
    delimiter = sniff_delimiter(short)
    header_line, best = None, 0
    for index, line in enumerate(head):
        if len(line.encode("utf-8")) > max_line:
            continue
        known = len({f for f in map(_known, _split(line, delimiter)) if f})
        if known >= 2 and known > best:
            header_line, best = index, known
    if header_line is None:  # no known names: the first line of many cells is the header, mapped by hand
        widths = [
            len(_split(line, delimiter)) if len(line.encode("utf-8")) <= max_line else 0 for line in head
        ]
        if max(widths, default=0) < 3:
            raise StatementError("not_a_statement")
        header_line = next(i for i, w in enumerate(widths) if w >= 3)
    columns = [c.strip()[:80] or f"#{i + 1}" for i, c in enumerate(_split(head[header_line], delimiter))]
    return Layout(encoding, delimiter, header_line, columns, guess_mapping(columns))


_AMOUNT = re.compile(r"^([+-]?)(\d{1,3}(?:[.' ]\d{3})+|\d+)(?:[,.](\d{1,2}))?([+-]?)$")


def parse_amount(raw: str) -> int:
    """``1.234,56``, ``-20,00``, ``20,00-``, ``12,50 S`` (Soll: out), ``12,50 H`` (Haben: in), ``1234.56``
    in integer cents; ValueError for anything else."""
    text = raw.strip().replace("\u00a0", " ").replace("€", "").replace("EUR", "").strip()
    sign = 1
    if text[-1:] in ("S", "H") and text[:-1].strip()[-1:].isdigit():
        sign = -1 if text[-1] == "S" else 1
        text = text[:-1].strip()
    text = text.replace(" ", "")
    if "," in text and "." in text:  # the later one is the decimal mark
        thousands = "." if text.rindex(",") > text.rindex(".") else ","
        text = text.replace(thousands, "'")
    elif text.count(".") > 1 or re.fullmatch(r"[+-]?\d{1,3}\.\d{3}[+-]?", text):
        text = text.replace(".", "'")  # thousands only: 1.234 or 1.234.567
    match = _AMOUNT.match(text)
    if not match or (match.group(1) and match.group(4)):
        raise ValueError(raw)
    whole = int(re.sub(r"[.' ]", "", match.group(2)))
    cents = whole * 100 + int((match.group(3) or "0").ljust(2, "0"))
    if cents > MAX_CENTS:
        raise ValueError(raw)
    if "-" in (match.group(1), match.group(4)):
        sign = -sign
    return sign * cents


class _Unread(Exception):
    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def _amount(cells: list[str], mapping: dict[str, int]) -> int:
    """The line's amount: its signed amount column, else its credit (Haben) or debit (Soll) column, as
    exports with the two apart write it (one of them filled on each line)."""
    if "amount" in mapping and cells[mapping["amount"]].strip():
        return parse_amount(cells[mapping["amount"]])
    if "credit" in mapping and cells[mapping["credit"]].strip():
        return abs(parse_amount(cells[mapping["credit"]]))
    if "debit" in mapping and cells[mapping["debit"]].strip():
        return -abs(parse_amount(cells[mapping["debit"]]))
    raise ValueError("no amount")


def has_amount(mapping: dict) -> bool:
    return "amount" in mapping or "credit" in mapping


_DAY = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{2}|\d{4})$")


def parse_day(raw: str) -> date:
    """``31.12.2026``, ``31.12.26`` or ``2026-12-31``; ValueError for anything else."""
    text = raw.strip()
    match = _DAY.match(text)
    if match:
        day, month, year = (int(g) for g in match.groups())
        return date(year + 2000 if year < 100 else year, month, day)
    return date.fromisoformat(text)


def _clean(text: str, length: int) -> str:
    return " ".join(text.split())[:length]


def _key(line: BookingLine, occurrence: int) -> str:
    """What the bank says about a line, digested, and how many identical lines came before it in the same
    file (two gifts of 10 euros from one person with the same purpose on one day are two lines)."""
    parts = (line.booked_on.isoformat(), str(line.amount_cents), line.currency,
             line.payer_iban or "", (line.payer_name or "").lower(), line.purpose.lower())  # fmt: skip
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest() + f":{occurrence}"


def read_lines(data: bytes, shape: Layout, max_line: int) -> tuple[list[BookingLine], list[tuple[int, str]]]:
    """Every booking line after the header, and the lines that could not be read with their number and a
    code: ``too_long`` (longer than ``max_line`` bytes), ``cells`` (too few cells), ``amount``, ``day``,
    ``row_too_long`` (a quote that never closes)."""
    text, _encoding = decode(data)
    mapping = shape.mapping
    needed = max(mapping.values()) + 1
    problems: list[tuple[int, str]] = []
    physical = text.splitlines()[shape.header_line + 1 :]
    for index, line in enumerate(physical):
        if len(line.encode("utf-8")) > max_line:
            problems.append((shape.header_line + 2 + index, "too_long"))
            physical[index] = ""
    reader = csv.reader(physical, delimiter=shape.delimiter)
    lines: list[BookingLine] = []
    seen: Counter[str] = Counter()
    offset = shape.header_line + 1
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            problems.append((offset + start, "cells"))
            continue
        number = offset + start
        # A row over several lines is a quoted line break, or a quote that never closes and took the
        # lines after it: if it cannot be read, say that those lines went with it.
        spans = reader.line_num > start
        if spans and sum(len(c) for c in cells) > max_line:
            problems.append((number, "row_too_long"))
            continue
        if not any(c.strip() for c in cells):
            continue
        try:
            if len(cells) < needed:
                raise _Unread("cells")
            try:
                amount = _amount(cells, mapping)
            except ValueError:
                raise _Unread("amount") from None
            try:
                booked_on = parse_day(cells[mapping["booked_on"]])
            except ValueError:
                raise _Unread("day") from None
        except _Unread as exc:
            problems.append((number, "row_too_long" if spans else exc.code))
            continue
        currency = cells[mapping["currency"]].strip().lower() if "currency" in mapping else "eur"
        currency = {"€": "eur", "": "eur"}.get(currency, currency)[:3]
        payer_iban = ibans.compact(cells[mapping["payer_iban"]])[:34] if "payer_iban" in mapping else ""
        payer_name = _clean(cells[mapping["payer_name"]], 200) if "payer_name" in mapping else ""
        booking = BookingLine(
            line=number, booked_on=booked_on, amount_cents=amount, currency=currency,
            payer_name=payer_name or None, payer_iban=payer_iban or None,
            purpose=_clean(cells[mapping["purpose"]], 500), key="",
        )  # fmt: skip
        plain = _key(booking, 0)
        seen[plain] += 1
        lines.append(_with_key(booking, _key(booking, seen[plain] - 1)))
    return lines, sorted(problems)


def _with_key(line: BookingLine, key: str) -> BookingLine:
    return BookingLine(**{**line.__dict__, "key": key})


def problem_lines(problems: list[tuple[int, str]], limit: int = 500) -> list[list]:
    return [[number, code] for number, code in problems[:limit]]


def sample(data: bytes, shape: Layout, rows: int = 5) -> list[list[str]]:
    """The first rows after the header, for the column map."""
    text, _encoding = decode(data)
    physical = text.splitlines()[shape.header_line + 1 : shape.header_line + 1 + rows * 2]
    found = [r for r in csv.reader(physical, delimiter=shape.delimiter) if any(c.strip() for c in r)]
    return [[c[:60] for c in r] for r in found[:rows]]
