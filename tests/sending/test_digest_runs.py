"""Automatic digests built by the clock's sweep (``sending.digest_runs``), on the real database, Redis and
SMTP server: the articles of a slot (only those since the newsletter's last issue, by tag and by feed), an
empty slot skipped, a draft whose editors get a mail, a digest that sends, a slot built twice in a row and
by two clocks at once (one issue), an editor's skip and hold reached by the clock, and a slot across the
daylight-saving changes."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from newsletter.editorial import digests
from newsletter.editorial.models import Digest, DigestRun, Feed, Issue, IssueState
from newsletter.platform import audit
from newsletter.platform.access import StaffRole
from newsletter.platform.audit import AuditEntry
from newsletter.platform.queues import get_queue
from newsletter.platform.redis_server import limiter_storage_uri
from newsletter.sending import digest_runs
from newsletter.sending.models import Delivery
from tests.editorial.factories import make_article, make_issue
from tests.readers.factories import make_newsletter, make_reader
from tests.staff.factories import staff_user
from tests.support.smtp import free_port
from tests.support.worker import run_jobs


@pytest.fixture
def newsletter(db):
    item = make_newsletter(db, is_default=True)
    db.session.commit()
    return item


def make_digest(db, app, newsletter, **fields) -> Digest:
    values = {
        "newsletter_id": newsletter.id,
        "subject": "KI am Morgen",
        "weekdays": "1234567",
        "time_of_day": "07:00",
        "timezone": "Europe/Berlin",
        "mode": "draft",
        "sender_name": "KI-Kompass",
        "sender_address": app.config["MAIL_FROM"],
        **fields,
    }
    digest = digests.create_digest(db.session, digests.DigestInput(**values))
    digest.schedule_changed_at = datetime(2020, 1, 1, tzinfo=UTC)  # every slot since counts
    db.session.commit()
    return digest


def _slot_now(digest: Digest) -> tuple[datetime, datetime]:
    """The digest's latest slot, and a moment a few seconds after it (when the clock builds it)."""
    slot = digests.previous_slot(digest, datetime.now(UTC))
    return slot, slot + timedelta(seconds=3)


def _titles(issue: Issue) -> list[str]:
    return [a.title for a in issue.articles]


def test_a_slot_builds_a_draft_of_the_articles_since_the_last_issue_and_mails_the_editors(
    app, db, newsletter, relay
):
    digest = make_digest(db, app, newsletter)
    slot, now = _slot_now(digest)
    old = make_article(db, "Schon verschickt", days_ago=3)
    sent = make_issue(
        db, articles=[old], newsletters=[newsletter], state=IssueState.SENT, sent_at=slot - timedelta(days=2)
    )
    assert sent.id
    make_article(db, "Noch älter", days_ago=4)
    for title, hours in (("Chips aus Europa", 30), ("Agenten im Büro", 5)):
        article = make_article(db, title)
        article.published_at = slot - timedelta(hours=hours)
    later = make_article(db, "Nach dem Bau erschienen")
    later.published_at = now + timedelta(minutes=5)
    db.session.commit()
    staff_user(db, "eda@example.org", name="Eda")
    staff_user(db, "ada@example.org", role=StaffRole.ADMIN)

    built = digest_runs.build_due(db.session, app.config, now=now)

    assert [(b.state, b.articles) for b in built] == [("draft", 2)]
    issue = db.session.get(Issue, built[0].issue_id)
    assert issue.state is IssueState.DRAFT
    assert _titles(issue) == ["Agenten im Büro", "Chips aus Europa"]  # newest first
    assert issue.subject.startswith("KI am Morgen – ") and [n.id for n in issue.newsletters] == [
        newsletter.id
    ]
    run_jobs(app)
    mails = relay.wait_for(2)
    assert sorted(m["To"] for m in mails) == ["ada@example.org", "eda@example.org"]
    body = mails[0].get_body(("plain",)).get_content()
    assert f"http://localhost/staff/issues/{issue.id}" in body and "2 Artikeln" in body
    assert "Ein Digest-Entwurf wartet" in mails[0]["Subject"]



