"""Send pressed -> every ledger row written and every batch job enqueued, on PostgreSQL.

Makes 100,000 active readers on a newsletter (plus some who left, and a second newsletter so that the
de-duplication has work), an issue with one article, then times ``control.start_send`` (the ledger
written and committed, then one ``mail`` job per 500 rows queued), what Send does. Baseline in the same
run: the same ledger written the naive way, one ORM object per reader, for a 10,000-reader sample,
reported as a rate.

With ``--segment`` the same readers also have donors (one in 25: one-time, monthly, lapsed, failing), some
readers English and some from another source, and after the whole-newsletter send (the baseline of that
run) a second issue goes to a segment of "ki-news" (never gave, German, from the web): its ledger is the
same ``INSERT ... SELECT`` with the segment's terms and the supporter states joined in. ``--readers N``
sets the number of readers (for a short run).

    python -m bench.prepare [--quick] [--segment] [--readers N]
"""

from __future__ import annotations

import time

from sqlalchemy import select, text

from bench import common

GOAL_SECONDS = 10.0


def _populate(db, readers: int, *, varied: bool = False) -> int:
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
    if varied:
        _vary(conn)
    conn.execute(
        text(
            "INSERT INTO subscriptions (subscriber_id, newsletter_id, created_at) "
            "SELECT id, :ki, now() FROM subscribers UNION ALL "
            "SELECT id, :weekly, now() FROM subscribers WHERE id % 3 = 0"
        ),
        {"ki": ki.id, "weekly": weekly.id},
    )
    issue = Issue(subject="Die KI-Woche", sender_name="KI-Kompass",
                  sender_address="redaktion@ki-kompass.example", newsletters=[ki, weekly])  # fmt: skip
    db.session.add(issue)
    db.session.flush()
    db.session.add(IssueArticle(issue_id=issue.id, article_id=article.id, position=0))
    db.session.commit()
    conn = db.session.connection()
    conn.execute(text("ANALYZE"))
    db.session.commit()
    return issue.id


def _vary(conn) -> None:
    """Readers a segment tells apart: one in 10 English, one in 7 from a fair; one in 25 a donor (by the
    same address), in turn one-time (this year), monthly, lapsed (two years ago) and failing."""
    conn.execute(text("UPDATE subscribers SET locale = 'en' WHERE id % 10 = 1"))
    conn.execute(text("UPDATE subscribers SET source = CASE WHEN id % 7 = 2 THEN 'messe' ELSE 'web' END"))
    conn.execute(text(
        "INSERT INTO donors (email, locale, created_at) "
        "SELECT email, 'de', now() FROM subscribers WHERE id % 25 = 3"
    ))  # fmt: skip
    conn.execute(text(
        "INSERT INTO donations (reference, donor_id, kind, amount_cents, currency, status, locale,"
        " created_at, subscription_status) "
        "SELECT 'bench-' || id, id,"
        " CASE WHEN id % 4 IN (1, 3) THEN 'monthly' ELSE 'one_time' END, 500, 'eur',"
        " CASE WHEN id % 4 IN (1, 3) THEN 'active' ELSE 'paid' END, 'de', now(),"
        " CASE id % 4 WHEN 1 THEN 'active' WHEN 3 THEN 'past_due' END FROM donors"
    ))  # fmt: skip
    conn.execute(text(
        "INSERT INTO donation_payments (donation_id, amount_cents, currency, status, refunded_cents,"
        " failure_count, created_at, paid_at, stripe_created) "
        "SELECT id, 500, 'eur', 'paid', 0, 0, now(),"
        " CASE WHEN donor_id % 4 = 2 THEN now() - interval '730 days' ELSE now() - interval '20 days' END,"
        " extract(epoch FROM now())::bigint FROM donations"
    ))  # fmt: skip


