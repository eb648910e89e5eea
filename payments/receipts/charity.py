"""The charity's details a Zuwendungsbestätigung must state, from the settings: all of them or none (a
newsroom that is not a recognised charity keeps the giving statement that says it is not a tax receipt)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from newsletter.platform.settings import ConfigError

REQUIRED = ("CHARITY_NAME", "CHARITY_ADDRESS", "CHARITY_TAX_OFFICE", "CHARITY_TAX_NUMBER",
            "CHARITY_EXEMPTION_DATE", "CHARITY_PURPOSE")  # fmt: skip


@dataclass(frozen=True)
class Charity:
    name: str
    address: str  # one line per line of the address
    tax_office: str
    tax_number: str
    exemption_date: date  # the date of the Freistellungsbescheid
    purpose: str  # the steuerbegünstigte Zweck, e.g. "Förderung der Bildung"
    assessment_period: str  # "für den letzten Veranlagungszeitraum ..."; empty: not stated
    place: str  # where the receipt is issued ("Berlin, den ...")
    january: bool  # mail every donor of the past year their receipt in January


def charity_from_config(config: Mapping[str, Any]) -> Charity | None:
    """The charity's details, or None when none of the required settings is set. Raises
    :class:`ConfigError` when some are set and others are not, or the exemption date is not a date."""
    given = {key: str(config.get(key) or "").strip() for key in REQUIRED}
    if not any(given.values()):
        return None
    missing = [key for key, value in given.items() if not value]
    if missing:
        raise ConfigError(
            f"Zuwendungsbestätigungen need all of {', '.join(REQUIRED)}; missing: {', '.join(missing)}"
        )
    try:
        exemption = date.fromisoformat(given["CHARITY_EXEMPTION_DATE"])
    except ValueError:
        raise ConfigError(
            "CHARITY_EXEMPTION_DATE must be a date such as 2025-03-14, "
            f"not {given['CHARITY_EXEMPTION_DATE']!r}"
        ) from None
    address = given["CHARITY_ADDRESS"].replace("\\n", "\n")
    lines = [part.strip() for chunk in address.split("\n") for part in chunk.split(",") if part.strip()]
    place = str(config.get("CHARITY_PLACE") or "").strip() or (lines[-1].split(" ", 1)[-1] if lines else "")
    return Charity(
        name=given["CHARITY_NAME"], address="\n".join(lines), tax_office=given["CHARITY_TAX_OFFICE"],
        tax_number=given["CHARITY_TAX_NUMBER"], exemption_date=exemption, purpose=given["CHARITY_PURPOSE"],
        assessment_period=str(config.get("CHARITY_ASSESSMENT_PERIOD") or "").strip(), place=place,
        january=bool(config.get("CHARITY_RECEIPTS_JANUARY")),
    )  # fmt: skip