def test_with_redis_down_the_draft_is_built_and_a_later_sweep_tells_the_editors_once(
    app, db, newsletter, relay, make_app, redis_url
):
    """Redis really unreachable for the clock that builds the slot (its queue on a closed port): the draft
    is there, its editors untold; the next sweeps with Redis back tell them once, however many run."""
    digest = make_digest(db, app, newsletter)
    slot, now = _slot_now(digest)
    make_article(db, "Agenten im Büro").published_at = slot - timedelta(hours=2)
    db.session.commit()
    staff_user(db, "eda@example.org", name="Eda")
    down = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0", CHECK_SERVICES=False,
                    RATELIMIT_STORAGE_URI=limiter_storage_uri(redis_url))  # fmt: skip
    with down.app_context():
        from db import db as down_db

        built = digest_runs.build_due(down_db.session, down.config, now=now)
        down_db.session.remove()
    assert [b.state for b in built] == ["draft"]
    run = db.session.get(DigestRun, built[0].run_id)
    assert run.editors_told_at is None and db.session.get(Issue, built[0].issue_id) is not None
    assert len(get_queue("transactional")) == 0

    # Redis is back: the next sweeps build nothing new and tell the editors once.
    assert digest_runs.build_due(db.session, app.config, now=now + timedelta(minutes=1)) == []
    assert digest_runs.build_due(db.session, app.config, now=now + timedelta(minutes=2)) == []
    run_jobs(app)
    [mail] = relay.wait_for(1)
    assert mail["To"] == "eda@example.org" and "Ein Digest-Entwurf wartet" in mail["Subject"]
    db.session.expire_all()
    assert db.session.get(DigestRun, run.id).editors_told_at is not None
    run_jobs(app)
    assert len(relay.messages) == 1
    # A draft older than the grace period is not told any more (the desk lists it).
    assert digest_runs.tell_waiting_editors(db.session, app.config, since=now + timedelta(hours=1)) == 0

def test_the_next_slot_takes_only_what_came_after_the_drafted_one(app, db, newsletter):
    digest = make_digest(db, app, newsletter)
    slot, now = _slot_now(digest)
    first = make_article(db, "Erster Morgen")
    first.published_at = slot - timedelta(hours=2)
    db.session.commit()
    assert [b.articles for b in digest_runs.build_due(db.session, app.config, now=now)] == [1]
    second = make_article(db, "Zweiter Morgen")
    second.published_at = now + timedelta(hours=1)
    db.session.commit()
    next_slot = digests.next_slots(digest, now, 1)[0]
    built = digest_runs.build_due(db.session, app.config, now=next_slot + timedelta(seconds=2))
    assert _titles(db.session.get(Issue, built[0].issue_id)) == ["Zweiter Morgen"]


def test_tags_and_feeds_choose_the_articles(app, db, newsletter):
    feed = Feed(url="https://partner.example/rss", title="Partner")
    db.session.add(feed)
    db.session.commit()
    digest = make_digest(db, app, newsletter, tags="Chips, Politik", feed_ids=[feed.id])
    slot, now = _slot_now(digest)
    for title, tags, feed_id in (
        ("Chips vom Partner", ["chips"], feed.id),
        ("Chips von uns", ["Chips"], None),
        ("Sport vom Partner", ["Sport"], feed.id),
    ):
        article = make_article(db, title, tags=tags)
        article.published_at, article.feed_id = slot - timedelta(hours=1), feed_id
    db.session.commit()

    built = digest_runs.build_due(db.session, app.config, now=now)
    assert _titles(db.session.get(Issue, built[0].issue_id)) == ["Chips vom Partner"]

    own = make_digest(db, app, newsletter, tags="", feed_ids=[digests.OWN_ARTICLES])
    built = digest_runs.build_slot(db.session, own.id, slot, app.config, now=now)
    assert _titles(db.session.get(Issue, built.issue_id)) == ["Chips von uns"]


def test_a_slot_with_nothing_new_makes_no_issue(app, db, newsletter, relay):
    digest = make_digest(db, app, newsletter)
    slot, now = _slot_now(digest)
    old = make_article(db, "Vorgestern", days_ago=3)
    make_issue(
        db, articles=[old], newsletters=[newsletter], state=IssueState.SENT, sent_at=slot - timedelta(days=2)
    )
    staff_user(db, "eda@example.org")

    built = digest_runs.build_due(db.session, app.config, now=now)

    assert [(b.state, b.issue_id) for b in built] == [("empty", None)]
    assert db.session.scalar(select(func.count()).select_from(Issue)) == 1  # the sent one only
    run_jobs(app)
    assert relay.messages == []


