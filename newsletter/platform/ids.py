"""Ids from outside (a URL's path, a query string): whole numbers from 1 to 2**31 - 1, or nothing.

Every id a URL or a query string names is a PostgreSQL ``integer`` (the delivery ledger's ``bigint`` ids
never appear in one). A larger number reaches no row, but the database refused it instead of finding
nothing: SQLite cannot bind more than 64 bits ("Python int too large to convert to SQLite INTEGER"),
PostgreSQL says "integer out of range" for anything past 2**31 - 1 (SQLAlchemy casts the parameter to
the column's type), and the visitor got a 500. So the ``int`` converter of every route is
:class:`IdConverter`, registered for the whole app: a path segment that is not such an id leads nowhere
(404) before any view runs. Query arguments that carry ids go through :func:`id_from`.
"""

from __future__ import annotations

import builtins

from flask import Flask
from werkzeug.routing import IntegerConverter, ValidationError

MAX_ID = 2**31 - 1  # PostgreSQL's integer
_MAX_DIGITS = len(str(2**63 - 1))  # no route may take more than a signed 64-bit integer


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: ASCII digits only, 1 to :data:`MAX_ID` (a route whose ids are
    ``bigint`` says ``<int(max=9223372036854775807):...>``). ``0``, ``-1``, ``2**31``, ``10**25`` or
    Unicode digits such as ``٣`` do not match: 404."""

    regex = r"[0-9]+"

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,
                 signed: bool = False) -> None:  # fmt: skip
        low = 1 if min is None else builtins.max(min, 1)
        high = MAX_ID if max is None else max
        super().__init__(map, fixed_digits=fixed_digits, min=low, max=high, signed=False)

    def to_python(self, value: str) -> int:
        if len(value) > _MAX_DIGITS:  # before int(), which would spend time on thousands of digits
            raise ValidationError()
        return super().to_python(value)


def id_from(raw: str | None) -> int | None:
    """An id given as text (``?after=``, ``?newsletter=``), or None when it is empty or not an id: the
    caller then ignores it, as it ignores any other argument it does not understand."""
    if not raw or len(raw) > _MAX_DIGITS or not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if 1 <= value <= MAX_ID else None


def init_app(app: Flask) -> None:
    """Before any blueprint adds a route: a rule takes its converter when it is added."""
    app.url_map.converters["int"] = IdConverter
