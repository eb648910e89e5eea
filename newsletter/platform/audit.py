"""The audit log: who did what, when and from where. One row per action, written by :func:`record` into the
caller's session, so that it is committed with the action it records or rolled back with it.

Rows are only ever inserted. The one path that removes any is :func:`purge_expired`, which deletes the rows
older than ``AUDIT_RETENTION_DAYS``; on PostgreSQL a trigger refuses every other UPDATE and DELETE (and
SQLite refuses UPDATE), see migration ``0023_audit``. Readers are named by their id only, never by address,
so that an erasure leaves no trace of the address here.

Every action has a name in :data:`ACTIONS`; :func:`record` refuses a name that is not listed there, so the
list (and the README's) is the whole vocabulary. Names read ``<object>.<verb>``.
"""

from __future__ import annotations

import getpass
import socket
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import JSON, BigInteger, Index, Integer, String, delete, event, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from db import Base, utcnow

# Actors that are not a staff account.
CLI = "cli"  # a command on the server (flask --app app ...)
SYSTEM = "system"  # the clock or a worker on its own (a scheduled send firing, the purge)
READER = "reader"  # a reader through their own signed link (preference center)
ANONYMOUS = "anonymous"  # a request nobody is signed in for (a failed sign-in)
OTHER_ACTORS = (CLI, SYSTEM, READER, ANONYMOUS)

ACTIONS: dict[str, Any] = {
    # sending (newsletter.sending.control, the issue page, the CLI, the clock)
    "issue.send": _l("Send started"),
    "issue.schedule": _l("Send scheduled"),
    "issue.unschedule": _l("Schedule removed"),
    "issue.schedule_failed": _l("Scheduled send refused, back to draft"),
    "issue.pause": _l("Send paused"),
    "issue.auto_pause": _l("Send paused automatically (complaint or bounce rate)"),
    "issue.resume": _l("Send resumed"),
    "issue.cancel": _l("Send cancelled"),
    "issue.test_send": _l("Test send"),
    "test_reader.add": _l("Test address added"),
    "test_reader.remove": _l("Test address removed"),
    "issue.archive": _l("Shown in or taken out of the public archive"),
    "issue.duplicate": _l("Issue duplicated"),
    # readers (staff pages, preference center)
    "reader.add": _l("Reader added"),
    "reader.update": _l("Reader changed"),
    "reader.unsubscribe": _l("Reader unsubscribed by staff"),
    "reader.erase": _l("Reader erased"),
    "segment.save": _l("Segment saved"),
    "segment.delete": _l("Segment deleted"),
    "reader.export_data": _l("Reader downloaded their data"),
    "readers.export": _l("Readers exported (CSV)"),
    "import.upload": _l("Import file uploaded"),
    "import.start": _l("Import started"),
    "import.delete": _l("Import deleted"),
    "import.download_report": _l("Import report downloaded"),
    # settings staff change in the browser
    "newsletter.create": _l("Newsletter created"),
    "newsletter.update": _l("Newsletter changed"),
    "newsletter.welcome": _l("Welcome mail changed"),
    "newsletter.welcome_test": _l("Welcome mail test send"),
    "feed.create": _l("Feed added"),
    "feed.import": _l("Feed import started"),
    "feed.update": _l("Feed changed"),
    "feed.pause": _l("Feed paused"),
    "feed.resume": _l("Feed resumed"),
    "feed.delete": _l("Feed removed"),
    "digest.create": _l("Digest created"),
    "digest.update": _l("Digest changed"),
    "digest.build": _l("Digest issue built"),
    "digest.skip": _l("Digest run skipped"),
    "digest.hold": _l("Digest run held as a draft"),
    "digest.release": _l("Digest run skip or hold taken back"),
    # gifts by bank transfer (payments.transfers)
    "bank.import_record": _l("Bank export recorded"),
    "bank.assign": _l("Bank transfer assigned"),
    "bank.set_aside": _l("Bank transfer set aside"),
    "bank.by_hand": _l("Bank transfer recorded by hand"),
    # statistics
    "stats.export": _l("Statistics exported (CSV)"),
    # staff accounts and API tokens
    "staff.sign_in": _l("Signed in"),
    "staff.sign_in_failed": _l("Sign-in failed"),
    "staff.create": _l("Staff account created"),
    "staff.set_password": _l("Password set"),
    "staff.deactivate": _l("Staff account deactivated"),
    "staff.set_role": _l("Role changed"),
    "staff.reactivate": _l("Staff account reactivated"),
    "staff.invite": _l("Staff member invited"),
    "staff.invite_withdraw": _l("Invitation withdrawn"),
    "staff.join": _l("Invitation accepted"),
    "staff.password_link": _l("Password link sent"),
    "staff.2fa_on": _l("Two-factor sign-in turned on"),
    "staff.2fa_off": _l("Two-factor sign-in turned off"),
    "staff.recovery_codes": _l("New recovery codes made"),
    "staff.reset_2fa": _l("Two-factor sign-in reset"),
    "settings.require_2fa": _l("Two-factor sign-in required or left to each member"),
    "staff.sign_out_everywhere": _l("Signed out everywhere"),
    "staff.end_session": _l("Session ended"),
    "token.create": _l("API token made"),
    "token.revoke": _l("API token revoked"),
    # the audit log itself
    "audit.export": _l("Audit log exported (CSV)"),
    "audit.purge": _l("Old audit entries removed"),
}

# What a target of each table is called in the log (``<kind>:<id>``).
_TARGET_KINDS = {
    "issues": "issue",
    "subscribers": "reader",
    "subscriber_imports": "import",
    "newsletters": "newsletter",
    "feeds": "feed",
    "staff_users": "staff",
    "staff_api_tokens": "token",
    "staff_invitations": "invitation",
    "test_readers": "test_reader",
}


