"""``flask --app app payments ...``: thin commands for the donations side."""

from __future__ import annotations

from datetime import UTC, datetime

import click
from flask import current_app
from flask.cli import AppGroup

from db import db
from payments import gateway
from payments.events import reconcile as reconciliation
from payments.settings import stripe_settings
from payments.supporters import tasks

group = AppGroup("payments", help="Donations: mails to donors, reconciliation with Stripe.")


@group.command("sweep-mails")
def sweep_mails() -> None:
    """Queue donor mails (receipts, card reminders, endings) that are written but not yet queued (the
    clock does this every 2 s)."""
    click.echo(f"{tasks.sweep_donor_mails()} mails queued")


def _day(value: str | None) -> datetime | None:
    return None if value is None else datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)


@group.command("reconcile")
@click.option("--since", required=True, metavar="YYYY-MM-DD", help="First day (UTC) to compare.")
@click.option("--until", default=None, metavar="YYYY-MM-DD", help="Day (UTC) to stop before; default now.")
def reconcile(since: str, until: str | None) -> None:
    """Compare Stripe's charges, refunds, disputes, invoices, sessions and subscriptions since a day with
    Beitrag's ledger, apply what Beitrag missed and print every difference it could not repair. Exits 1
    when differences remain."""
    settings = stripe_settings()
    if settings is None:
        raise click.ClickException("Stripe is not configured (STRIPE_SECRET_KEY)")
    try:
        start, end = _day(since), _day(until)
    except ValueError:
        raise click.BadParameter("days look like 2026-12-01") from None
    try:
        report = reconciliation.reconcile(
            db.session, settings, since=start, until=end, base_url=current_app.config["BASE_URL"]
        )
    except gateway.GatewayError as exc:
        raise click.ClickException(f"Stripe could not be asked: {exc}") from None
    for line in report.repaired:
        click.echo(f"repaired: {line}")
    for line in report.differences:
        click.echo(f"difference: {line}")
    click.echo(f"{report.seen} objects of ours compared, {len(report.repaired)} repaired, "
               f"{len(report.differences)} differences left")  # fmt: skip
    if report.differences:
        raise SystemExit(1)
