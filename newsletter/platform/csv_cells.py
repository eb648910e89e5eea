"""CSV cells a spreadsheet opens as text, never as a formula (the export, the reports, the statistics)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value: Any) -> str:
    """A cell a spreadsheet will not run as a formula: a leading = + - @ tab or CR gets a quote."""
    cell = "" if value is None else str(value)
    return "'" + cell if cell.startswith(_FORMULA_START) else cell


def csv_line(cells: Iterable[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([neutralize(c) for c in cells])
    return buffer.getvalue()
