"""``flask --app app payments test-checkout``: the stand-in of the test checkout, run by ``make run``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import with_appcontext

from payments.demo_checkout.standin import CheckoutStandIn


@click.command("test-checkout")
@with_appcontext
def test_checkout() -> None:
    """Stripe's part of the test checkout (no money moves) on DEMO_CHECKOUT_URL, until stopped."""
    config = current_app.config
    if not config.get("DEMO_CHECKOUT"):
        raise click.ClickException(
            "The test checkout runs only with DEMO_CHECKOUT_URL and DEMO_CHECKOUT_SECRET set, in development "
            "and without Stripe keys; `make run` sets them."
        )
    checkout = CheckoutStandIn(
        api_key=config["STRIPE_SECRET_KEY"], webhook_secret=config["STRIPE_WEBHOOK_SECRET"],
        page_base=config["BASE_URL"], webhook_url=f"{config['BASE_URL']}/webhooks/stripe",
        state_file=Path(current_app.instance_path) / "test-checkout.json",
    )  # fmt: skip
    server = checkout.serve(urlsplit(config["DEMO_CHECKOUT_URL"]).port or 0)
    click.echo(f"Test checkout (no money moves) on {config['DEMO_CHECKOUT_URL']}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # Ctrl-C reaches every process of `make run`; its stack says "Stopped."
        pass
    finally:
        server.server_close()
