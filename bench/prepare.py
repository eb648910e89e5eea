"""Send pressed -> every ledger row written and every batch job enqueued, on PostgreSQL.

Makes 100,000 active readers on a newsletter (plus some who left, and a second newsletter so that the
de-duplication has work), an issue with one article, then times ``control.start_send`` (the ledger
written and committed, then one ``mail`` job per 500 rows queued), what Send does. Baseline in the same
run: the same ledger written the naive way, one ORM object per reader, for a 10,000-reader sample,
reported as a rate.

    python -m bench.prepare [--quick]
"""

from __future__ import annotations

import time

from sqlalchemy import select, text

from bench import common

GOAL_SECONDS = 10.0


def _populate(db, readers: int) -> int:
    from newsletter.editorial.models import Article, Issue, IssueArticle
    from newsletter.readers.models import Newsletter

    ki = Newsletter(slug="ki-news", name="KI-News täglich", is_default=True)
    weekly = Newsletter(slug="woche", name="Wochenrückblick")
    article = Article(slug="a", title="Sprachmodelle erklärt", teaser="Was steckt dahinter?", body="Text")
    db.session.add_all([ki, weekly, article])
    db.session.flush()
    conn = db.session.connection()
    conn.execute(
        text(
            "INSERT INTO subscribers (email, status, locale, created_at, updated_at, ask_frequency) "
            "SELECT 'leser' || g || '@example.org',"
            " CASE WHEN g % 20 = 0 THEN 'unsubscribed' ELSE 'active' END,"
            " 'de', now(), now(), 'normal' FROM generate_series(1, :n) AS g"
        ),
        {"n": readers + readers // 19},
    )
    conn.execute(
        text(
            "INSERT INTO subscriptions (subscriber_id, newsletter_id, created_at) "
            "SELECT id, :ki, now() FROM subscribers UNION ALL "
            "SELECT id, :weekly, now() FROM subscribers WHERE id % 3 = 0"
        ),
        {"ki": ki.id, "weekly": weekly.id},
    )
    issue = Issue(subject="Die KI-Woche", sender_name="KI-Kompass", sender_address="redaktion@ki.example",
                  newsletters=[ki, weekly])  # fmt: skip
    db.session.add(issue)
    db.session.flush()
    db.session.add(IssueArticle(issue_id=issue.id, article_id=article.id, position=0))
    db.session.commit()
    conn = db.session.connection()
    conn.execute(text("ANALYZE"))
    db.session.commit()
    return issue.id


def _naive(db, issue_id: int, sample: int) -> float:
    """One ORM object per reader, as a first version would do it; rows per second."""
    from newsletter.editorial.models import Issue
    from newsletter.readers.models import Subscriber, SubscriberStatus
    from newsletter.sending.models import Delivery

    other = Issue(subject="Naiv", sender_name="KI", sender_address="a@ki.example")
    db.session.add(other)
    db.session.commit()
    started = time.perf_counter()
    ids = db.session.scalars(
        select(Subscriber.id).where(Subscriber.status == SubscriberStatus.ACTIVE).limit(sample)
    ).all()
    for subscriber_id in ids:
        db.session.add(Delivery(issue_id=other.id, subscriber_id=subscriber_id))
        db.session.flush()
    db.session.commit()
    return len(ids) / (time.perf_counter() - started)


def _measure(app, readers: int, sample: int) -> tuple[int, int, float, float]:
    from db import db
    from newsletter.editorial.models import Issue
    from newsletter.platform.queues import get_queue
    from newsletter.sending import control

    issue_id = _populate(db, readers)
    started = time.perf_counter()
    sent = control.start_send(db.session, db.session.get(Issue, issue_id), app.config)
    seconds = time.perf_counter() - started
    assert sent.added == readers and sent.queued, sent
    assert get_queue("mail", app).count == sent.batches
    return sent.added, sent.batches, seconds, _naive(db, issue_id, sample)


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0])
    readers = 20_000 if args.quick else 100_000
    print(f"prepare: {readers:,} recipients on PostgreSQL; {common.machine()}")
    with (
        common.postgres_database() as database_url,
        common.redis_server() as redis_url,
        common.bench_app(database_url, redis_url) as app,
    ):
        added, queued_jobs, seconds, baseline = _measure(app, readers, 2_000 if args.quick else 10_000)
    rate = readers / seconds
    print(f"Beitrag: {added:,} ledger rows and {queued_jobs} batch jobs in {seconds:.2f} s "
          f"({rate:,.0f} recipients/s)")  # fmt: skip
    print(f"baseline, one ORM object per reader: {baseline:,.0f} recipients/s (ratio {rate / baseline:.1f}x)")
    met = seconds <= GOAL_SECONDS
    print(
        f"goal <= {GOAL_SECONDS:.0f} s for 100,000: {'met' if met and not args.quick else 'see the full run'}"
    )
    common.emit(
        {
            "bench": "prepare", "size": {"recipients": readers, "jobs": queued_jobs},
            "seconds": round(seconds, 3), "recipients_per_s": round(rate),
            "baseline_recipients_per_s": round(baseline), "ratio": round(rate / baseline, 1),
            "goal": {"seconds": GOAL_SECONDS, "met": met},
        }
    )  # fmt: skip


if __name__ == "__main__":
    main()
