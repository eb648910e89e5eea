"""The automatic pause: complaints and hard bounces come in through the real SES webhook (signed SNS
messages, see ``test_ses_webhook``) while a send is under way, and the send stops itself once a rate
reaches its threshold on enough messages; the editor reads why on the issue page and resumes.

The mailbox path (an ARF complaint read from dovecot over IMAP) pauses the same way and sets the workers'
control word.

Bad inputs tried: one hard bounce among too few messages (below ``AUTO_PAUSE_MIN_MESSAGES``: no pause),
a complaint about an issue whose send has finished (no pause), a complaint after an editor resumed the
automatically paused send (no second pause), the same complaint posted twice (counted once), a threshold
of 0 (off), percentages out of range in the settings.
"""

from __future__ import annotations

import threading

import pytest
from rq import SimpleWorker
from sqlalchemy import func, select

from db import db as database
from newsletter.editorial.models import Issue, IssueState
from newsletter.mail.return_paths import read_return_path
from newsletter.platform.audit import AuditEntry
from newsletter.platform.queues import get_queue, get_redis
from newsletter.platform.settings import ConfigError, load_config
from newsletter.sending import bounces, gate, progress
from newsletter.sending import tasks as sending_tasks
from newsletter.sending.autopause import Limits
from newsletter.sending.models import AutoPause
from tests.sending.factories import issue_with_readers, start_send
from tests.sending.test_bounce_mailbox import arf
from tests.sending.test_ses_webhook import _event, _post, _signed, signing_key, sns_host  # noqa: F401
from tests.staff.factories import sign_in
from tests.support import dovecot as dovecot_support
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs

READERS = 40
BATCH = 10


def _one_batch(app) -> None:
    """A worker takes one batch job and stops: the send is under way, the rest still waiting."""
    SimpleWorker([get_queue("mail", app)], connection=get_redis(app)).work(burst=True, max_jobs=1)


def _state(db, issue_id) -> IssueState:
    db.session.expire_all()
    return db.session.get(Issue, issue_id).state


def _report(client, key, base, relay, kind: str, reader: str) -> None:
    source = next(r.mail_from for r in relay.received if r.rcpt_tos[0] == reader)
    message = _signed(key, base, {"Type": "Notification", "Message": _event(kind, source, reader)})
    assert _post(client, message) == 200


@pytest.fixture
def limits(app, monkeypatch):
    monkeypatch.setitem(app.config, "AUTO_PAUSE_MIN_MESSAGES", 20)
    monkeypatch.setitem(app.config, "AUTO_PAUSE_COMPLAINT_PERCENT", 0.3)
    monkeypatch.setitem(app.config, "AUTO_PAUSE_HARD_BOUNCE_PERCENT", 5.0)


def test_complaints_pause_a_running_send_the_editor_reads_why_and_resumes(
    app, client, db, relay, sns_host, signing_key, limits  # noqa: F811
):
    issue = issue_with_readers(db, READERS)
    start_send(db, issue, batch_size=BATCH)
    _one_batch(app)
    relay.wait_for(BATCH)
    # One hard bounce in 10 messages is 10 %, but 10 messages are too few to judge: the send goes on.
    _report(client, signing_key, sns_host.base, relay, "Bounce", "leser0@example.org")
    assert _state(db, issue.id) is IssueState.SENDING
    _one_batch(app)
    relay.wait_for(2 * BATCH)
    # One complaint in 20 accepted messages is 5 %, far above 0.3 %: paused, and no more messages leave.
    _report(client, signing_key, sns_host.base, relay, "Complaint", "leser15@example.org")
    assert _state(db, issue.id) is IssueState.PAUSED
    run_jobs(app)
    assert len(relay.received) == 2 * BATCH

    pause = db.session.get(AutoPause, issue.id)
    assert (pause.kind, pause.reports, pause.accepted) == ("complaint", 1, 20)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "issue.auto_pause")).one()
    assert entry.detail["kind"] == "complaint"

    sign_in(client)
    page = client.get(f"/staff/issues/{issue.id}")
    html = text_of(page)
    assert "Automatisch angehalten" in html and "1 von 20" in html and "0,3" in html
    assert 'data-paused-because="complaint"' in page.get_data(as_text=True)
    json = client.get(f"/staff/issues/{issue.id}/progress.json", headers={"Accept": "application/json"}).json
    assert json["state"] == "paused" and json["paused_because"]["reports"] == 1
    english = text_of(client.get(f"/staff/issues/{issue.id}?lang=en"))
    assert "Paused automatically: 1 of 20 accepted messages were reported as spam (5%, the limit is 0.3%)" \
        in english
    client.get(f"/staff/issues/{issue.id}?lang=de")

    token = csrf_token(client, f"/staff/issues/{issue.id}")
    assert client.post(f"/staff/issues/{issue.id}/resume", data={"csrf_token": token}).status_code == 302
    assert _state(db, issue.id) is IssueState.SENDING
    assert "Automatisch angehalten" not in text_of(client.get(f"/staff/issues/{issue.id}"))
    # Resumed by the editor: a further complaint no longer stops this send.
    _report(client, signing_key, sns_host.base, relay, "Complaint", "leser16@example.org")
    assert _state(db, issue.id) is IssueState.SENDING
    run_jobs(app)
    recipients = sorted(r.rcpt_tos[0] for r in relay.received)
    assert recipients == sorted(f"leser{i}@example.org" for i in range(READERS))  # each once
    assert _state(db, issue.id) is IssueState.SENT
    assert progress.progress(db.session, issue.id)["paused_because"] is None


