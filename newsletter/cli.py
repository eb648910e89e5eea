"""Command-line entry points: ``flask --app app users|demo|newsletter|dev ...``. Thin: parse, call, report."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from db import db

from . import accounts, queues
from .models import StaffRole

users_cli = AppGroup("users", help="Staff accounts.")
demo_cli = AppGroup("demo", help="Demo content for trying Beitrag out.")
newsletter_cli = AppGroup("newsletter", help="Workers and sending.")
dev_cli = AppGroup("dev", help="The development stack behind `make run`.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in StaffRole]), default=StaffRole.EDITOR.value)
@click.option("--name", default="", help="Shown in the staff pages.")
@click.password_option(help="Asked for when not given.")
def create_user(email: str, role: str, name: str, password: str) -> None:
    """Create a staff user with EMAIL and ROLE; asks for the password."""
    try:
        user = accounts.create_staff_user(db.session, email, password, role, name=name)
        db.session.commit()
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.role.value} {user.email}.")


def _staff_or_fail(email: str):
    user = accounts.find_staff_user(db.session, email)
    if user is None:
        raise click.ClickException(f"there is no staff user with the address {email}")
    return user


@users_cli.command("set-password")
@click.argument("email")
@click.password_option(help="Asked for when not given.")
def set_password(email: str, password: str) -> None:
    """Give EMAIL a new password; every session of that account ends."""
    user = _staff_or_fail(email)
    try:
        accounts.set_staff_password(db.session, user, password)
        db.session.commit()
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"New password set for {user.email}; existing sessions are signed out.")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Lock EMAIL out at once (the account and its history stay)."""
    user = _staff_or_fail(email)
    user.active = False
    user.session_version += 1
    db.session.commit()
    click.echo(f"{user.email} is deactivated.")


@users_cli.command("list")
def list_users() -> None:
    """List staff users."""
    from sqlalchemy import select

    from .models import StaffUser

    for user in db.session.scalars(select(StaffUser).order_by(StaffUser.id)):
        state = "active" if user.active else "deactivated"
        click.echo(f"{user.id:>4}  {user.role.value:<7} {state:<11} {user.email}")


@demo_cli.command("load")
@click.option("--subscribers", default=3000, show_default=True, help="How many demo readers to create.")
@click.option("--seed", default=2026, show_default=True, help="Random seed, for the same data every time.")
def load_demo(subscribers: int, seed: int) -> None:
    """Fill an empty database with demo content in German."""
    from . import demo

    try:
        result = demo.load_demo(db.session, subscribers=subscribers, seed=seed)
        db.session.commit()
    except demo.DemoError as exc:
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
    from . import demo

    if not demo.is_loaded(db.session):
        click.echo("The database has no newsletters yet.")
        raise SystemExit(1)
    click.echo("Demo data is loaded.")


token_cli = AppGroup("token", help="Staff API tokens (Authorization: Bearer ...) for the statistics API.")
newsletter_cli.add_command(token_cli)


@token_cli.command("create")
@click.argument("email")
@click.option("--name", default="", help="What the token is for, shown in the token list.")
def create_token(email: str, name: str) -> None:
    """Make an API token for the staff user EMAIL; it is printed once and only its hash is kept."""
    user = accounts.find_staff_user(db.session, email)
    if user is None:
        raise click.ClickException(f"no staff user {email}")
    try:
        row, token = accounts.create_api_token(db.session, user, name)
        db.session.commit()
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"Token {row.id} for {user.email} ({user.role.value}); it is shown only now:")
    click.echo(token)


@token_cli.command("revoke")
@click.argument("token_id", type=int)
def revoke_token(token_id: int) -> None:
    """Revoke the token with TOKEN_ID (see ``token list``)."""
    if not accounts.revoke_api_token(db.session, token_id):
        raise click.ClickException(f"no active token {token_id}")
    db.session.commit()
    click.echo(f"Token {token_id} revoked.")


@token_cli.command("list")
def list_tokens() -> None:
    """Every token: id, user, name, first characters, state."""
    for row in accounts.api_tokens(db.session):
        state = "revoked" if row.revoked_at else "active"
        click.echo(f"{row.id}\t{row.staff_user.email}\t{row.name}\t{row.hint}…\t{state}")


@newsletter_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queues are empty.")
@click.option(
    "--queue", "queue_names", multiple=True, type=click.Choice(queues.QUEUE_NAMES),
    help="Queues to work, in priority order (default: all).",
)  # fmt: skip
def worker(burst: bool, queue_names: tuple[str, ...]) -> None:
    """Run an RQ worker with its scheduler, inside the app context."""
    queues.run_worker(current_app._get_current_object(), queue_names or queues.QUEUE_NAMES, burst=burst)


@newsletter_cli.command("clock")
def clock_command() -> None:
    """Put the periodic jobs on their queues (reader-mail sweep every 2 s, expiry of unconfirmed sign-ups
    hourly) until stopped; the workers run them."""
    from . import clock

    clock.run(current_app._get_current_object())


@newsletter_cli.command("sweep-reader-mails")
def sweep_reader_mails_command() -> None:
    """Queue confirmation and preference-link mails that were written while Redis was down (run by cron
    every few minutes, or after an outage)."""
    from . import jobs

    click.echo(f"Queued {jobs.sweep_reader_mails()} reader mails.")


@newsletter_cli.command("expire-pending")
def expire_pending_command() -> None:
    """Delete sign-ups that were not confirmed within 7 days (run by cron daily)."""
    from . import jobs

    click.echo(f"Deleted {jobs.expire_pending_signups()} unconfirmed sign-ups.")


