"""The statistics pages: who may open them, what they show, the period picker and the CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest

from newsletter.editorial.models import Issue
from newsletter.platform.access import StaffRole
from newsletter.stats.periods import parse_period
from payments.reports import money
from tests.staff.factories import sign_in, staff_user
from tests.support.web import text_of

from .history import build

PERIOD = "/staff/stats/?period=custom&from=2025-12-01&to=2026-01-31"


def _signed_in(client, db, role):
    sign_in(client, staff_user(db, f"{role}-stats@example.org", role=role))


def test_signed_out_visitors_go_to_the_login(client, db):
    for url in ("/staff/stats/", "/staff/stats/issues", "/staff/stats/export/revenue.csv", "/staff/tokens"):
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login"), url


def test_editors_are_refused_the_money_dashboard_and_money_tables(client, db):
    build(db)
    _signed_in(client, db, StaffRole.EDITOR)
    assert client.get(PERIOD).status_code == 403
    assert client.get("/staff/stats/export/revenue.csv").status_code == 403
    assert client.get("/staff/stats/export/issue-links.csv").status_code == 403
    assert client.get("/staff/tokens").status_code == 403
    page = client.get("/staff/stats/issues?period=custom&from=2025-12-01&to=2026-01-31")
    assert page.status_code == 200
    html = text_of(page)
    assert "January issue" in html and "Advent issue" in html
    assert "€" not in html and "r1@example.org" not in html  # no money, no donors
    assert "/staff/stats/issues" in text_of(client.get("/staff/"))  # the editor's way in
    assert 'href="/staff/stats/"' not in text_of(client.get("/staff/"))


def test_admin_dashboard_shows_the_figures_with_charts_and_tables(client, db):
    build(db)
    _signed_in(client, db, StaffRole.ADMIN)
    page = client.get(PERIOD)
    assert page.status_code == 200
    html = text_of(page)
    assert "93,00\xa0€" in html  # received after refunds and lost disputes
    assert "130,00\xa0€" in html  # January's gross
    assert "5,00\xa0€" in html and "18,00\xa0€" in html  # MRR at the end of January and of December
    assert "14,56\xa0€" in html  # donor lifetime value
    assert "66,7 %" in html  # churn rate
    assert ">Spendenaufruf</td>" in html and ">ask</td>" not in html  # Beitrag's own link by name
    assert "USD" in html  # the dollar gift is named, not added
    assert html.count("<svg") >= 6 and html.count("<caption>") >= 8
    assert "Dez. 2025" in html and "Jan. 2026" in html
    assert "So wird das berechnet" in html or "How this is computed" in html
    assert 'style="' not in html and "<script>" not in html and "onclick" not in html
    assert 'href="/staff/stats/"' in html  # the staff navigation links the dashboard


def test_dashboard_in_english(client, db):
    build(db)
    _signed_in(client, db, StaffRole.ADMIN)
    html = text_of(client.get(PERIOD + "&lang=en"))
    assert "€93.00" in html and "Dec 2025" in html and "How this is computed" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=custom&from=2026-02-01&to=2026-01-01", "The start date is after the end date."),
        ("period=custom&from=yesterday&to=2026-01-01", "YYYY-MM-DD"),
        ("period=custom&from=2000-01-01&to=2026-01-01", "at most five years"),
        ("period=ever", "Unknown period."),
    ],
)
def test_bad_periods_are_explained_on_the_page(client, db, query, message):
    """Bad input: from after to, a word for a date, 26 years, an unknown preset."""
    _signed_in(client, db, StaffRole.ADMIN)
    page = client.get("/staff/stats/?lang=en&" + query)
    assert page.status_code == 400
    assert message in text_of(page) and "Showing the last 12 months instead." in text_of(page)


def test_csv_tables_hold_the_page_figures_and_no_formulas(client, db):
    """Bad input: an issue subject that a spreadsheet would run as a formula."""
    build(db)
    issue = db.session.query(Issue).filter_by(subject="January issue").one()
    issue.subject = '=HYPERLINK("http://evil.example","click")'
    db.session.commit()
    _signed_in(client, db, StaffRole.ADMIN)
    query = "?period=custom&from=2025-12-01&to=2026-01-31"
    revenue = client.get("/staff/stats/export/revenue.csv" + query)
    assert revenue.status_code == 200 and revenue.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(revenue.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "month" and rows[1][:3] == ["2025-12", "4", "2800"] and rows[2][-1] == "6500"
    issues = client.get("/staff/stats/export/issues.csv" + query).get_data(as_text=True)
    assert "'=HYPERLINK" in issues and '\n=HYPERLINK' not in issues and ",=HYPERLINK" not in issues
    links = client.get("/staff/stats/export/issue-links.csv" + query).get_data(as_text=True)
    assert "'=HYPERLINK" in links
    assert client.get("/staff/stats/export/passwords.csv").status_code == 404
    bad = client.get("/staff/stats/export/revenue.csv?period=custom&from=2026-02-01&to=2026-01-01")
    assert bad.status_code == 400


def test_the_demo_history_renders_with_charts(client, db, runner):
    result = runner.invoke(args=["demo", "load", "--subscribers", "600"])
    assert result.exit_code == 0, result.output
    _signed_in(client, db, StaffRole.ADMIN)
    html = text_of(client.get("/staff/stats/?period=last_12_months&lang=en"))
    assert "<polyline" in html and html.count("<rect") > 12
    net = re.search(r"Received, after refunds and lost disputes</dt><dd>€([0-9,.]+)<", html)
    assert net and float(net.group(1).replace(",", "")) > 100, net
    mrr = re.search(r"MRR at the end of the period</dt><dd>€([0-9,.]+)<", html)
    assert mrr and float(mrr.group(1).replace(",", "")) > 10, mrr
    # Readers who give: the demo's donors are readers too, and the page reads each reader's first gift,
    # which must say what the donations say.
    p = parse_period("last_12_months", None, None, zone="Europe/Berlin", now=datetime.now(UTC))
    shown = money.dashboard(db.session, p, currency="eur")["conversion"]
    assert shown == money.dashboard(db.session, p, currency="eur", from_ledger=True)["conversion"]
    assert sum(row["givers"] for row in shown["by_source"]) > 10, shown
