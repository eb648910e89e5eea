"""An admin, in the browser and in English: signs in, sees the donations (the demo history and the running
monthly gifts) and the staff accounts; then opens the statistics dashboard, changes the period, and sees
the charts' tables show other figures."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.eyes import sees

JOURNEY = "admin"  # the screenshots' prefix


def test_admin_sees_donations_and_staff(eyes, stack, staff, sign_in):
    page = eyes.page
    sign_in(eyes, staff["admin"])
    page.goto("/staff/?lang=en")
    assert "Donations" in page.locator(".staff-nav").inner_text()
    eyes.look("overview", shots=False)

    page.get_by_role("link", name="Donations").click()
    sees(page, "Running monthly and yearly donations")
    sees(page, "Received in the last 30 days")
    expect(page.locator("table tbody tr").first).to_be_visible()  # the demo history
    eyes.look("donations")

    page.get_by_role("link", name="Staff").click()
    sees(page, staff["editor"])
    eyes.look("staff", shots=False)


def test_admin_reads_the_dashboard_and_changes_the_period(eyes, stack, staff, sign_in):
    """The admin opens the statistics from the staff navigation: the revenue and MRR charts are drawn (SVG)
    with their tables, and choosing another period changes the period line and the revenue table."""
    page = eyes.page
    sign_in(eyes, staff["admin"])
    page.goto("/staff/?lang=en")
    page.locator(".staff-nav").get_by_role("link", name="Statistics", exact=True).click()
    sees(page, "compared with")
    expect(page.locator("svg").first).to_be_visible()
    revenue = page.locator("table").first
    expect(revenue.locator("caption")).to_be_visible()
    year_rows = revenue.locator("tbody tr").count()
    period_line = page.locator(".period-shown").inner_text()
    eyes.look("stats-12-months")

    page.locator("select[name=period]").select_option("this_month")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".period-shown")).not_to_have_text(period_line)
    assert page.locator("table").first.locator("tbody tr").count() < year_rows  # one month, not twelve
    eyes.look("stats-this-month")