@dev_cli.command("mailcapture")
@with_appcontext
def mailcapture_command() -> None:
    """Run the SMTP capture server that the embedded default SMTP_URL points at."""
    import time

    from . import mailcapture

    port = current_app.config["MAIL_CAPTURE_PORT"]
    controller = mailcapture.serve(current_app.config["MAIL_CAPTURE_DIR"], port=port)
    click.echo(f"Capturing mail on 127.0.0.1:{port} into {current_app.config['MAIL_CAPTURE_DIR']}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@dev_cli.command("run")
@click.option("--port", default=5000, envvar="PORT", show_default=True)
@with_appcontext
def run_stack(port: int) -> None:
    """Web server, worker and mail capture together; Ctrl-C stops all of them."""
    from . import devserver

    raise SystemExit(devserver.run(current_app._get_current_object(), port))


@newsletter_cli.command("schedule-feeds")
def schedule_feeds() -> None:
    """Queue the next scheduled import of every active feed (after Redis was flushed or restored)."""
    from sqlalchemy import select

    from . import jobs
    from .models import Feed

    feeds = db.session.scalars(select(Feed).where(Feed.active.is_(True)).order_by(Feed.id)).all()
    for feed in feeds:
        jobs.schedule_feed(feed.id, feed.interval_minutes)
    click.echo(f"Scheduled {len(feeds)} feeds.")


def init_app(app) -> None:
    for group in (users_cli, demo_cli, newsletter_cli, dev_cli):
        app.cli.add_command(group)


def _issue_or_fail(issue_id: int):
    from .models import Issue

    issue = db.session.get(Issue, issue_id)
    if issue is None:
        raise click.ClickException(f"there is no issue {issue_id}")
    return issue


def _watch(issue_id: int) -> dict:
    """A progress bar over the ledger until no row is open (or the send is paused or cancelled)."""
    import time

    from . import sending
    from .models import Issue

    counts = sending.progress(db.session, issue_id)

    def info(_item) -> str:
        eta = counts["eta_seconds"]
        left = "?" if eta is None else f"{eta // 60}:{eta % 60:02d}"
        return f"{counts['rate']:.1f}/s, {left} left"

    bar_options = {"label": "Sending", "show_pos": True, "item_show_func": info}
    with click.progressbar(length=counts["total"], **bar_options) as bar:
        done = 0
        while True:
            db.session.rollback()  # a fresh snapshot each time
            counts = sending.progress(db.session, issue_id)
            finished = counts["total"] - counts["queued"] - counts["sending"]
            bar.update(finished - done, current_item=issue_id)
            done = finished
            state = db.session.get(Issue, issue_id).state.value
            if finished >= counts["total"] or state in ("paused", "cancelled"):
                break
            time.sleep(0.5)
    click.echo(f"state {state}; " + ", ".join(
        f"{key} {value}" for key, value in counts.items() if value and key not in ("rate", "eta_seconds")
    ))  # fmt: skip
    return counts


@newsletter_cli.command("send")
@click.argument("issue_id", type=int)
@click.option("--wait", is_flag=True, help="Show a progress bar until every reader is done.")
def send_issue(issue_id: int, wait: bool) -> None:
    """Send ISSUE_ID to its readers (a second call adds nothing)."""
    from . import jobs, sending

    issue = _issue_or_fail(issue_id)
    try:
        prepared = sending.prepare_send(db.session, issue, **sending.click_options(current_app.config))
        db.session.commit()
    except sending.SendError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    batches = jobs.enqueue_send(prepared)
    click.echo(f"Issue {issue_id}: {prepared.added} new recipients, {batches} batches queued.")
    if wait:
        _watch(issue_id)


def _control(issue_id: int, action: str) -> None:
    import redis

    from . import jobs, sending

    change, word = {
        "pause": (sending.pause_send, "pause"),
        "resume": (sending.resume_send, None),
        "cancel": (sending.cancel_send, "cancel"),
    }[action]
    issue = _issue_or_fail(issue_id)
    try:
        result = change(db.session, issue)
        db.session.commit()
    except sending.SendError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    jobs.signal_send(issue_id, word)
    if isinstance(result, sending.PreparedSend):
        try:
            jobs.enqueue_send(result)
        except redis.RedisError:
            click.echo("The queue is unreachable; the clock's sweep queues the waiting readers later.")
        sending.finish_if_done(db.session, issue_id)
    counts = sending.progress(db.session, issue_id)
    waiting = counts["queued"] + counts["sending"]
    click.echo(
        f"Issue {issue_id} is {db.session.get(type(issue), issue_id).state.value}: "
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
    from . import jobs

    report = jobs.sweep_sends()
    click.echo(", ".join(f"{key} {value}" for key, value in report.items()))


bounces_cli = AppGroup("bounces", help="Bounce and complaint reports.")
newsletter_cli.add_command(bounces_cli)


@bounces_cli.command("poll")
@click.option("--limit", default=500, show_default=True, help="Messages to read in this run at most.")
def poll_bounces(limit: int) -> None:
    """Read the bounce mailbox (BOUNCE_MAILBOX_URL) once: apply each bounce or complaint, then delete it."""
    from . import jobs, mailbox

    try:
        click.echo(jobs.poll_bounce_mailbox(limit=limit))
    except mailbox.MailboxError as exc:
        raise click.ClickException(str(exc)) from None
