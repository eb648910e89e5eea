"""The money figures as the statistics pages show them: the rows of their tables (template filters, which
``payments.init_app`` registers) and the tables of the CSV export."""

from __future__ import annotations

from datetime import datetime

from flask import Flask
from flask_babel import format_decimal, format_number
from flask_babel import gettext as _

from newsletter.platform.i18n import month_label
from payments.amounts import money
from payments.supporters import sources

_n = format_number


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, datetime) else ("" if value is None else str(value))


def revenue_row(r: dict, currency: str) -> list:
    keys = ("gross_cents", "one_time_cents", "monthly_cents", "refunded_cents", "disputes_lost_cents",
            "net_cents")  # fmt: skip
    return [month_label(r["month"]), _n(r["payments"]), *(money(r[k], currency) for k in keys)]


def mrr_row(r: dict, currency: str) -> list:
    return [month_label(r["month"]), money(r["mrr_cents"], currency), _n(r["supporters"])]


def conversion_row(r: dict, key: str) -> list:
    name = r[key] or ("–" if key == "newsletter" else _("unknown"))
    return [name, _n(r["readers"]), _n(r["givers"]), format_decimal(r["percent"]) + " %"]


def conversion_bar(r: dict, key: str) -> dict:
    shown = format_decimal(r["percent"]) + " %"
    return {"label": r[key] or _("unknown"), "value": r["percent"], "shown": shown}


def issue_donation_row(r: dict, currency: str) -> list:
    per = "–" if r["donations_per_1000"] is None else format_decimal(r["donations_per_1000"])
    cents = "–" if r["cents_per_1000"] is None else money(r["cents_per_1000"], currency)
    return [r["subject"], _n(r["recipients"]), _n(r["donations"]), _n(r["monthly"]),
            money(r["amount_cents"], currency), per, cents]  # fmt: skip


def issue_donation_bar(r: dict) -> dict:
    value = r["donations_per_1000"] or 0
    return {"label": r["subject"], "value": value, "shown": format_decimal(value)}


def issue_link_row(r: dict, currency: str) -> list:
    link = sources.link_label(r["link"]) if r["link"] else _("unknown")
    return [r["subject"], link, _n(r["donations"]), _n(r["monthly"]), money(r["amount_cents"], currency)]


def article_donation_row(r: dict, currency: str) -> list:
    counts = [_n(r["donations"]), _n(r["monthly"]), money(r["amount_cents"], currency)]
    return [r["title"] or r["article"], *counts]


def link_donation_row(r: dict, currency: str) -> list:
    counts = [_n(r["donations"]), _n(r["monthly"]), money(r["amount_cents"], currency)]
    return [sources.link_label(r["link"]), *counts]


def money_tables(f: dict) -> dict[str, tuple[list[str], list[list]]]:
    return {
        "revenue": (
            ["month", "payments", "gross_cents", "one_time_cents", "monthly_cents", "refunded_cents",
             "disputes_lost_cents", "net_cents"],
            [[r[k] for k in ("month", "payments", "gross_cents", "one_time_cents", "monthly_cents",
                             "refunded_cents", "disputes_lost_cents", "net_cents")]
             for r in f["revenue"]["months"]],
        ),
        "mrr": (["month", "at", "mrr_cents", "supporters"],
                [[r["month"], _iso(r["at"]), r["mrr_cents"], r["supporters"]] for r in f["mrr"]["months"]]),
        "conversion-newsletters": (
            ["newsletter", "readers", "givers", "percent"],
            [[r["newsletter"], r["readers"], r["givers"], r["percent"]]
             for r in f["conversion"]["by_newsletter"]],
        ),
        "conversion-sources": (
            ["source", "readers", "givers", "percent"],
            [[r["source"], r["readers"], r["givers"], r["percent"]] for r in f["conversion"]["by_source"]],
        ),
        "issue-donations": (
            ["issue_id", "subject", "sent_at", "recipients", "donations", "monthly", "amount_cents",
             "donations_per_1000", "cents_per_1000"],
            [[r["issue_id"], r["subject"], _iso(r["sent_at"]), r["recipients"], r["donations"], r["monthly"],
              r["amount_cents"], r["donations_per_1000"], r["cents_per_1000"]]
             for r in f["issue_donations"]["issues"]],
        ),
        "issue-links": (
            ["issue_id", "subject", "link", "donations", "monthly", "amount_cents"],
            [[r["issue_id"], r["subject"], r["link"], r["donations"], r["monthly"], r["amount_cents"]]
             for r in f["issue_donations"]["links"]],
        ),
        "article-donations": (
            ["article", "title", "donations", "monthly", "amount_cents"],
            [[r["article"], r["title"], r["donations"], r["monthly"], r["amount_cents"]]
             for r in f["attributed"]["articles"]],
        ),
        "link-donations": (
            ["link", "donations", "monthly", "amount_cents"],
            [[r["link"], r["donations"], r["monthly"], r["amount_cents"]] for r in f["attributed"]["links"]],
        ),
    }  # fmt: skip


MONEY_TABLES = ("revenue", "mrr", "conversion-newsletters", "conversion-sources", "issue-donations",
                "issue-links", "article-donations", "link-donations")  # fmt: skip


ROW_FILTERS = (revenue_row, mrr_row, conversion_row, conversion_bar, issue_donation_row, issue_donation_bar,
               issue_link_row, article_donation_row, link_donation_row)  # fmt: skip


def init_app(app: Flask) -> None:
    for row in ROW_FILTERS:
        app.add_template_filter(row)
    app.add_template_filter(money, "money")
