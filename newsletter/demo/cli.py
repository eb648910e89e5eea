"""``flask --app app demo load|status``."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from db import db
from newsletter.demo import loader
from newsletter.platform import devserver

demo_cli = AppGroup("demo", help="Demo content for trying Beitrag out.")


def write_passwords(path: Path, staff: list[tuple[str, str, str]]) -> None:
    """The staff passwords ``demo load`` made, readable by this user only (mode 0600): ``make run``'s
    banner shows them again after the processes' start-up output."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)  # created anew, so the mode below holds whatever was there
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        for email, role, password in staff:
            fh.write(f"{role:<7} {email}  password: {password}\n")


@demo_cli.command("load")
@click.option("--subscribers", default=3000, show_default=True, help="How many demo readers to create.")
@click.option("--seed", default=2026, show_default=True, help="Random seed, for the same data every time.")
def load_demo(subscribers: int, seed: int) -> None:
    """Fill an empty database with demo content in German."""
    config = current_app.config
    try:
        result = loader.load_demo(db.session, subscribers=subscribers, seed=seed, sender=config["MAIL_FROM"],
                                  zone=config["BABEL_DEFAULT_TIMEZONE"])  # fmt: skip
        db.session.commit()
    except loader.DemoError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    path = devserver.demo_passwords_path(current_app.instance_path)
    write_passwords(path, result.staff)
    click.echo(
        f"Demo loaded: {result.newsletters} newsletters, {result.articles} articles, "
        f"{result.subscribers} subscribers, {result.donations} donations."
    )
    click.echo(f"Staff accounts (the passwords are also in {path}, readable only by you):")
    for email, role, password in result.staff:
        click.echo(f"  {role:<7} {email}  password: {password}")


@demo_cli.command("status")
def demo_status() -> None:
    """Exit 0 when demo data (or any newsletter) is in the database, 1 when it is empty."""
    if not loader.is_loaded(db.session):
        click.echo("The database has no newsletters yet.")
        raise SystemExit(1)
    click.echo("Demo data is loaded.")
