"""The statistics as tables: the rows of the pages' tables and charts (template filters, which
``stats.init_app`` registers) and the CSV export's tables, cells a spreadsheet never runs as formulas."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from flask import Flask
from flask_babel import format_datetime, format_number
from flask_babel import lazy_gettext as _l

from newsletter.platform.csv_cells import neutralize
from newsletter.platform.i18n import month_label

# Where a reader's share link stood (readers.sharing.PLACES), as the staff read it.
SHARE_PLACES = {
    "issue": _l("forward line in an issue"), "preferences": _l("preference center"),
    "supporters": _l("supporters' mail"), "link": _l("other"),
}  # fmt: skip

PLAIN_TABLES = ("subscribers", "issues", "clicks", "shares")


def readers_row(r: dict) -> list:
    keys = ("new", "confirmed", "unsubscribed", "bounced", "net")
    return [month_label(r["month"]), *(format_number(r[k]) for k in keys)]


def issue_row(r: dict) -> list:
    counts = [format_number(r[k]) for k in ("recipients", "sent", "failed", "bounced", "unsubscribed")]
    clicks = "–" if r["clicks"] is None else format_number(r["clicks"])
    return [r["subject"], format_datetime(r["sent_at"], "short"), *counts, clicks]


def link_clicks_row(link: tuple[str, int]) -> list:
    return [link[0], format_number(link[1])]


def share_row(r: dict) -> list:
    return [share_place_label(r["via"]), format_number(r["signups"]), format_number(r["confirmed"])]


def share_place_label(via: str) -> str:
    return str(SHARE_PLACES.get(via, via))


def issue_bar(r: dict) -> dict:
    return {"label": r["subject"], "value": r["recipients"], "shown": format_number(r["recipients"])}


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else ("" if value is None else str(value))


def plain_tables(f: dict) -> dict[str, tuple[list[str], list[list]]]:
    keys = ("month", "new", "confirmed", "unsubscribed", "bounced", "net")
    issue_keys = ("issue_id", "subject", "sent_at", "recipients", "sent", "failed", "bounced", "unsubscribed",
                  "clicks")  # fmt: skip
    return {
        "subscribers": (list(keys), [[r[k] for k in keys] for r in f["subscribers"]["months"]]),
        "issues": (
            list(issue_keys),
            [[_iso(r[k]) if k == "sent_at" else r[k] for k in issue_keys] for r in f["issues"]],
        ),
        "clicks": (
            ["issue_id", "subject", "link", "clicks"],
            [[r["issue_id"], r["subject"], url, n] for r in f["issues"] for url, n in r["links"]],
        ),
        "shares": (["share_source", "signups", "confirmed"],
                   [[r["via"], r["signups"], r["confirmed"]] for r in f.get("shares") or []]),
    }


def csv_text(header: list[str], rows: list[list]) -> str:
    """The table as CSV for a spreadsheet: a byte-order mark (Excel reads UTF-8 then), CRLF lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([neutralize(cell) for cell in row])
    return "\ufeff" + buffer.getvalue()


def init_app(app: Flask) -> None:
    for row in (readers_row, issue_row, link_clicks_row, issue_bar, share_row):
        app.add_template_filter(row)
