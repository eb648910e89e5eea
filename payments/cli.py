"""``flask --app app payments ...``: thin commands for the donations side."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

group = AppGroup("payments", help="Donations: mails to donors.")


@group.command("sweep-mails")
def sweep_mails() -> None:
    """Queue donor mails (receipts, card reminders, endings) that are written but not yet queued."""
    from db import db

    from . import donor_mails

    click.echo(f"{donor_mails.queue_unsent(db.session, limit=10_000)} mails queued")


def init_app(app: Flask) -> None:
    app.cli.add_command(group)
