"""The command groups the packages add their commands to (``flask --app app newsletter ...`` and
``flask --app app dev ...``), and the process commands: worker, clock and the development stack."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from newsletter.platform import clock, devserver, worker
from newsletter.platform.queues import QUEUE_NAMES

newsletter_cli = AppGroup("newsletter", help="Workers, sending and the readers' upkeep.")
dev_cli = AppGroup("dev", help="The development stack behind `make run`.")


@newsletter_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option(
    "--queue", "queue_names", multiple=True, type=click.Choice(QUEUE_NAMES),
    help="Queues to work, in priority order (default: all).",
)  # fmt: skip
def worker_command(burst: bool, queue_names: tuple[str, ...]) -> None:
    """Run an RQ worker with its scheduler, inside the app context."""
    worker.run_worker(current_app._get_current_object(), queue_names or QUEUE_NAMES, burst=burst)


@newsletter_cli.command("clock")
def clock_command() -> None:
    """Put the periodic jobs on their queues (the outbox sweeps every 2 s, the send sweep, the bounce
    mailbox, expiry of unconfirmed sign-ups) until stopped; the workers run them."""
    clock.run(current_app._get_current_object())


@dev_cli.command("run")
@click.option("--port", default=5000, envvar="PORT", show_default=True)
@with_appcontext
def run_stack(port: int) -> None:
    """Web server, worker, clock and mail capture together; Ctrl-C stops all of them."""
    raise SystemExit(devserver.run(current_app._get_current_object(), port))


def init_app(app: Flask) -> None:
    for group in (newsletter_cli, dev_cli):
        app.cli.add_command(group)