def _segment_issue(db) -> int:
    """A second issue, to the segment "never gave, German, from the web" of "ki-news"."""
    from newsletter.editorial.models import Issue, IssueArticle
    from newsletter.readers import segments
    from newsletter.readers.models import Newsletter

    ki = db.session.scalars(select(Newsletter).where(Newsletter.slug == "ki-news")).one()
    terms = segments.SegmentTerms(supporter_state="never", locale="de", source="web")
    segment = segments.save_segment(db.session, None, newsletter_id=ki.id, name="Nie gegeben", terms=terms)
    issue = Issue(subject="Segment", sender_name="KI-Kompass", sender_address="redaktion@ki-kompass.example",
                  newsletters=[ki], segment=segment)  # fmt: skip
    db.session.add(issue)
    db.session.flush()
    article_id = db.session.scalar(text("SELECT min(id) FROM articles"))
    db.session.add(IssueArticle(issue_id=issue.id, article_id=article_id, position=0))
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


def _measure(app, readers: int, sample: int, *, segment: bool = False) -> dict:
    from db import db
    from newsletter.editorial.models import Issue
    from newsletter.platform.queues import get_queue
    from newsletter.sending import control

    issue_id = _populate(db, readers, varied=segment)
    started = time.perf_counter()
    sent = control.start_send(db.session, db.session.get(Issue, issue_id), app.config)
    seconds = time.perf_counter() - started
    assert sent.added == readers and sent.queued, sent
    assert get_queue("mail", app).count == sent.batches
    found = {"added": sent.added, "jobs": sent.batches, "seconds": seconds}
    if segment:
        segment_issue = _segment_issue(db)
        started = time.perf_counter()
        to_segment = control.start_send(db.session, db.session.get(Issue, segment_issue), app.config)
        found["segment"] = {"added": to_segment.added, "jobs": to_segment.batches,
                            "seconds": time.perf_counter() - started}  # fmt: skip
    found["baseline"] = _naive(db, issue_id, sample)
    return found


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0], [
        (["--segment"], {"action": "store_true", "help": "also send a second issue to a segment"}),
        (["--readers"], {"type": int, "default": None, "help": "readers (default 100,000; --quick 20,000)"}),
    ])  # fmt: skip
    readers = args.readers or (20_000 if args.quick else 100_000)
    print(f"prepare: {readers:,} recipients on PostgreSQL; {common.machine()}")
    with (
        common.postgres_database() as database_url,
        common.redis_server() as redis_url,
        common.bench_app(database_url, redis_url) as app,
    ):
        sample = min(readers // 10, 2_000 if args.quick else 10_000)
        found = _measure(app, readers, sample, segment=args.segment)
    added, queued_jobs, seconds, baseline = found["added"], found["jobs"], found["seconds"], found["baseline"]
    rate = readers / seconds
    print(f"Beitrag: {added:,} ledger rows and {queued_jobs} batch jobs in {seconds:.2f} s "
          f"({rate:,.0f} recipients/s)")  # fmt: skip
    print(f"baseline, one ORM object per reader: {baseline:,.0f} recipients/s (ratio {rate / baseline:.1f}x)")
    segment = found.get("segment")
    if segment:
        segment_rate = segment["added"] / segment["seconds"]
        print(f"to a segment (never gave, German, from the web): {segment['added']:,} ledger rows and "
              f"{segment['jobs']} batch jobs in {segment['seconds']:.2f} s ({segment_rate:,.0f} recipients/s,"
              f" {segment_rate / rate:.2f}x the whole-newsletter send of this run)")  # fmt: skip
        segment = {
            **segment, "seconds": round(segment["seconds"], 3), "recipients_per_s": round(segment_rate),
            "of_whole_send": round(segment_rate / rate, 2),
        }  # fmt: skip
    met = seconds <= GOAL_SECONDS
    verdict = "met" if met and readers >= 100_000 else "see the full run"
    print(f"goal <= {GOAL_SECONDS:.0f} s for 100,000: {verdict}")
    common.emit(
        {
            "bench": "prepare", "size": {"recipients": readers, "jobs": queued_jobs},
            "seconds": round(seconds, 3), "recipients_per_s": round(rate),
            "baseline_recipients_per_s": round(baseline), "ratio": round(rate / baseline, 1),
            "goal": {"seconds": GOAL_SECONDS, "met": met}, **({"segment": segment} if segment else {}),
        }
    )  # fmt: skip


if __name__ == "__main__":
    main()
