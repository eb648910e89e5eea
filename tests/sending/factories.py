"""An issue with readers to send to, and Send pressed for it (the ledger written, the batch jobs queued)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert

from newsletter.editorial.models import Issue
from newsletter.readers.models import Subscriber, SubscriberStatus, Subscription
from newsletter.sending import control, ledger
from tests.editorial.factories import make_article, make_issue
from tests.readers.factories import make_newsletter, make_reader

THREE_READERS = ("a@example.org", "b@example.org", "c@example.org")


def issue_with_readers(db, readers: Iterable[str] | int = THREE_READERS, **fields) -> Issue:
    """A draft of one article for the newsletter "ki-news", whose active readers are ``readers``: the
    addresses given, or for a number ``leser0@example.org``, ``leser1@example.org`` ... (written in one
    statement each, for the thousands of readers the fault tests send to)."""
    news = make_newsletter(db, is_default=True)
    if isinstance(readers, int):
        rows = [{"email": f"leser{i}@example.org", "status": SubscriberStatus.ACTIVE} for i in range(readers)]
        ids = db.session.scalars(insert(Subscriber).returning(Subscriber.id), rows).all()
        links = [{"subscriber_id": i, "newsletter_id": news.id} for i in ids]
        db.session.execute(insert(Subscription), links)
    else:
        for email in readers:
            make_reader(db, email, newsletters=[news])
    article = make_article(db, "Sprachmodelle erklärt", teaser="Was steckt dahinter?", body="Text")
    return make_issue(db, articles=[article], newsletters=[news], **fields)


def start_send(db, issue: Issue, *, batch_size: int | None = None, **options) -> ledger.PreparedSend:
    """Press Send: the ledger's rows written and committed, then the batch jobs queued, of ``batch_size``
    rows each when given (else the ledger's own batches). ``options`` go to ``ledger.prepare_send``. Nothing
    is sent until a worker runs the jobs."""
    prepared = ledger.prepare_send(db.session, issue, **options)
    db.session.commit()
    if batch_size is not None:
        batches = ledger.batch_ranges(db.session, prepared.issue_id, batch_size)
        prepared = ledger.PreparedSend(prepared.issue_id, prepared.added, batches)
    control.queue_batches(prepared.issue_id, prepared.batches)
    return prepared
