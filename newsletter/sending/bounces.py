"""Bounces and complaints: what a report that comes back does to the ledger and the reader. The report
names the message by its signed bounce address (``mail.return_paths``); applying a report is idempotent:
each one is remembered under its own id (``BounceEvent``).

* hard bounce (5.x.x, SES ``Permanent``): the ledger row becomes ``bounced``, the reader ``bounced`` and
  the address suppressed;
* complaint (an ARF ``abuse`` report, SES ``Complaint``): the row ``bounced``, the reader ``complained``,
  the address suppressed;
* soft bounce (4.x.x, SES ``Transient``): counted on the reader (``soft_bounces``), nothing else.

Plain functions; the caller commits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses

from flufl.bounce import all_failures
from sqlalchemy.orm import Session

from newsletter.mail.return_paths import BounceAddress, read_return_path, vouches_for
from newsletter.readers import addresses, subscribers
from newsletter.readers.models import Subscriber, SubscriberStatus, SuppressionReason
from newsletter.sending import autopause
from newsletter.sending.models import BounceEvent, Delivery, DeliveryStatus
from newsletter.sending.tallies import count_bounce

HARD, SOFT, COMPLAINT = "hard", "soft", "complaint"


@dataclass
class Report:
    """What one bounce message or ESP event says: its own id, the kind, and whom it is about."""

    key: str
    kind: str | None  # HARD, SOFT, COMPLAINT or None (nothing we act on: an auto-reply, a delay warning)
    address: BounceAddress | None
    recipients: list[str] = field(default_factory=list)
    detail: str = ""


@dataclass
class Outcome:
    applied: bool  # False: seen before, or not ours
    kind: str | None = None
    suppressed: list[str] = field(default_factory=list)
    counted: list[str] = field(default_factory=list)
    paused_issue: int | None = None  # the report's issue was paused by ``autopause``: signal the workers


def remember(session: Session, key: str, kind: str, delivery_id: int | None) -> bool:
    """Store the report's (or a mailed unsubscribe request's) id; False when it was stored before (a
    replay)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stored = session.execute(
        insert(BounceEvent)
        .values(key=key[:250], kind=kind, delivery_id=delivery_id)
        .on_conflict_do_nothing()
        .returning(BounceEvent.key)
    ).first()
    return stored is not None


def apply_report(session: Session, report: Report, *, secret_key: str, via: str,
                 trust_recipients: bool = False,
                 limits: autopause.Limits | None = None) -> Outcome:  # fmt: skip
    """Apply a report once. A newsletter bounce acts on the ledger row's reader; a transactional one on
    each reported recipient whose address the bounce address vouches for; nothing else is touched.
    ``trust_recipients`` (a report whose sender is authenticated, such as a signed SNS message) acts on
    the reported recipients when the report names no bounce address of ours. A complaint or hard bounce
    on a send in progress may pause it (``autopause``, with ``limits``; the defaults without)."""
    address = report.address
    if address is None and trust_recipients and report.kind is not None:
        if not remember(session, report.key, report.kind, None):
            return Outcome(applied=False, kind=report.kind)
        found = [subscribers.find_subscriber(session, r) for r in report.recipients]
        return _apply(session, report, None, [r for r in found if r is not None], via=via)
    if address is None or report.kind is None:
        remember(session, report.key, "ignored", None)
        return Outcome(applied=False)
    readers: list[Subscriber] = []
    delivery: Delivery | None = None
    if address.delivery_id is not None:
        delivery = session.get(Delivery, address.delivery_id)
        if delivery is None or delivery.issue_id != address.issue_id:
            remember(session, report.key, "ignored", None)
            return Outcome(applied=False)
        reader = session.get(Subscriber, delivery.subscriber_id) if delivery.subscriber_id else None
        readers = [reader] if reader is not None else []
    else:
        for recipient in report.recipients:
            if vouches_for(secret_key, address, recipient):
                reader = subscribers.find_subscriber(session, recipient)
                if reader is not None:
                    readers.append(reader)
    if not remember(session, report.key, report.kind, address.delivery_id):
        return Outcome(applied=False, kind=report.kind)
    return _apply(session, report, delivery, readers, via=via, limits=limits)


def _apply(session: Session, report: Report, delivery: Delivery | None, readers: list[Subscriber], *,
           via: str, limits: autopause.Limits | None = None) -> Outcome:  # fmt: skip

    outcome = Outcome(applied=True, kind=report.kind)
    if report.kind == SOFT:
        for reader in readers:
            reader.soft_bounces = (reader.soft_bounces or 0) + 1
            subscribers.record_event(session, reader, "soft_bounce", via=via, detail=report.detail[:200])
            outcome.counted.append(reader.email)
        return outcome
    if delivery is not None and delivery.status in (DeliveryStatus.SENT, DeliveryStatus.UNCERTAIN):
        count_bounce(session, delivery, delivery.status)  # the issue's statistics, in this transaction
        delivery.status = DeliveryStatus.BOUNCED
        delivery.reply = (f"{report.kind}: {report.detail}")[:300]
    complaint = report.kind == COMPLAINT
    reason = SuppressionReason.COMPLAINED if complaint else SuppressionReason.BOUNCED
    for reader in readers:
        addresses.suppress(session, reader.email, reason)
        if reader.status in (SubscriberStatus.ACTIVE, SubscriberStatus.PENDING) or (
            complaint and reader.status is SubscriberStatus.BOUNCED
        ):
            reader.status = SubscriberStatus.COMPLAINED if complaint else SubscriberStatus.BOUNCED
        subscribers.record_event(session, reader, "complained" if complaint else "bounced", via=via,
                                 detail=report.detail[:200])  # fmt: skip
        outcome.suppressed.append(reader.email)
    if delivery is not None and delivery.status is DeliveryStatus.BOUNCED:
        session.flush()
        if autopause.check(session, delivery.issue_id, report.kind, limits or autopause.Limits()):
            outcome.paused_issue = delivery.issue_id
    return outcome


