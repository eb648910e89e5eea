"""``demo load`` tells one story: a year of history that ends yesterday evening, sent issues with their
ledger rows and tallies, gifts attributed only to issues their givers received, a default statistics period
that shows today; the staff passwords kept in a file only this user can read, and they sign in; the demo's
own draft sends from From, DKIM d= and Return-Path on one organisational domain; ``make run``'s banner names
every process with its address."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, time, timedelta
from email.utils import parseaddr
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from db import utcnow
from newsletter.editorial.models import Article, Issue, IssueState
from newsletter.mail import alignment
from newsletter.platform import devserver
from newsletter.readers.models import Subscriber, SubscriberEvent, Suppression
from newsletter.sending import control
from newsletter.sending.models import Delivery, DeliveryStatus, IssueTally
from newsletter.stats.periods import period_from
from payments.models import Donation, DonationPayment
from tests.support.dkim import dkim_verifies
from tests.support.web import login, text_of
from tests.support.worker import run_jobs

ZONE = "Europe/Berlin"


def _today_starts() -> datetime:
    """The earlier of the two midnights that began today: in the newsroom's zone and in UTC."""
    now = utcnow()
    local = datetime.combine(now.astimezone(ZoneInfo(ZONE)).date(), time(), ZoneInfo(ZONE))
    return min(local.astimezone(UTC), datetime.combine(now.date(), time(), UTC))


@pytest.fixture
def loaded(runner, db):
    result = runner.invoke(args=["demo", "load", "--subscribers", "400"])
    assert result.exit_code == 0, result.output
    return result.output


def test_every_sent_issue_has_its_ledger_tally_and_more_readers_than_gifts(db, loaded):
    sent = db.session.scalars(select(Issue).where(Issue.state == IssueState.SENT)).all()
    assert len(sent) >= 5
    outcomes = set()
    for issue in sent:
        rows = dict(
            db.session.execute(
                select(Delivery.status, func.count())
                .where(Delivery.issue_id == issue.id)
                .group_by(Delivery.status)
            ).all()
        )
        outcomes |= set(rows)
        tally = db.session.get(IssueTally, issue.id)
        assert tally is not None, issue.subject
        assert tally.recipients == sum(rows.values()) > 0, issue.subject
        assert tally.accepted == rows.get(DeliveryStatus.SENT, 0) + rows.get(DeliveryStatus.BOUNCED, 0)
        assert (tally.failed, tally.bounced) == (
            rows.get(DeliveryStatus.FAILED, 0),
            rows.get(DeliveryStatus.BOUNCED, 0),
        )
        gifts = db.session.scalar(
            select(func.count()).select_from(Donation).where(Donation.issue_id == issue.id)
        )
        assert gifts <= tally.recipients, issue.subject
    assert {DeliveryStatus.SENT, DeliveryStatus.BOUNCED} <= outcomes
    attributed = db.session.scalar(
        select(func.count()).select_from(Donation).where(Donation.issue_id.is_not(None))
    )
    assert attributed > 0
    # Every attributed gift comes from a reader the issue was sent to, after it was sent.
    strays = db.session.scalar(
        select(func.count())
        .select_from(Donation)
        .join(Issue, Issue.id == Donation.issue_id)
        .where(
            ~select(Delivery.id)
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
            .where(
                Delivery.issue_id == Donation.issue_id,
                func.lower(Subscriber.email) == func.lower(Donation.email),
            )
            .exists()
        )
    )
    assert strays == 0