def test_a_slot_is_built_once_however_often_the_clock_comes(app, db, newsletter):
    digest = make_digest(db, app, newsletter)
    slot, now = _slot_now(digest)
    article = make_article(db, "Einmal")
    article.published_at = slot - timedelta(hours=1)
    db.session.commit()

    first = digest_runs.build_due(db.session, app.config, now=now)
    again = digest_runs.build_due(db.session, app.config, now=now + timedelta(seconds=20))
    direct = digest_runs.build_slot(db.session, digest.id, slot, app.config, now=now)

    assert len(first) == 1 and again == [] and direct is None
    assert db.session.scalar(select(func.count()).select_from(Issue)) == 1


def _race(app, digest_id: int, slot: datetime, now: datetime, clocks: int = 4) -> list:
    """``clocks`` threads, each with its own session and connection, build the slot at the same moment."""
    start = threading.Barrier(clocks)
    results, errors = [], []

    def clock():
        with app.app_context():
            from db import db as database

            try:
                start.wait()
                results.append(digest_runs.build_slot(database.session, digest_id, slot, app.config, now=now))
            except Exception as exc:  # a lock timeout would be a failure of the claim
                errors.append(exc)
            finally:
                database.session.remove()

    threads = [threading.Thread(target=clock) for _ in range(clocks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    return [r for r in results if r is not None]


@pytest.mark.parametrize(("mode", "held"), [("draft", False), ("send", False), ("send", True)])
def test_clocks_at_once_build_and_send_one_issue(app, db, newsletter, mode, held):
    digest = make_digest(db, app, newsletter, mode=mode)
    slot, now = _slot_now(digest)
    if held:
        digest.schedule_changed_at = slot - timedelta(days=1)
        db.session.add(DigestRun(digest_id=digest.id, slot_at=slot, state=digests.HOLD))
    for n in range(3):
        article = make_article(db, f"Artikel {n}")
        article.published_at = slot - timedelta(hours=n + 1)
    for address in ("a@example.org", "b@example.org", "c@example.org"):
        make_reader(db, address, newsletters=[newsletter])
    db.session.commit()
    digest_id = digest.id
    db.session.remove()

    [built] = _race(app, digest_id, slot, now)

    assert built.state == ("sending" if mode == "send" and not held else "draft") and built.articles == 3
    assert db.session.scalar(select(func.count()).select_from(Issue)) == 1
    assert db.session.scalar(select(func.count()).select_from(DigestRun)) == 1
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == (
        3 if built.state == "sending" else 0
    )


def test_send_mode_starts_the_send_and_queues_its_batches(app, db, newsletter):
    digest = make_digest(db, app, newsletter, mode="send")
    slot, now = _slot_now(digest)
    article = make_article(db, "Für alle")
    article.published_at = slot - timedelta(hours=1)
    for address in ("a@example.org", "b@example.org"):
        make_reader(db, address, newsletters=[newsletter])
    db.session.commit()

    built = digest_runs.build_due(db.session, app.config, now=now)

    assert [b.state for b in built] == ["sending"]
    issue = db.session.get(Issue, built[0].issue_id)
    assert issue.state is IssueState.SENDING
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 2
    assert any(job_id.startswith(f"send-{issue.id}-") for job_id in get_queue("mail").job_ids)
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "issue.send"))
    assert entry.actor == audit.SYSTEM


