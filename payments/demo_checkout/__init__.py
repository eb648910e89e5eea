"""The test checkout of ``make run``: the whole donation journey without Stripe keys, and no money moves.

``make run`` (``flask dev run``) in development without ``STRIPE_SECRET_KEY`` starts the stand-in
(``standin``) as one more process and hands every process ``DEMO_CHECKOUT_URL`` and a random
``DEMO_CHECKOUT_SECRET``; the settings derive a test key and a webhook secret from it and point the SDK at
the stand-in (``newsletter.platform.settings``). Checkout Sessions then lead to Beitrag's own test checkout
page (``views``), and its "pay" makes the stand-in post Stripe's signed events to the real webhook endpoint,
so everything after it runs the code that runs with Stripe. In production the settings refuse to start
with ``DEMO_CHECKOUT_URL`` set.
"""

from __future__ import annotations

import secrets
import socket

from flask import Flask

from newsletter.platform import devserver
from payments import cli
from payments.demo_checkout import commands, views


def init_app(app: Flask) -> None:
    devserver.register_companion(app, companion)
    cli.group.add_command(commands.test_checkout)
    app.register_blueprint(views.bp)  # its page answers 404 unless the test checkout is on


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def companion(app: Flask, base_url: str) -> devserver.Companion | None:
    """The stand-in as a process of ``make run``: in development, while no Stripe key is set."""
    config = app.config
    if config.get("DEMO_CHECKOUT"):  # named already (DEMO_CHECKOUT_URL in the environment): start it there
        env, url = {}, config["DEMO_CHECKOUT_URL"]
    elif config.get("DEVELOPMENT") and not config.get("STRIPE_SECRET_KEY"):
        url = f"http://127.0.0.1:{_free_port()}"
        env = {"DEMO_CHECKOUT_URL": url, "DEMO_CHECKOUT_SECRET": secrets.token_urlsafe(32)}
    else:
        return None
    line = f"give at {base_url}/spenden: a test checkout, no money moves (Stripe stand-in on {url})"
    return devserver.Companion("test checkout", ["payments", "test-checkout"], env, line)
