"""What the editor sees before a send starts: the newsletters, the exact number of readers (the ledger's
own eligibility query, counted) and warnings that do not block the send: no test send of this issue yet,
a donation ask while donations are not set up, HTML that Gmail will clip. Plain function; reads only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from newsletter.editorial import issues
from newsletter.editorial.models import Issue
from newsletter.mail.rendering import GMAIL_CLIP_BYTES, RenderError
from newsletter.platform.audit import AuditEntry
from newsletter.sending.ledger import count_recipients_by_locale

UNTESTED = _l("No test of this issue was sent. Send one to yourself first to see it as your readers will.")
DONATIONS_OFF = _l(
    "The issue asks readers for a donation, but donations are not set up (no Stripe keys): the button leads "
    "to a page saying that donations open soon."
)


@dataclass(frozen=True)
class SendCheck:
    recipients: int
    newsletters: list[str]
    warnings: list[tuple[str, Any]] = field(default_factory=list)  # (key for tests and CSS, message)
    # The same readers per language they get the issue in: {"de": 812, "en": 40}.
    by_locale: dict[str, int] = field(default_factory=dict)
    segment: str | None = None  # the segment's name when the issue goes to a segment only


def tested(session: Session, issue: Issue) -> bool:
    """Whether a test of this issue was sent: every test send writes an ``issue.test_send`` audit entry
    in the transaction that queues it, so the audit log is the record (kept for AUDIT_RETENTION_DAYS)."""
    return bool(
        session.scalar(
            select(
                exists().where(
                    AuditEntry.action == "issue.test_send",
                    AuditEntry.target_kind == "issue",
                    AuditEntry.target_id == str(issue.id),
                )
            )
        )
    )


def donations_warning(config: Any = None) -> Any:
    """:data:`DONATIONS_OFF` while donations are not set up (no Stripe key), else None."""
    config = config if config is not None else current_app.config
    return None if config.get("STRIPE_SECRET_KEY") else DONATIONS_OFF


def check_send(session: Session, issue: Issue, config: Any, *, locale: str = "de") -> SendCheck:
    warnings: list[tuple[str, Any]] = []
    if not tested(session, issue):
        warnings.append(("untested", UNTESTED))
    # The ask block is in every issue (readers who asked not to be asked get the "no_ask" variant); its
    # button leads to the donate page, which says "Donations open soon" while no Stripe key is set (the
    # same test the donate page makes, payments.settings.stripe_settings).
    if donations_warning(config):
        warnings.append(("donations_off", DONATIONS_OFF))
    try:
        # The default variant: the one most readers get, with the full ask block.
        rendered = issues.render_issue(issue, "default", base_url=config["BASE_URL"], locale=locale,
                                       secret_key=config.get("SECRET_KEY"))  # fmt: skip
    except RenderError as exc:
        warnings.append(("render", _l("The issue cannot be rendered: %(reason)s", reason=str(exc))))
    else:
        size = issues.html_size(rendered.html)
        if size > GMAIL_CLIP_BYTES:
            warnings.append(("clipped", _l(
                "The issue's HTML is %(size)s KB; Gmail shows only the first %(limit)s KB and hides the rest "
                "behind \"[Message clipped]\", including the unsubscribe link.",
                size=size // 1024, limit=GMAIL_CLIP_BYTES // 1024)))  # fmt: skip
    by_locale = count_recipients_by_locale(session, issue, config=config)
    segment = issue.segment.name if issue.segment is not None else None
    names = [n.name for n in issue.newsletters]
    return SendCheck(sum(by_locale.values()), names, warnings, by_locale, segment)
