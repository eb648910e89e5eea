"""A reader gives 10 EUR, once and then monthly, in English: the donate page sends the browser to Stripe
Checkout (the stand-in's page), "Pay" returns to the thank-you page while Stripe's signed webhooks reach
the app, and the receipt arrives by mail."""

from __future__ import annotations

import pytest

from tests.e2e.eyes import sees

JOURNEY = "donor"  # the screenshots' prefix


@pytest.mark.parametrize(
    ("kind", "donor", "shown"),
    [
        ("Once", "once@example.org", "Your donation of €10.00 has arrived."),
        ("Monthly", "monthly@example.org", "Your monthly donation of €10.00 has started."),
    ],
    ids=["once", "monthly"],
)
def test_reader_gives_ten_euros(eyes, stack, kind, donor, shown):
    page = eyes.page
    page.goto("/donate?lang=en")
    sees(page, "Support our journalism")
    eyes.look(f"donate-{kind.lower()}", shots=kind == "Once")
    page.get_by_label(kind, exact=True).check()
    page.get_by_label("€10.00", exact=True).check()
    page.get_by_label("E-mail address for the receipt").fill(donor)
    page.get_by_role("button", name="Continue to payment").click()

    page.wait_for_url(f"{stack.stripe.url}/c/pay/*")
    sees(page, "10.00 EUR")
    if kind == "Monthly":
        sees(page, "/ month")
    page.get_by_role("button", name="Pay").click()

    page.wait_for_url("**/spenden/danke*")
    sees(page, shown)
    eyes.look(f"thanks-{kind.lower()}", shots=kind == "Monthly")
    assert stack.stripe.webhook_answers and set(stack.stripe.webhook_answers) == {200}

    (receipt,) = stack.mails_to(donor)
    assert "receipt" in receipt["Subject"].lower() or "quittung" in receipt["Subject"].lower()
    body = receipt.get_body(preferencelist=("plain",)).get_content()
    assert "10" in body


def test_reader_gives_yearly_and_covers_the_fee(eyes, stack):
    """A yearly gift of 25 EUR with the fee covered: the page shows the fee in euros for the amount chosen
    (1.5 % of 25.00 is 0.375, rounded to 0.38, plus 0.25), Checkout bills gift and fee every year as two
    lines, and the thank-you page names both."""
    page = eyes.page
    page.goto("/donate?lang=en")
    page.get_by_label("Yearly", exact=True).check()
    page.get_by_label("€25.00", exact=True).check()
    sees(page, "€25.00 plus €0.63 fee")  # the list for every preset amount, there without the script too
    page.get_by_label("I cover the payment fee").check()
    sees(page, "€25.00 plus €0.63 fee: €25.63 in total")  # the chosen amount's line, kept by the script
    page.get_by_label("Another amount", exact=True).check()
    page.get_by_label("Another amount in euros").fill("40")
    sees(page, "€40.00 plus €0.85 fee: €40.85 in total")
    page.get_by_label("€25.00", exact=True).check()
    page.get_by_label("E-mail address for the receipt").fill("yearly@example.org")
    eyes.look("donate-yearly-fee", shots=True)
    page.get_by_role("button", name="Continue to payment").click()

    page.wait_for_url(f"{stack.stripe.url}/c/pay/*")
    sees(page, "Pay 25.63 EUR / year")
    sees(page, "Payment fee, covered by you: 0.63 EUR")
    page.get_by_role("button", name="Pay").click()

    page.wait_for_url("**/spenden/danke*")
    sees(page, "Your yearly donation of €25.00 has started.")
    sees(page, "Thank you for covering the payment fee of €0.63 as well.")
    assert stack.stripe.webhook_answers and set(stack.stripe.webhook_answers) == {200}
    (receipt,) = stack.mails_to("yearly@example.org")
    assert "€25.63" in receipt.get_body(preferencelist=("plain",)).get_content()  # what was charged