def test_reports_after_the_send_or_with_the_rule_off_pause_nothing(
    app, client, db, relay, sns_host, signing_key, limits, monkeypatch  # noqa: F811
):
    issue = issue_with_readers(db, READERS)
    start_send(db, issue, batch_size=BATCH)
    _one_batch(app)
    _one_batch(app)
    relay.wait_for(2 * BATCH)
    monkeypatch.setitem(app.config, "AUTO_PAUSE_COMPLAINT_PERCENT", 0.0)  # off
    _report(client, signing_key, sns_host.base, relay, "Complaint", "leser3@example.org")
    assert _state(db, issue.id) is IssueState.SENDING
    monkeypatch.setitem(app.config, "AUTO_PAUSE_COMPLAINT_PERCENT", 0.3)
    run_jobs(app)
    assert _state(db, issue.id) is IssueState.SENT
    for reader in ("leser4@example.org", "leser5@example.org", "leser5@example.org"):  # one twice
        _report(client, signing_key, sns_host.base, relay, "Complaint", reader)
    assert _state(db, issue.id) is IssueState.SENT
    assert db.session.get(AutoPause, issue.id) is None


@pytest.mark.parametrize("value", ["-1", "101", "abc"])
def test_percentages_out_of_range_stop_the_start(value, tmp_path):
    with pytest.raises(ConfigError, match="AUTO_PAUSE_COMPLAINT_PERCENT"):
        load_config({"BEITRAG_ENV": "development", "AUTO_PAUSE_COMPLAINT_PERCENT": value}, tmp_path)