class AuditEntry(Base):
    """One action. ``actor`` is the staff member's address at the time, or one of :data:`OTHER_ACTORS`;
    ``actor_id`` the staff account's id. No foreign keys: an entry outlives what it names, and a
    cascading delete or ``SET NULL`` would be exactly the change this table refuses."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_action_id", "action", "id"),
        Index("ix_audit_log_actor_id_id", "actor_id", "id"),
        Index("ix_audit_log_target_kind_target_id_id", "target_kind", "target_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(320))
    actor_id: Mapped[int | None]
    action: Mapped[str] = mapped_column(String(64))
    target_kind: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(100))  # client IP, or user@host on the server
    detail: Mapped[dict] = mapped_column(JSON, default=dict)

    @property
    def target(self) -> str:
        if self.target_kind is None:
            return ""
        return self.target_kind if self.target_id is None else f"{self.target_kind}:{self.target_id}"


def _refuse_change(_mapper, _connection, entry: AuditEntry) -> None:
    raise RuntimeError(f"audit entry {entry.id} is append-only: it cannot be changed or deleted")


# The same rule the database enforces, met earlier and on both databases for changes through the ORM.
event.listen(AuditEntry, "before_update", _refuse_change)
event.listen(AuditEntry, "before_delete", _refuse_change)


def _server_address() -> str:
    """``user@host`` of a command or job on the server: where it came from, as a client address would."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        user = "?"
    return f"{user}@{socket.gethostname()}"[:100]


def _actor_now() -> tuple[str, int | None]:
    if not has_request_context():
        return CLI, None
    if current_user and current_user.is_authenticated:
        return current_user.email, current_user.id
    return ANONYMOUS, None


def _target(session: Session, target: Any) -> tuple[str | None, str | None]:
    if target is None:
        return None, None
    if isinstance(target, str):
        kind, _sep, ident = target.partition(":")
        return kind, ident or None
    if isinstance(target, tuple):
        kind, ident = target
        return kind, None if ident is None else str(ident)
    table = getattr(target, "__tablename__", None)
    if table is None:
        raise TypeError(f"cannot name {target!r} as an audit target")
    if target.id is None:
        session.flush()
    return _TARGET_KINDS.get(table, table), str(target.id)


def record(
    session: Session, action: str, *, actor: Any = None, target: Any = None,
    detail: Mapping[str, Any] | None = None,
) -> AuditEntry:  # fmt: skip
    """Add one entry for ``action`` (a name in :data:`ACTIONS`) to ``session``; the caller commits it with
    the action, or rolls both back.

    ``actor``: None for whoever acts now (the signed-in staff member of the request, ``anonymous`` in a
    request without one, ``cli`` outside any request), a staff account (anything with ``id`` and
    ``email``), or one of :data:`OTHER_ACTORS`. ``target``: a row (its table names the kind), a
    ``(kind, id)`` pair, ``"kind:id"`` or ``"kind"``. ``detail``: a small JSON-able mapping; never a
    reader's address or a secret. The address is the request's client address (behind
    ``TRUSTED_PROXIES``), none for a reader's own action, ``user@host`` outside a request."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; add it to newsletter.platform.audit.ACTIONS")
    if actor is None:
        label, actor_id = _actor_now()
    elif isinstance(actor, str):
        if actor not in OTHER_ACTORS:
            raise ValueError(f"unknown actor {actor!r}; pass a staff account or one of {OTHER_ACTORS}")
        label, actor_id = actor, None
    else:
        label, actor_id = actor.email, actor.id
    if label == READER:
        address = None
    elif has_request_context():
        address = (request.remote_addr or "")[:100] or None
    else:
        address = _server_address()
    kind, ident = _target(session, target)
    entry = AuditEntry(at=utcnow(), actor=label[:320], actor_id=actor_id, action=action,
                       target_kind=kind, target_id=ident, address=address,
                       detail=dict(detail or {}))  # fmt: skip
    session.add(entry)
    return entry


# -- the retention purge: the one delete path ------------------------------------------------------------

MIN_RETENTION = timedelta(days=1)  # the trigger refuses a purge of anything younger


def purge_expired(
    session: Session, *, retention_days: int, now: datetime | None = None, batch: int = 5000,
    actor: Any = None,
) -> int:  # fmt: skip
    """Delete the entries older than ``retention_days`` (0: keep everything), ``batch`` rows per
    transaction, and record how many went as one ``audit.purge`` entry. Commits. Returns the count.

    On PostgreSQL each transaction first names its cutoff in ``beitrag.audit_purge_before`` (a setting
    local to the transaction); the table's trigger lets a DELETE through only for rows older than that
    cutoff, and only when the cutoff itself lies a day or more in the past."""
    if retention_days <= 0:
        return 0
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    postgres = session.get_bind().dialect.name == "postgresql"
    removed = 0
    while True:
        if postgres:
            session.execute(text("SELECT set_config('beitrag.audit_purge_before', :cutoff, true)"),
                            {"cutoff": cutoff.isoformat()})  # fmt: skip
        oldest = select(AuditEntry.id).where(AuditEntry.at < cutoff).order_by(AuditEntry.id).limit(batch)
        result = session.execute(
            delete(AuditEntry).where(AuditEntry.id.in_(oldest)).execution_options(synchronize_session=False)
        )
        count = result.rowcount or 0
        removed += count
        if count < batch:
            break
        session.commit()
    if removed:
        record(session, "audit.purge", actor=actor, target="audit",
               detail={"removed": removed, "before": cutoff.isoformat()})  # fmt: skip
    session.commit()
    return removed
