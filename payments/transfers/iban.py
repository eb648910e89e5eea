"""IBANs as people type them: spaces and any case allowed, checked with the ISO 13616 mod-97 check digits
and the length of the country's format."""

from __future__ import annotations

import re

# The IBAN lengths of the SEPA countries (the ones a GiroCode can name); another country is refused.
LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
    "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26,
    "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28,
    "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
}  # fmt: skip
_SHAPE = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$")
_BIC = re.compile(r"^[A-Z]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?$")


def compact(raw: str) -> str:
    return re.sub(r"\s+", "", raw or "").upper()


def is_valid(raw: str) -> bool:
    """A SEPA IBAN whose check digits hold (the number read with letters as 10..35, mod 97, is 1)."""
    iban = compact(raw)
    if not _SHAPE.match(iban) or LENGTHS.get(iban[:2]) != len(iban):
        return False
    digits = "".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])
    return int(digits) % 97 == 1


def is_valid_bic(raw: str) -> bool:
    return bool(_BIC.match(compact(raw)))


def grouped(raw: str) -> str:
    """In groups of four, as printed on a bank card: ``DE89 3704 0044 0532 0130 00``."""
    iban = compact(raw)
    return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
