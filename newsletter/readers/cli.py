"""``flask --app app newsletter sweep-reader-mails|expire-pending|sweep-imports``."""

from __future__ import annotations

import click

from newsletter.platform.cli import newsletter_cli
from newsletter.readers import tasks as readers_tasks


@newsletter_cli.command("sweep-reader-mails")
def sweep_reader_mails_command() -> None:
    """Queue confirmation and preference-link mails that were written while Redis was down (run by cron
    every few minutes, or after an outage)."""
    click.echo(f"Queued {readers_tasks.sweep_reader_mails()} reader mails.")


@newsletter_cli.command("expire-pending")
def expire_pending_command() -> None:
    """Delete sign-ups that were not confirmed within 7 days (run by cron daily)."""
    click.echo(f"Deleted {readers_tasks.expire_pending_signups()} unconfirmed sign-ups.")


@newsletter_cli.command("sweep-imports")
def sweep_imports_command() -> None:
    """Queue again the imports whose worker died (the clock does this every 30 s): each continues from
    its last settled chunk."""
    click.echo(f"Queued {readers_tasks.sweep_imports()} interrupted imports again.")