def test_the_history_spans_the_last_year_and_ends_before_today(db, loaded):
    today = _today_starts()
    stamps = {
        "sign-ups": select(func.min(Subscriber.created_at), func.max(Subscriber.created_at)),
        "confirmations": select(func.min(Subscriber.confirmed_at), func.max(Subscriber.confirmed_at)),
        "leaving": select(func.min(Subscriber.unsubscribed_at), func.max(Subscriber.unsubscribed_at)),
        "events": select(func.min(SubscriberEvent.created_at), func.max(SubscriberEvent.created_at)),
        "suppressions": select(func.min(Suppression.created_at), func.max(Suppression.created_at)),
        "sends": select(func.min(Delivery.sent_at), func.max(Delivery.sent_at)),
        "issues": select(func.min(Issue.sent_at), func.max(Issue.created_at)),
        "gifts": select(func.min(Donation.created_at), func.max(Donation.created_at)),
        "payments": select(func.min(DonationPayment.paid_at), func.max(DonationPayment.paid_at)),
        "articles": select(func.min(Article.published_at), func.max(Article.published_at)),
    }
    oldest = []
    for name, query in stamps.items():
        first, last = db.session.execute(query).one()
        assert first is not None and last is not None, name
        assert last < today, f"{name}: {last} is today or later"
        oldest.append(first)
    now = utcnow()
    assert now - timedelta(days=365) < min(oldest) < now - timedelta(days=183)
    bounces = db.session.scalars(
        select(SubscriberEvent.created_at).where(SubscriberEvent.kind == "bounced")
    ).all()
    assert bounces and max(bounces) - min(bounces) > timedelta(days=60)  # spread, not a burst


def test_the_default_statistics_period_contains_today(app, db):
    now = utcnow()
    period = period_from({}, zone=ZONE, now=now)
    today = now.astimezone(ZoneInfo(ZONE)).date()
    assert period.first_day <= today <= period.last_day
    assert period.start <= now - timedelta(days=330) and len(period.months()) == 12


def test_the_staff_passwords_are_in_a_private_file_and_sign_in(app, db, loaded):
    path = devserver.demo_passwords_path(app.instance_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert str(path) in loaded
    lines = path.read_text().splitlines()
    for email in ("admin@example.org", "editor@example.org"):
        printed = next(line for line in loaded.splitlines() if email in line).split("password:")[1].strip()
        assert any(email in line and line.endswith(printed) for line in lines)
        client = app.test_client()
        assert login(client, email, "wrong password, surely").status_code != 302
        assert login(client, email, printed).status_code == 302
        assert 'class="logout"' in text_of(client.get("/staff/"))


def test_a_second_load_is_refused_and_keeps_the_passwords_file(app, runner, db, loaded):
    path = devserver.demo_passwords_path(app.instance_path)
    before = path.read_text()
    again = runner.invoke(args=["demo", "load", "--subscribers", "50"])
    assert again.exit_code == 1 and "only into an empty database" in again.output
    assert path.read_text() == before


def test_the_banner_names_every_process_and_the_passwords(app, db, loaded):
    text = devserver.banner(app, 5123, ["mail capture", "worker", "clock", "web"])
    for name in ("web", "worker", "clock", "mail capture"):
        assert f"\n    {name} " in text, name
    assert "http://127.0.0.1:5123/staff/" in text and "http://127.0.0.1:5123/staff/dev/mail" in text
    assert f"127.0.0.1:{app.config['MAIL_CAPTURE_PORT']}" in text
    assert str(devserver.demo_passwords_path(app.instance_path)) in text and "readable only by you" in text
    assert "admin@example.org  password: " in text


def test_the_demo_draft_sends_aligned(app, db, runner, relay, signed):
    assert runner.invoke(args=["demo", "load", "--subscribers", "30"]).exit_code == 0
    draft = db.session.scalars(select(Issue).where(Issue.state == IssueState.DRAFT)).one()
    started = control.start_send(db.session, draft, app.config)
    assert started.added > 0
    run_jobs(app)
    relay.wait_for(started.added)
    assert len(relay.received) == started.added
    for received in relay.received:
        assert dkim_verifies(received.raw, signed)
        sender = parseaddr(received.message["From"])[1].rpartition("@")[2]
        tags = dict(
            p.split("=", 1) for p in "".join(received.message["DKIM-Signature"].split()).split(";") if p
        )
        bounce = received.mail_from.rpartition("@")[2]
        assert {alignment.organisational_domain(d) for d in (sender, tags["d"], bounce)} == {
            "ki-kompass.example"
        }
