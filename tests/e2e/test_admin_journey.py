"""An admin, in the browser and in English: signs in, sees the donations (the demo history and the running
monthly gifts) and the staff accounts. The statistics dashboard joins this journey when it lands: open
/staff/stats, change the period, and assert that the charts' tables show other figures."""

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
    sees(page, "Running monthly donations")
    sees(page, "Received in the last 30 days")
    expect(page.locator("table tbody tr").first).to_be_visible()  # the demo history
    eyes.look("donations")

    page.get_by_role("link", name="Staff").click()
    sees(page, staff["editor"])
    eyes.look("staff", shots=False)
