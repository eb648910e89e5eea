"""An editor's test send of an issue: the message a reader of the chosen variant and language gets, made by
the send path's own assembly (:func:`slots.skeleton_for`, :class:`slots.RecipientSlots`,
:func:`slots.reader_message`) and handed to the same relay, so that what arrives carries every header a
reader's copy carries (List-Unsubscribe with its https and mailto addresses, List-Unsubscribe-Post,
List-Id, Feedback-ID, Message-ID, the DKIM signature, the counted links once the issue's send numbered
them).

It differs from a reader's copy in three things only: the ``X-Beitrag-Test: 1`` header, the recipient's
own values (To, Date, Message-ID), and the token in its unsubscribe and settings links, which names no
reader: the pages behind it answer as for a reader and change nothing (``links.test_reader_token``). The
subject stays the reader's: a "[Test]" in front would be a different subject line than readers see (and a
different length on a phone); the header marks it for filters.

The envelope sender is the issue's sender address, not a signed bounce address: a test's bounce names no
row of the ledger and must not suppress anyone."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from newsletter.editorial.models import Issue
from newsletter.mail import mime, smtp
from newsletter.sending.batches import SendContext
from newsletter.sending.slots import RecipientSlots, header_address, reader_message, skeleton_for


def send_test(
    session: Session, issue_id: int, recipients: Sequence[str], variant: str, locale: str,
    context: SendContext,
) -> dict[str, str]:  # fmt: skip
    """Send the test to each of ``recipients`` (the caller checked how many); what the relay said, per
    address. Nothing is tried again: the editor sees what arrived and sends another test."""
    issue = session.get(Issue, issue_id)
    if issue is None:
        return {}
    skeleton = skeleton_for(issue, variant, context.base_url, context.secret_key, locale=locale)
    slots = RecipientSlots(
        base_url=context.base_url, secret_key=context.secret_key,
        unsubscribe_mailbox=context.unsubscribe_mailbox, issue_id=issue.id,
        domain=mime.sender_domain(issue.sender_address),
    )  # fmt: skip
    sender = issue.sender_address
    session.commit()  # no transaction stays open while messages go out
    outcome: dict[str, str] = {}
    with smtp.Relay(context.smtp) as relay:
        for address in recipients:
            to = header_address(address)
            if to is None:
                outcome[address] = "not sent: the address needs SMTPUTF8"
                continue
            try:
                message = reader_message(skeleton, slots.for_test_reader(to, locale), context.dkim, test=True)
                outcome[address] = relay.send(sender, to, message, smtp_safe=True)
            except mime.HeaderInjection as exc:
                outcome[address] = f"not sent: {exc}"
            except smtp.DeliveryError as exc:
                outcome[address] = f"refused: {exc}"
    return outcome
