"""The fee a donor may choose to cover: the newsroom's estimate of what the card or SEPA payment costs it
(``DONATION_FEE_PERCENT`` of the gift plus ``DONATION_FEE_FIXED_CENTS``), in integer cents.

One rounding rule: the percentage part is rounded to the nearest cent, halves up, then the fixed part is
added. The donate page shows exactly this figure and the checkout adds exactly this figure, charged with
every payment of a recurring gift; the donation keeps it apart from the gift (``fee_covered_cents``).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def rule(config: Mapping[str, Any]) -> tuple[int, int]:
    """(basis points, fixed cents) of the configured estimate; (0, 0) offers no fee to cover."""
    percent = Decimal(str(config.get("DONATION_FEE_PERCENT") or 0))
    return int(percent * 100), int(config.get("DONATION_FEE_FIXED_CENTS") or 0)


def offered(config: Mapping[str, Any]) -> bool:
    return rule(config) != (0, 0)


def fee_cents(amount_cents: int, config: Mapping[str, Any]) -> int:
    """The fee estimate for a gift of ``amount_cents``: 1.5 % + 25 ct of 10.00 EUR is 40 ct, of 3.33 EUR
    30 ct (4.995 ct rounded up to 5)."""
    basis_points, fixed = rule(config)
    if amount_cents <= 0 or (basis_points, fixed) == (0, 0):
        return 0
    return (amount_cents * basis_points * 2 + 10_000) // 20_000 + fixed