_PARSER = BytesParser(policy=policy.compat32)
_ADDRESS_HEADERS = ("X-Original-To", "Delivered-To", "Envelope-To", "To", "Return-Path")


def _feedback_report(message: Message) -> Message | None:
    if message.get_content_type() != "multipart/report":
        return None
    if (message.get_param("report-type") or "").lower() != "feedback-report":
        return None
    for part in message.walk():
        if part.get_content_type() == "message/feedback-report":
            return part
    return None


def _texts(message: Message) -> list[str]:
    """Where a bounce address may stand: the envelope headers the receiving mailbox added, the ARF
    report's Original-Mail-From, and the returned original message's own headers."""
    found = [str(v) for name in _ADDRESS_HEADERS for v in message.get_all(name, [])]
    for part in message.walk():
        content_type = part.get_content_type()
        if content_type in ("message/rfc822", "text/rfc822-headers", "message/feedback-report",
                            "message/delivery-status"):  # fmt: skip
            payload = part.get_payload()
            if isinstance(payload, list):
                for inner in payload:
                    found.extend(str(v) for name in ("Return-Path", *_ADDRESS_HEADERS)
                                 for v in inner.get_all(name, []))  # fmt: skip
                    found.append(inner.as_string()[:20000])
            elif isinstance(payload, str):
                found.append(payload[:20000])
    return found


def unreadable_report(raw: bytes) -> Report:
    """A message that could not be parsed: remembered as ignored, so that it is deleted once."""
    return Report("mail:" + hashlib.sha256(raw).hexdigest(), None, None, [], detail="unreadable")


def read_bounce_message(raw: bytes, secret_key: str) -> Report:
    """Classify one message from the bounce mailbox: an ARF feedback report is a complaint; otherwise
    flufl.bounce's detectors (RFC 3464 DSNs and the common non-standard formats) tell permanent from
    temporary failures."""
    message = _PARSER.parsebytes(raw)
    message_id = (message.get("Message-ID") or "").strip()
    key = "mail:" + (message_id[:200] if message_id else hashlib.sha256(raw).hexdigest())
    address = None
    for text in _texts(message):
        address = read_return_path(secret_key, text)
        if address is not None:
            break
    feedback = _feedback_report(message)
    if feedback is not None:
        fields: dict[str, str] = {}
        payload = feedback.get_payload()
        if isinstance(payload, list):
            for inner in payload:
                fields.update({k.lower(): str(v) for k, v in inner.items()})
        else:
            fields.update({k.lower(): str(v) for k, v in _PARSER.parsestr(str(payload)).items()})
        recipients = [a for _, a in getaddresses([fields.get("original-rcpt-to", "")]) if a]
        kind = COMPLAINT if fields.get("feedback-type", "abuse").strip().lower() != "not-spam" else None
        detail = f"feedback report: {fields.get('feedback-type')}"
        return Report(key, kind, address, recipients, detail=detail)
    temporary, permanent = all_failures(message)
    decode = [a.decode("utf-8", "replace") if isinstance(a, bytes) else str(a)
              for a in (*permanent, *temporary)]  # fmt: skip
    subject = str(message.get("Subject") or "")[:200]
    if permanent:
        return Report(key, HARD, address, decode, detail=subject)
    if temporary:
        return Report(key, SOFT, address, decode, detail=subject)
    return Report(key, None, address, [], detail="not a bounce")


def read_ses_event(event: dict, message_id: str, secret_key: str) -> Report:
    """An SES notification (``notificationType``) or event-publishing record (``eventType``)."""
    kind_name = str(event.get("notificationType") or event.get("eventType") or "")
    mail = event.get("mail") if isinstance(event.get("mail"), dict) else {}
    address = read_return_path(secret_key, str(mail.get("source") or ""))
    if address is None:  # the Return-Path header SES kept, when the event carries headers
        for header in mail.get("headers") or []:
            if isinstance(header, dict) and str(header.get("name", "")).lower() == "return-path":
                address = read_return_path(secret_key, str(header.get("value") or ""))
    key = f"sns:{message_id}"
    if kind_name == "Bounce":
        bounce = event.get("bounce") if isinstance(event.get("bounce"), dict) else {}
        recipients = [str(r.get("emailAddress", "")) for r in bounce.get("bouncedRecipients") or []
                      if isinstance(r, dict)]  # fmt: skip
        bounce_type = str(bounce.get("bounceType") or "")
        kind = HARD if bounce_type == "Permanent" else SOFT if bounce_type == "Transient" else None
        detail = f"SES {bounce_type} {bounce.get('bounceSubType') or ''}".strip()
        return Report(key, kind, address, recipients, detail=detail)
    if kind_name == "Complaint":
        complaint = event.get("complaint") if isinstance(event.get("complaint"), dict) else {}
        recipients = [str(r.get("emailAddress", "")) for r in complaint.get("complainedRecipients") or []
                      if isinstance(r, dict)]  # fmt: skip
        if str(complaint.get("complaintFeedbackType") or "") == "not-spam":
            return Report(key, None, address, recipients, detail="SES not-spam")
        return Report(key, COMPLAINT, address, recipients, detail="SES complaint")
    return Report(key, None, address, [], detail=f"SES {kind_name or 'event'}")
