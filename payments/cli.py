"""``flask --app app payments ...``: thin commands for the donations side."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from payments.supporters import tasks

group = AppGroup("payments", help="Donations: mails to donors.")


@group.command("sweep-mails")
def sweep_mails() -> None:
    """Queue donor mails (receipts, card reminders, endings) that are written but not yet queued (the
    clock does this every 2 s)."""
    click.echo(f"{tasks.sweep_donor_mails()} mails queued")
