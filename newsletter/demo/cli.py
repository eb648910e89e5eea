"""``flask --app app demo load|status``."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from db import db
from newsletter.demo import loader

demo_cli = AppGroup("demo", help="Demo content for trying Beitrag out.")


@demo_cli.command("load")
@click.option("--subscribers", default=3000, show_default=True, help="How many demo readers to create.")
@click.option("--seed", default=2026, show_default=True, help="Random seed, for the same data every time.")
def load_demo(subscribers: int, seed: int) -> None:
    """Fill an empty database with demo content in German."""
    try:
        result = loader.load_demo(db.session, subscribers=subscribers, seed=seed)
        db.session.commit()
    except loader.DemoError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Demo loaded: {result.newsletters} newsletters, {result.articles} articles, "
        f"{result.subscribers} subscribers, {result.donations} donations."
    )
    click.echo("Staff accounts (these passwords are shown only now):")
    for email, role, password in result.staff:
        click.echo(f"  {role:<7} {email}  password: {password}")


@demo_cli.command("status")
def demo_status() -> None:
    """Exit 0 when demo data (or any newsletter) is in the database, 1 when it is empty."""
    if not loader.is_loaded(db.session):
        click.echo("The database has no newsletters yet.")
        raise SystemExit(1)
    click.echo("Demo data is loaded.")