def test_a_skipped_slot_is_not_built_and_a_held_one_waits_as_a_draft(app, db, newsletter, relay):
    digest = make_digest(db, app, newsletter, mode="send")
    staff_user(db, "eda@example.org")
    now = datetime.now(UTC)
    first, second = digests.next_slots(digest, now, 2)
    digests.mark_slot(db.session, digest, first, digests.SKIP, by_id=None, now=now)
    digests.mark_slot(db.session, digest, second, digests.HOLD, by_id=None, now=now)
    db.session.commit()
    assert [r.mark for r in digests.coming_runs(db.session, digest, now, 3)] == ["skip", "hold", None]
    article = make_article(db, "Neu")
    article.published_at = first - timedelta(hours=1)
    make_reader(db, "a@example.org", newsletters=[newsletter])
    db.session.commit()

    assert digest_runs.build_due(db.session, app.config, now=first + timedelta(seconds=2)) == []
    assert db.session.scalar(select(func.count()).select_from(Issue)) == 0
    built = digest_runs.build_due(db.session, app.config, now=second + timedelta(seconds=2))

    assert [b.state for b in built] == ["draft"]
    assert db.session.get(Issue, built[0].issue_id).state is IssueState.DRAFT
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
    run_jobs(app)
    body = relay.wait_for(1)[0].get_body(("plain",)).get_content()
    assert "angehalten" in body


@pytest.mark.parametrize(
    ("before", "after", "utc_before", "utc_after"),
    [
        # Berlin goes to summer time on 29 March 2026 and back on 25 October 2026.
        (datetime(2026, 3, 27, 12, tzinfo=UTC), datetime(2026, 3, 30, 12, tzinfo=UTC), 6, 5),
        (datetime(2026, 10, 23, 12, tzinfo=UTC), datetime(2026, 10, 26, 12, tzinfo=UTC), 5, 6),
    ],
)
def test_a_slot_keeps_its_wall_clock_time_across_the_daylight_saving_change(
    app, db, newsletter, before, after, utc_before, utc_after
):
    digest = make_digest(db, app, newsletter)
    saturday, sunday, monday = digests.next_slots(digest, before, 3)
    assert [s.hour for s in (saturday, monday)] == [utc_before, utc_after]
    assert monday < after and (sunday - saturday) != timedelta(days=1)
    assert digests.previous_slot(digest, after) == monday
    grace = timedelta(hours=6)
    assert digests.due_slot(digest, sunday + timedelta(minutes=1), grace) == sunday


def test_a_digest_that_cannot_be_sent_stays_a_draft_and_the_mail_says_why(app, db, newsletter, relay):
    digest = make_digest(db, app, newsletter, mode="send", sender_address="redaktion@anderswo.example")
    slot, now = _slot_now(digest)
    article = make_article(db, "Für alle")
    article.published_at = slot - timedelta(hours=1)
    make_reader(db, "a@example.org", newsletters=[newsletter])
    staff_user(db, "eda@example.org")
    db.session.commit()

    built = digest_runs.build_due(db.session, app.config, now=now)

    assert [b.state for b in built] == ["draft"]
    assert db.session.get(Issue, built[0].issue_id).state is IssueState.DRAFT
    assert db.session.scalar(select(func.count()).select_from(Delivery)) == 0
    run_jobs(app)
    body = relay.wait_for(1)[0].get_body(("plain",)).get_content()
    assert "Er wurde nicht verschickt:" in body and "anderswo.example" in body


def test_a_run_missed_for_hours_or_before_the_digest_existed_is_not_built_late(app, db, newsletter, runner):
    minutes_ago = datetime.now(ZoneInfo("Europe/Berlin")) - timedelta(minutes=2)
    digest = make_digest(db, app, newsletter, time_of_day=f"{minutes_ago:%H:%M}")
    slot, _now = _slot_now(digest)
    article = make_article(db, "Neu")
    article.published_at = slot - timedelta(hours=1)
    db.session.commit()
    late = slot + timedelta(seconds=app.config["DIGEST_GRACE_SECONDS"] + 60)
    assert digests.due_slot(digest, late, timedelta(seconds=app.config["DIGEST_GRACE_SECONDS"])) is None

    digest.schedule_changed_at = slot + timedelta(minutes=3)  # saved at 07:03 for 07:00
    db.session.commit()
    assert digest_runs.build_due(db.session, app.config, now=slot + timedelta(minutes=4)) == []

    digest.schedule_changed_at = slot - timedelta(days=1)
    db.session.commit()
    result = runner.invoke(args=["newsletter", "build-digests"])
    assert result.exit_code == 0 and "draft" in result.output
    assert "nothing due" in runner.invoke(args=["newsletter", "build-digests"]).output
