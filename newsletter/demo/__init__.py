"""Demo content: a German AI newsroom ("KI-Kompass") with newsletters, articles, readers with their history,
sent issues and staff accounts, for ``make run``; the donations side adds its demo donations through
``ports.register_demo_loader``."""

from __future__ import annotations

from flask import Flask

from newsletter.demo import cli


def init_app(app: Flask) -> None:
    app.cli.add_command(cli.demo_cli)
