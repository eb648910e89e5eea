"""One poll of a mailbox the newsroom gives Beitrag to read (``BOUNCE_MAILBOX_URL``, and
``UNSUBSCRIBE_MAILBOX_URL`` when opt-outs by mail arrive elsewhere). Each message is either an unsubscribe
request sent to the ``List-Unsubscribe`` mailto address (``unsubscribe_mails``) or a report that came back
(``bounces``: a bounce, a complaint, or nothing we act on, such as an auto-reply), whichever mailbox it
was found in, so one mailbox can take both."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from newsletter.mail import mailbox
from newsletter.sending import autopause, bounces, unsubscribe_mails

log = logging.getLogger(__name__)

UNSUBSCRIBED = "unsubscribe"


def _apply(session: Session, raw: bytes, secret_key: str, limits: autopause.Limits | None) -> bounces.Outcome:
    """Apply one message (not committed); what came of it."""
    try:
        request = unsubscribe_mails.read_request(raw)
    except Exception as exc:  # an odd header must not stop the rest: the bounce reader looks at it
        log.warning("mailbox: a message's subject could not be read (%s)", exc)
        request = None
    if request is not None:
        applied = unsubscribe_mails.apply_request(session, request, secret_key=secret_key)
        return bounces.Outcome(applied=applied, kind=UNSUBSCRIBED)
    try:
        report = bounces.read_bounce_message(raw, secret_key)
    except Exception as exc:  # a library fault on one odd message must not stop the rest
        log.warning("bounce mailbox: a message could not be read (%s); deleted", exc)
        report = bounces.unreadable_report(raw)
    return bounces.apply_report(session, report, secret_key=secret_key, via="mailbox", limits=limits)


def process_mailbox(session: Session, target: mailbox.MailboxTarget, *, secret_key: str, limit: int = 500,
                    limits: autopause.Limits | None = None,
                    paused: Callable[[int], object] | None = None) -> tuple[int, dict[str, int]]:  # fmt: skip
    """Apply each message in the mailbox and delete it once its effect is committed (this commits,
    message by message). A message no detector can read is deleted too, with a warning, so that it cannot
    block the mailbox for good. Returns how many messages were handled, and how many of each kind
    (``unsubscribe`` for a reader who left by mail, ``ignored`` for a message that changed nothing).
    A complaint or hard bounce may pause its issue's send (``autopause``, with ``limits``): ``paused`` is
    then called with the issue's id after the commit, to tell the workers."""
    counts: dict[str, int] = {}

    def handle(raw: bytes) -> None:
        try:
            outcome = _apply(session, raw, secret_key, limits)
            session.commit()
        except Exception:
            session.rollback()
            raise
        if outcome.paused_issue is not None and paused is not None:
            paused(outcome.paused_issue)
        kind = (outcome.kind or "ignored") if outcome.applied else "ignored"
        counts[kind] = counts.get(kind, 0) + 1

    return mailbox.process(target, handle, limit=limit), counts
