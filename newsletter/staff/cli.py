"""``flask --app app users ...``, ``flask --app app newsletter token ...`` and ``flask --app app newsletter
purge-audit-log``: staff accounts, API tokens and the audit log's retention. Each change is recorded in the
audit log with the actor ``cli`` and the server's ``user@host``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from db import db
from newsletter.platform import audit
from newsletter.platform.access import StaffRole
from newsletter.platform.cli import newsletter_cli
from newsletter.staff import accounts, sessions, tasks, two_factor
from newsletter.staff.models import StaffUser

users_cli = AppGroup("users", help="Staff accounts.")


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
    """Give EMAIL a new password; every session of that account ends and its API tokens are revoked."""
    user = _staff_or_fail(email)
    try:
        accounts.set_staff_password(db.session, user, password)
        db.session.commit()
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"New password set for {user.email}; its sessions are signed out and its API tokens revoked.")


@users_cli.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice([r.value for r in StaffRole]))
def set_role(email: str, role: str) -> None:
    """Give EMAIL the ROLE editor or admin; the account's API tokens are revoked. The last active admin
    stays admin."""
    user = _staff_or_fail(email)
    try:
        changed = accounts.set_staff_role(db.session, user, role)
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc}; make another account admin first") from None
    if not changed:
        click.echo(f"{user.email} is {role} already.")
        return
    db.session.commit()
    click.echo(f"{user.email} is now {role}; its API tokens are revoked.")


@users_cli.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Lock EMAIL out at once: its sessions end and its API tokens are revoked (the account and its
    history stay). The last active admin stays."""
    user = _staff_or_fail(email)
    try:
        changed = accounts.deactivate_staff_user(db.session, user)
    except accounts.AccountError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc}; make another account admin first") from None
    if changed:
        db.session.commit()
        click.echo(f"{user.email} is deactivated.")
    else:
        click.echo(f"{user.email} was deactivated already.")


@users_cli.command("reactivate")
@click.argument("email")
def reactivate(email: str) -> None:
    """Let EMAIL sign in again with its password."""
    user = _staff_or_fail(email)
    accounts.reactivate_staff_user(db.session, user)
    db.session.commit()
    click.echo(f"{user.email} can sign in again.")


@users_cli.command("reset-2fa")
@click.argument("email")
def reset_two_factor(email: str) -> None:
    """Turn off two-factor sign-in of EMAIL (a lost phone and lost recovery codes); every session ends.
    Where the newsroom requires it, the member sets it up again at the next sign-in."""
    user = _staff_or_fail(email)
    two_factor.turn_off(db.session, user)
    sessions.end_sessions(db.session, user, reason=sessions.EndReason.TWO_FACTOR)
    audit.record(db.session, "staff.reset_2fa", target=user, detail={"email": user.email})
    db.session.commit()
    click.echo(f"Two-factor sign-in of {user.email} is off; existing sessions are signed out.")


@users_cli.command("list")
def list_users() -> None:
    """List staff users: id, role, state, two-factor sign-in, address."""
    for user in db.session.scalars(select(StaffUser).order_by(StaffUser.id)):
        state = "active" if user.active else "deactivated"
        second = "2fa" if user.two_factor_enabled else "-"
        click.echo(f"{user.id:>4}  {user.role.value:<7} {state:<11} {second:<4} {user.email}")


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
    """Every token: id, user, name, first characters, state, last use."""
    for row in accounts.api_tokens(db.session):
        state = f"revoked ({row.revoked_because or 'revoked'})" if row.revoked_at else "active"
        used = f"last used {row.last_used_at:%Y-%m-%d %H:%M} UTC" if row.last_used_at else "never used"
        click.echo(f"{row.id}\t{row.staff_user.email}\t{row.name}\t{row.hint}…\t{state}\t{used}")


@newsletter_cli.command("purge-audit-log")
def purge_audit_log() -> None:
    """Remove audit entries older than AUDIT_RETENTION_DAYS (the clock does this every hour)."""
    removed = tasks.purge_audit_log(actor=None)
    days = current_app.config["AUDIT_RETENTION_DAYS"]
    click.echo(f"{removed} audit entries older than {days} days removed." if days else
               "AUDIT_RETENTION_DAYS is 0: every audit entry is kept.")  # fmt: skip
