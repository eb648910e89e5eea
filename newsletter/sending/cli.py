"""``flask --app app newsletter send|pause|resume|cancel|sweep-sends|build-digests|bounces poll``."""

from __future__ import annotations

import time

import click
from flask import current_app
from flask.cli import AppGroup

from db import db
from newsletter.editorial.models import Issue
from newsletter.mail import mailbox
from newsletter.platform.cli import newsletter_cli
from newsletter.sending import control, progress
from newsletter.sending import tasks as sending_tasks
from newsletter.sending.ledger import SendError


def _issue_or_fail(issue_id: int):
    issue = db.session.get(Issue, issue_id)
    if issue is None:
        raise click.ClickException(f"there is no issue {issue_id}")
    return issue


def _watch(issue_id: int) -> dict:
    """A progress bar over the ledger until no row is open (or the send is paused or cancelled)."""
    counts = progress.progress(db.session, issue_id)

    def info(_item) -> str:
        eta = counts["eta_seconds"]
        left = "?" if eta is None else f"{eta // 60}:{eta % 60:02d}"
        return f"{counts['rate']:.1f}/s, {left} left"

    bar_options = {"label": "Sending", "show_pos": True, "item_show_func": info}
    with click.progressbar(length=counts["total"], **bar_options) as bar:
        done = 0
        while True:
            db.session.rollback()  # a fresh snapshot each time
            counts = progress.progress(db.session, issue_id)
            finished = counts["total"] - counts["queued"] - counts["sending"]
            bar.update(finished - done, current_item=issue_id)
            done = finished
            state = db.session.get(Issue, issue_id).state.value
            if finished >= counts["total"] or state in ("paused", "cancelled"):
                break
            time.sleep(0.5)
    click.echo(f"state {state}; " + ", ".join(
        f"{key} {value}" for key, value in counts.items()
        if value and key not in ("rate", "eta_seconds", "paused_because")
    ))  # fmt: skip
    if counts["paused_because"]:
        click.echo(counts["paused_because"]["text"])
    return counts


@newsletter_cli.command("send")
@click.argument("issue_id", type=int)
@click.option("--wait", is_flag=True, help="Show a progress bar until every reader is done.")
def send_issue(issue_id: int, wait: bool) -> None:
    """Send ISSUE_ID to its readers (a second call adds nothing)."""
    issue = _issue_or_fail(issue_id)
    try:
        started = control.start_send(db.session, issue, current_app.config)
    except SendError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Issue {issue_id}: {started.added} new recipients, {started.batches} batches queued.")
    if not started.queued:
        click.echo(UNREACHABLE)
    if wait:
        _watch(issue_id)


UNREACHABLE = "The queue is unreachable; the clock's sweep queues the waiting readers once it is back."


def _control(issue_id: int, action: str) -> None:
    issue = _issue_or_fail(issue_id)
    try:
        queued = control.change_send(db.session, issue, action)
    except SendError as exc:
        raise click.ClickException(str(exc)) from None
    if not queued:
        click.echo(UNREACHABLE)
    counts = progress.progress(db.session, issue_id)
    waiting = counts["queued"] + counts["sending"]
    click.echo(
        f"Issue {issue_id} is {db.session.get(Issue, issue_id).state.value}: "
        f"{counts['sent']} sent, {waiting} waiting, {counts['cancelled']} cancelled."
    )


@newsletter_cli.command("pause")
@click.argument("issue_id", type=int)
def pause_issue(issue_id: int) -> None:
    """Pause the send of ISSUE_ID: workers finish the message in hand and take no more."""
    _control(issue_id, "pause")


@newsletter_cli.command("resume")
@click.argument("issue_id", type=int)
def resume_issue(issue_id: int) -> None:
    """Resume a paused send (its waiting rows are queued again)."""
    _control(issue_id, "resume")


@newsletter_cli.command("cancel")
@click.argument("issue_id", type=int)
def cancel_issue(issue_id: int) -> None:
    """Cancel ISSUE_ID: waiting readers get nothing; nothing sent is sent again."""
    _control(issue_id, "cancel")


@newsletter_cli.command("sweep-sends")
def sweep_sends_command() -> None:
    """Run the clock's send sweep once (scheduled issues, rows of dead workers, lost batches)."""
    report = sending_tasks.sweep_sends()
    click.echo(", ".join(f"{key} {value}" for key, value in report.items()))


@newsletter_cli.command("build-digests")
def build_digests_command() -> None:
    """Build every automatic digest whose slot is due now (what the clock does every few seconds)."""
    click.echo(sending_tasks.build_digests())


bounces_cli = AppGroup("bounces", help="Bounce and complaint reports.")
newsletter_cli.add_command(bounces_cli)


@bounces_cli.command("poll")
@click.option("--limit", default=500, show_default=True, help="Messages to read in this run at most.")
def poll_bounces(limit: int) -> None:
    """Read the bounce mailbox (BOUNCE_MAILBOX_URL, and UNSUBSCRIBE_MAILBOX_URL) once: apply each bounce,
    complaint or mailed unsubscribe request, then delete it."""
    try:
        click.echo(sending_tasks.poll_bounce_mailbox(limit=limit))
    except mailbox.MailboxError as exc:
        raise click.ClickException(str(exc)) from None

