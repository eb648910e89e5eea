"""Every figure of the statistics, to the cent, for a history worked out by hand (see history.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from newsletter.stats import figures as newsletter_figures
from newsletter.stats.periods import PeriodError, parse_period
from payments.reports import money

from .history import NOW, ZONE, at, build, period


def test_period_is_cut_at_local_midnight_into_local_calendar_months():
    p = period()
    assert p.start == at("2025-11-30T23:00:00") and p.end == at("2026-01-31T23:00:00")
    assert [(m.label, m.start, m.end) for m in p.months()] == [
        ("2025-12", at("2025-11-30T23:00:00"), at("2025-12-31T23:00:00")),
        ("2026-01", at("2025-12-31T23:00:00"), at("2026-01-31T23:00:00")),
    ]
    previous = p.previous()
    assert previous.end == p.start and previous.end - previous.start == p.end - p.start
    summer = parse_period("custom", "2026-03-01", "2026-04-30", zone=ZONE, now=NOW)
    assert summer.months()[1].start == at("2026-03-31T22:00:00")  # CEST from 29 March


def test_presets_follow_the_local_calendar():
    late = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # already 1 February in Berlin
    assert parse_period("this_month", None, None, zone=ZONE, now=late).start == at("2026-01-31T23:00:00")
    assert parse_period("this_year", None, None, zone=ZONE, now=late).start == at("2025-12-31T23:00:00")
    twelve = parse_period("last_12_months", None, None, zone=ZONE, now=late)
    assert (twelve.start, twelve.end) == (at("2025-01-31T23:00:00"), at("2026-01-31T23:00:00"))
    assert len(twelve.months()) == 12
    thirty = parse_period("last_30_days", None, None, zone=ZONE, now=late)
    assert thirty.start == at("2026-01-02T23:00:00") and thirty.end == late


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2026-02-01", "2026-01-01", "start date is after the end date"),
        ("yesterday", "2026-01-01", "YYYY-MM-DD"),
        ("2026-02-30", "2026-03-01", "no such day"),
        ("2026-01-01", "", "both dates"),
        ("1900-01-01", "2026-01-01", "2000 and 2100"),
        ("2001-01-01", "2026-01-01", "at most five years"),
        ("2026-01-01'; DROP TABLE donations;--", "2026-02-01", "YYYY-MM-DD"),
    ],
)
def test_bad_periods_are_refused_with_a_reason(app, start, end, message):
    """Bad input: from after to, words, an impossible day, a missing date, a century ago, 25 years,
    SQL in the date."""
    with app.test_request_context("/?lang=en"):  # the reasons in English; German is the default
        with pytest.raises(PeriodError, match=message):
            parse_period("custom", start, end, zone=ZONE, now=NOW)
        with pytest.raises(PeriodError, match="Unknown period"):
            parse_period("forever", None, None, zone=ZONE, now=NOW)


def test_revenue_per_month_deducts_refunds_and_lost_disputes(db):
    build(db)
    rows = money.revenue_by_month(db.session, period(), "eur")
    assert rows == [
        {"month": "2025-12", "payments": 4, "gross_cents": 2800, "one_time_cents": 1000,
         "monthly_cents": 1800, "refunded_cents": 0, "disputes_lost_cents": 0, "net_cents": 2800},
        {"month": "2026-01", "payments": 6, "gross_cents": 13000, "one_time_cents": 11500,
         "monthly_cents": 1500, "refunded_cents": 3500, "disputes_lost_cents": 3000, "net_cents": 6500},
    ]  # fmt: skip
    assert money.revenue_totals(rows)["net_cents"] == 9300
    previous = money.revenue_totals(money.revenue_by_month(db.session, period().previous(), "eur"))
    assert previous["gross_cents"] == 3800  # B at 23:59 on 30 November, and G's and I's autumn months
    assert money.other_currencies(db.session, period(), "eur") == [
        {"currency": "USD", "payments": 1, "gross_cents": 10000}
    ]


def test_mrr_and_supporters_at_each_month_end(db):
    build(db)
    rows = money.mrr_by_month(db.session, period(), "eur")
    assert [(r["month"], r["mrr_cents"], r["supporters"]) for r in rows] == [
        ("2025-12", 1800, 3),
        ("2026-01", 500, 1),
    ]
    assert money.mrr_at(db.session, period().start, "eur") == {"mrr_cents": 800, "supporters": 2}


def test_new_supporters_churn_and_recovered_money(db):
    build(db)
    assert money.new_supporters(db.session, period(), "eur") == {"donors": 6, "monthly_started": 1}
    assert money.churn(db.session, period(), "eur") == {
        "cancelled_count": 1, "cancelled_mrr_cents": 1000, "failed_count": 1, "failed_mrr_cents": 300,
        "other_count": 0, "other_mrr_cents": 0, "ended_count": 2, "rate_percent": 66.7,
    }  # fmt: skip
    assert money.recovered(db.session, period(), "eur") == {"payments": 1, "cents": 1000}


def test_average_median_and_lifetime_value(db):
    build(db)
    assert money.gifts(db.session, period(), "eur") == {
        "count": 10,
        "total_cents": 15800,
        "average_cents": 1580,
        "median_cents": 1000,
    }
    assert money.lifetime_value(db.session, period(), "eur") == {
        "donors": 9,
        "net_cents": 13100,
        "ltv_cents": 1456,
    }


def test_conversion_by_newsletter_and_by_source(db):
    build(db)
    result = money.conversion(db.session, period())
    assert [(r["newsletter"], r["readers"], r["givers"], r["percent"]) for r in result["by_newsletter"]] == [
        ("Morgen", 4, 2, 50.0)
    ]
    assert [(r["source"], r["readers"], r["givers"]) for r in result["by_source"]] == [
        ("web", 2, 2),
        ("", 1, 0),
        ("import", 1, 0),
        ("social", 1, 0),
    ]


def test_the_dashboard_reads_readers_who_give_in_its_reader_scan_with_the_same_result(db):
    """The page counts readers per source in the same scan as the monthly reader figures (one packed
    integer per reader, read on a second connection); the plain query gives the same rows."""
    build(db)
    shown = money.dashboard(db.session, period(), currency="eur")
    assert shown["conversion"] == money.conversion(db.session, period())
    assert shown["subscribers"]["months"] == newsletter_figures.subscriber_months(db.session, period())
    assert shown["subscribers"]["active_now"] == 5  # r1 to r4 and r7; r5, r6 left, r8 bounced


def test_issue_rows_and_donations_per_issue_and_link(db):
    ids = build(db)
    issues = newsletter_figures.issue_rows(db.session, period())
    assert [(r["subject"], r["recipients"], r["sent"], r["failed"], r["bounced"], r["unsubscribed"],
             r["clicks"]) for r in issues] == [
        ("Advent issue", 6, 5, 1, 0, 0, None),  # r6 left 10 days after it: not blamed
        ("January issue", 3, 3, 0, 1, 1, None),  # r5 left two days after it
    ]  # fmt: skip
    result = money.issue_donations(db.session, period(), "eur")
    assert [(r["issue_id"], r["donations"], r["monthly"], r["amount_cents"], r["donations_per_1000"],
             r["cents_per_1000"]) for r in result["issues"]] == [
        (ids["issue1"], 2, 0, 6000, 333.33, 1_000_000),
        (ids["issue2"], 1, 1, 1000, 333.33, 333_333),
    ]  # fmt: skip
    assert [(r["issue_id"], r["link"], r["donations"], r["amount_cents"]) for r in result["links"]] == [
        (ids["issue1"], "ask", 1, 1000),
        (ids["issue1"], "top", 1, 5000),
        (ids["issue2"], "ask", 1, 1000),
    ]


def test_subscribers_per_month_in_local_months(db):
    build(db)
    rows = newsletter_figures.subscriber_months(db.session, period())
    assert rows == [
        {"month": "2025-12", "new": 2, "confirmed": 1, "unsubscribed": 1, "bounced": 0, "net": 0},
        {"month": "2026-01", "new": 0, "confirmed": 1, "unsubscribed": 1, "bounced": 1, "net": -1},
    ]


def test_dashboard_without_money_has_no_donor_figures(db):
    build(db)
    plain = newsletter_figures.dashboard(db.session, period())
    assert set(plain) == {"period", "previous_period", "subscribers", "issues"}
    full = money.dashboard(db.session, period(), currency="eur")
    assert full["revenue"]["total"]["net_cents"] == 9300
    assert full["issues"] == plain["issues"]
    assert full["subscribers"] == plain["subscribers"]


def test_the_previous_period_comes_from_the_same_aggregates(db):
    """The comparison: 30 September to 30 November 2025 in Berlin (the same length before)."""
    build(db)
    shown = money.dashboard(db.session, period(), currency="eur")
    assert shown["revenue"]["previous_total"]["gross_cents"] == 3800
    assert shown["previous_gifts"] == {"count": 4, "total_cents": 3800, "average_cents": 950,
                                         "median_cents": 500}
    assert shown["previous_new_supporters"] == {"donors": 3, "monthly_started": 2}
    assert shown["previous_lifetime_value"] == {"donors": 3, "net_cents": 3800, "ltv_cents": 1267}
    assert shown["previous_recovered"] == {"payments": 0, "cents": 0}
    assert shown["mrr"]["start"] == {"mrr_cents": 800, "supporters": 2}
    assert shown["previous_churn"]["ended_count"] == 0
    assert shown["subscribers"]["previous_total"]["new"] == 0
