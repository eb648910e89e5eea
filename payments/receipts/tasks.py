"""The receipts' job: January's Zuwendungsbestätigungen for the past year."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import current_app

from db import db
from payments.receipts import issuing
from payments.receipts.charity import charity_from_config


def send_year_receipts() -> dict[str, int]:
    """Run daily by the clock when ``CHARITY_RECEIPTS_JANUARY`` is on; acts only in January (the newsroom's
    time zone). Safe to run twice and on several hosts: a gift is in one receipt only, and a receipt's
    January mail is unique per receipt."""
    charity = charity_from_config(current_app.config)
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Berlin")
    today = issuing.year_today(zone)
    if charity is None or not charity.january or today.month != 1:
        return {"issued": 0, "without_address": 0}
    counts = issuing.send_year_receipts(db.session, charity, zone=zone, today=today)
    current_app.logger.info("January receipts: %s", counts)
    return counts
