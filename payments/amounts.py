"""Amounts of money as people type and read them: what a reader typed parsed to integer minor units
(cents), never a float; and cents shown in a currency and a language (pages use the request's language:
``money``, also the templates' ``money`` filter; mails the donor's)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from babel.numbers import format_currency as babel_format_currency
from flask_babel import format_currency


def money(cents: int, currency: str = "eur") -> str:
    """In the request's language: ``12,50 €`` for a German reader, ``€12.50`` for an English one."""
    return format_currency(Decimal(cents) / 100, currency.upper())


def money_in(cents: int, currency: str, locale: str) -> str:
    """In ``locale``, for a mail to one donor (no request around it)."""
    return babel_format_currency(Decimal(cents) / 100, currency.upper(), locale=locale)


# A euro amount as readers type it: whole euros, or with one or two decimals after a point or comma.
_AMOUNT = re.compile(r"^(\d{1,9})(?:[.,](\d{1,2}))?$")


class DonationError(ValueError):
    """Input a donation cannot take; ``code`` names the problem for the page."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(message or code)
        self.code = code


def parse_amount(raw: Any, *, min_cents: int, max_cents: int) -> int:
    """Euros as typed ("5", "12,50", "7.5") to integer cents within the bounds. No floats anywhere: "3.999",
    "1e9", "abc", "-5" and "0" are refused with :class:`DonationError`."""
    if not isinstance(raw, str) or not raw.strip():
        raise DonationError("amount_missing")
    text = raw.strip().removesuffix("€").removeprefix("€").strip()
    match = _AMOUNT.match(text)
    if not match:
        raise DonationError("amount_invalid")
    euros, fraction = match.group(1), match.group(2) or "0"
    cents = int(euros) * 100 + int(fraction.ljust(2, "0"))
    if cents < min_cents:
        raise DonationError("amount_too_small")
    if cents > max_cents:
        raise DonationError("amount_too_large")
    return cents