def test_two_hosts_recording_complaints_at_once_pause_the_send_once(app, db, relay, limits, monkeypatch):
    """Two reports applied at the same moment in two sessions (as two web or worker hosts would): the
    send is paused once, with one reason and one audit entry."""
    monkeypatch.setitem(app.config, "AUTO_PAUSE_MIN_MESSAGES", 10)
    issue = issue_with_readers(db, READERS)
    start_send(db, issue, batch_size=BATCH)
    _one_batch(app)
    relay.wait_for(BATCH)
    secret = app.config["SECRET_KEY"]
    sources = {r.rcpt_tos[0]: r.mail_from for r in relay.received}
    start = threading.Barrier(2)
    errors = []

    def complain(reader: str) -> None:
        with app.app_context():
            address = read_return_path(secret, sources[reader])
            report = bounces.Report(f"race:{reader}", bounces.COMPLAINT, address, [reader])
            try:
                start.wait()
                outcome = bounces.apply_report(database.session, report, secret_key=secret, via="mailbox",
                                               limits=Limits.from_config(app.config))  # fmt: skip
                database.session.commit()
                assert outcome.applied
            except Exception as exc:  # reported below, in the test's thread
                errors.append(exc)
            finally:
                database.session.remove()

    threads = [threading.Thread(target=complain, args=(f"leser{i}@example.org",)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert _state(db, issue.id) is IssueState.PAUSED
    assert db.session.scalar(select(func.count()).select_from(AutoPause)) == 1
    entries = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "issue.auto_pause")
    assert db.session.scalar(entries) == 1


@pytest.mark.slow  # a dovecot server
@pytest.mark.skipif(not dovecot_support.available(), reason="needs Debian's dovecot-imapd (see .ci/run)")
def test_a_complaint_from_the_bounce_mailbox_pauses_the_send_and_tells_the_workers(
    app, db, relay, dovecot, limits, monkeypatch
):
    monkeypatch.setitem(app.config, "AUTO_PAUSE_MIN_MESSAGES", 10)
    monkeypatch.setitem(app.config, "BOUNCE_MAILBOX_URL", dovecot.url("imap"))
    issue = issue_with_readers(db, READERS)
    start_send(db, issue, batch_size=BATCH)
    _one_batch(app)
    relay.wait_for(BATCH)
    source = next(r.mail_from for r in relay.received if r.rcpt_tos[0] == "leser3@example.org")
    dovecot.deliver(arf("fbl@ki-kompass.example", source, "leser3@example.org"))
    assert sending_tasks.poll_bounce_mailbox() == "1 messages: 1 complaint"
    assert _state(db, issue.id) is IssueState.PAUSED
    assert get_redis(app).get(gate.control_key(issue.id)) == b"pause"  # the workers' shortcut, set
    run_jobs(app)
    assert len(relay.received) == BATCH


def test_a_large_send_is_counted_a_few_times_not_once_per_report(app, db):
    """Hard bounces arrive one by one on 600 accepted messages (5 % is the limit, judged from 100 on):
    the 30th pauses the send, none before it does, and the accepted messages are counted five times in
    all instead of once for each of the 26 reports that could be judged: a running send's count only
    grows, so a report whose rate stays under the limit against the last count needs none."""
    from sqlalchemy import event, update

    from newsletter.sending import autopause
    from newsletter.sending.models import Delivery, DeliveryStatus

    issue = issue_with_readers(db, 600)
    start_send(db, issue, batch_size=1000)
    db.session.execute(
        update(Delivery).where(Delivery.issue_id == issue.id).values(status=DeliveryStatus.SENT)
    )
    db.session.commit()
    row_ids = db.session.scalars(
        select(Delivery.id).where(Delivery.issue_id == issue.id).order_by(Delivery.id)
    )
    limits = Limits(complaint_rate=0.003, hard_bounce_rate=0.05, min_messages=100)
    counts = []

    def counted(conn, cursor, statement, parameters, context, executemany):
        if "FROM deliveries" in statement and "LIMIT" in statement.upper():
            counts.append(statement)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", counted)
    try:
        for number, row_id in enumerate(list(row_ids)[:30], 1):
            bounced = {"status": DeliveryStatus.BOUNCED, "reply": "hard: 550 5.1.1 unknown"}
            db.session.execute(update(Delivery).where(Delivery.id == row_id).values(bounced))
            db.session.flush()
            paused = autopause.check(db.session, issue.id, autopause.HARD, limits)
            db.session.commit()
            assert (paused is not None) is (number == 30), number
            assert _state(db, issue.id) is (IssueState.PAUSED if number == 30 else IssueState.SENDING)
    finally:
        event.remove(engine, "before_cursor_execute", counted)
    assert paused.reports == 30 and paused.accepted == 600
    assert len(counts) == 5


def test_addresses_the_relay_refuses_for_good_while_sending_pause_the_send(
    app, client, db, relay, limits, monkeypatch
):
    """A relay that checks recipients at once (550 5.1.1 at RCPT, as a receiving MX does) instead of
    bouncing later: two unknown addresses among 19 messages judged (the policy refusal is not a bounce and
    not judged) are 10.5 %, over the 5 % limit, and the worker that recorded the second pauses the send;
    the other workers are told, nothing more leaves."""
    monkeypatch.setitem(app.config, "AUTO_PAUSE_MIN_MESSAGES", 15)
    relay.rcpt_replies.update({
        "leser3@example.org": "550 5.1.1 No such user", "leser13@example.org": "550 5.1.1 No such user",
        "leser7@example.org": "550 5.7.1 Policy refusal",  # refused, but not an unknown address
    })  # fmt: skip
    issue = issue_with_readers(db, READERS)
    start_send(db, issue, batch_size=BATCH)
    _one_batch(app)
    assert _state(db, issue.id) is IssueState.SENDING  # 1 of 9: too few messages to judge
    _one_batch(app)
    assert _state(db, issue.id) is IssueState.PAUSED
    assert get_redis(app).get(gate.control_key(issue.id)) == b"pause"
    run_jobs(app)  # the batches still queued find the send paused
    assert sorted(r.rcpt_tos[0] for r in relay.received) == sorted(
        f"leser{i}@example.org" for i in range(20) if i not in (3, 7, 13)
    )
    assert progress.progress(db.session, issue.id)["failed"] == 3
    sign_in(client)
    page = text_of(client.get(f"/staff/issues/{issue.id}"))
    assert "2 von 19 Nachrichten sind endgültig unzustellbar zurückgekommen" in page
