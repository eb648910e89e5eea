"""Amounts in German words, as a Zuwendungsbestätigung writes them beside the figures."""

from __future__ import annotations

from num2words import num2words


def _number(value: int) -> str:
    # num2words counts ("eins"); before a noun German says "ein Euro", "ein Cent".
    words = num2words(value, lang="de")
    return "ein" if words == "eins" else words


def euros_in_words(cents: int) -> str:
    """``2550`` -> ``"fünfundzwanzig Euro und fünfzig Cent"``; ``2500`` -> ``"fünfundzwanzig Euro"``."""
    if cents < 0:
        raise ValueError("an amount in words is never negative")
    euros, rest = divmod(cents, 100)
    if euros and rest:
        return f"{_number(euros)} Euro und {_number(rest)} Cent"
    if rest:
        return f"{_number(rest)} Cent"
    return f"{_number(euros)} Euro"
