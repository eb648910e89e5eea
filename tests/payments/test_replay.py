"""Whole donation lifecycles replayed against Beitrag running as deployed: gunicorn (gthread, 2 workers of
16 threads) on PostgreSQL, one RQ worker with its scheduler, and the Stripe stand-in with a stateful world
(``tests/support/stripe_world.py``). Started once for the module, stopped by the process ids started.

Readers start every donation on the donate page (``POST /spenden`` with the form's CSRF token), so the app
makes the Checkout Session at the stand-in with its own metadata; the world then lives the donation's life
on its simulated clock (2026-01 to 2026-10): one-time by card, SEPA succeeded, failed, and refunded,
monthly with renewals, a failed renewal recovered on retry, one never recovered (ended for
payment_failed), cancelled by the donor (now and at the period's end), an amount changed in the portal (a
Price of the same Product), partial and full refunds and disputes won and lost, one-time and monthly.
The events Stripe sent are POSTed signed with Stripe's scheme, redelivered like Stripe after any non-2xx
answer, in five styles: in Stripe's order; each event two or three times; shuffled per lifecycle (the
seed is printed on failure; ``REPLAY_SEED=<n>`` replays one); concurrently (every event of three
lifecycles from its own thread, released together); and late (the Checkout and invoice events only after
the worker has looked up at Stripe what the others are about, as when their first deliveries failed).

After each style, what a donor or the newsroom would notice: every payment as Stripe ends it (amount,
refunded total, dispute, paid time, status) and every donation's state, Stripe status and amount (the
donations of that style; the totals count all so far); one receipt per paid
payment with its amount and date, as many as Stripe's paid invoices and one-time payments; the summaries
equal to a recomputation from the ledger; MRR and supporters at each month's end as Stripe's history
says; no event left parked; and every answer 2xx (each other answer is listed).

Bad inputs tried besides: Stripe hanging while 40 events that need a lookup at Stripe (refunds and
disputes of monthly payments whose ``invoice_payment.paid`` was held back) and ordinary ones arrive at once,
with the donate page's latency measured before and during; a 2 MB body with Content-Length, a 200 MB
chunked body and a 0.9 MB body, all with a forged signature; Checkout Sessions of another installation on
the same account (our donation's id with another reference, or no metadata at all, 999 EUR), a monthly
one with a refund and a dispute, all of which need lookups that must end ignored.

Needs PostgreSQL (TEST_DATABASE_URL); skipped on SQLite. About three minutes on two cores.
"""

from __future__ import annotations

import os
import random
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
import redis
import requests
from babel.dates import format_date
from rq import Queue
from sqlalchemy import func, select

from db import db
from newsletter.platform.queues import QUEUE_NAMES
from newsletter.stats.periods import parse_period
from payments.models import (
    Donation,
    DonationKind,
    DonationPayment,
    DonationStatus,
    Donor,
    DonorMail,
    EventState,
    PaymentStatus,
    StripeEvent,
)
from payments.reports import money
from tests.conftest import TEST_DATABASE_URL
from tests.payments import ledger
from tests.payments.replay import (
    DAY,
    LIFECYCLES,
    Courier,
    Delivery,
    Life,
    Play,
    Reader,
    begin,
    chunked,
    intent_of_invoice,
    invoices_of,
    raw_post,
    sliced,
)
from tests.support.stripe_api import StripeStandIn
from tests.support.stripe_world import ExpectedPayment, StripeWorld

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (TEST_DATABASE_URL or "").startswith("postgresql"),
                       reason="real processes on one database: PostgreSQL only (TEST_DATABASE_URL)"),
]  # fmt: skip

SEED = int(os.environ.get("REPLAY_SEED") or secrets.randbelow(2**32))
T0 = int(datetime(2026, 1, 5, 9, 0, tzinfo=UTC).timestamp())
# Test-only settings: the lookup of a parked event after 1 s (not 20), and a donate page that lets one
# client start a hundred donations.
FACTORY = ("app:create_app({'STRIPE_LOOKUP_DELAY_SECONDS': 1, "
           "'DONATE_RATE_LIMIT': '10000 per minute;100000 per hour'})")  # fmt: skip
STYLES = ("in_order", "duplicated", "shuffled", "concurrent", "late")
SETTLE_SECONDS = 60.0
LATE = ("checkout.session.", "invoice.")  # held back in the style "late" (not ``invoice_payment.``)


@dataclass
class Replay:
    app: object
    stack: object
    world: StripeWorld
    reader: Reader
    courier: Courier
    lives: list[Life] = field(default_factory=list)  # ours: every donation started on the donate page
    foreign: list[Life] = field(default_factory=list)  # another installation's, on the same account


@pytest.fixture(scope="module")
def replay(make_app, database_url, redis_url, tmp_path_factory):
    from tests.conftest import _clean_database
    from tests.e2e.stack import Stack

    app = make_app()
    _clean_database(app)
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    connection.close()
    world = StripeWorld(now=T0)
    stack = Stack(database_url, redis_url, tmp_path_factory.mktemp("replay"),
                  stripe=StripeStandIn(world=world), factory=FACTORY, web_workers=2, web_threads=16,
                  roles=("web", "worker")).start()  # fmt: skip
    print(f"replay seed {SEED} (REPLAY_SEED={SEED} replays it)")
    reader = Reader(stack.base_url)
    try:
        yield Replay(app, stack, world, reader, Courier(f"{stack.base_url}/webhooks/stripe"))
    finally:
        reader.close()
        stack.stop()


# -- driving --------------------------------------------------------------------------------------


def live(r: Replay, style: str) -> list[Life]:
    """Every lifecycle once, started on the donate page at staggered times of 2026 and lived in the
    world. Some donors give more than once (the addresses repeat)."""
    offset = STYLES.index(style) if style in STYLES else len(STYLES)
    lives = []
    for i, (kind, amount, script) in enumerate(LIFECYCLES):
        at = T0 + (8 * i + 2 * offset) * DAY + 3600 * offset
        life, play = begin(r.world, r.reader, f"{style}/{script.__name__}", kind, amount,
                           f"{style}-{i % 6}@example.org", at)  # fmt: skip
        script(play)
        lives.append(life)
    r.lives += lives
    return lives


def duplicated(events: list[dict], rng: random.Random) -> list[dict]:
    """Each event two or three times: first in Stripe's order, the copies at random later places."""
    keyed = []
    for i, evt in enumerate(events):
        keyed.append((float(i), evt))
        keyed += [(rng.uniform(i, len(events)), evt) for _ in range(rng.choice((1, 2)))]
    return [evt for _, evt in sorted(keyed, key=lambda pair: pair[0])]


def deliver(r: Replay, lives: list[Life], style: str, rng: random.Random) -> list[Delivery]:
    if style == "in_order":
        return r.courier.sequences([life.events for life in lives], style)
    if style == "duplicated":
        return r.courier.sequences([duplicated(life.events, rng) for life in lives], style)
    if style == "shuffled":
        return r.courier.sequences([rng.sample(life.events, len(life.events)) for life in lives], style)
    if style == "late":  # the checkout's and invoices' deliveries failed at first: the rest is looked up
        late = [[e for e in life.events if e["type"].startswith(LATE)] for life in lives]
        done = r.courier.sequences([[e for e in life.events if not e["type"].startswith(LATE)]
                                    for life in lives], style)  # fmt: skip
        assert settle(r) == 0 and idle(r), "the lookups did not end"
        return done + r.courier.sequences(late, style)
    done = []
    for start in range(0, len(lives), 3):  # a payment's events, and two other lifecycles', at once
        wave = [evt for life in lives[start:start + 3] for evt in life.events]
        done += r.courier.at_once(rng.sample(wave, len(wave)), style)
    return done


# -- what a donor or the newsroom would notice ---------------------------------------------------------


def settle(r: Replay) -> int:
    """Wait until no event is parked (the worker's lookups ran); how many still are at the deadline."""
    deadline = time.monotonic() + SETTLE_SECONDS
    with r.app.app_context():
        while True:
            parked = db.session.scalar(
                select(func.count()).select_from(StripeEvent).where(StripeEvent.state == EventState.PARKED))
            db.session.rollback()
            if parked == 0 or time.monotonic() > deadline:
                db.session.remove()
                return parked
            time.sleep(0.25)


def _epoch(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp())


def _payment_status(expected: ExpectedPayment) -> PaymentStatus:
    if expected.paid_at is None:
        return PaymentStatus.FAILED
    return PaymentStatus.REFUNDED if expected.refunded >= expected.amount else PaymentStatus.PAID


def expected_payments(world: StripeWorld, life: Life) -> list[tuple[str | None, str, ExpectedPayment]]:
    """(invoice, payment intent, what Stripe says) for every payment of the life."""
    session = world.sessions[life.session_id]
    if not life.monthly:
        intent = session["payment_intent"]
        return [(None, intent, world.expected_payment(intent))]
    found = []
    for invoice in invoices_of(world, session["subscription"]):
        intent = intent_of_invoice(world, invoice)
        found.append((invoice, intent, world.expected_payment(intent)))
    return found


def payments_problems(r: Replay, lives: list[Life]) -> list[str]:
    problems = []
    session = db.session
    for life in lives:
        donation = session.get(Donation, life.donation_id)
        rows = session.scalars(
            select(DonationPayment).where(DonationPayment.donation_id == donation.id)).all()
        expected = expected_payments(r.world, life)
        if len(rows) != len(expected):
            problems.append(f"{life.name}: {len(rows)} payment rows, Stripe has {len(expected)} payments")
        for invoice, intent, want in expected:
            row = next((p for p in rows if (p.stripe_invoice_id == invoice if invoice
                                            else p.stripe_payment_intent_id == intent)), None)  # fmt: skip
            if row is None:
                problems.append(f"{life.name}: no payment for {invoice or intent}")
                continue
            got = (row.amount_cents, row.refunded_cents, row.dispute_status and row.dispute_status.value,
                   _epoch(row.paid_at), row.status)  # fmt: skip
            wanted = (want.amount, want.refunded, want.dispute, want.paid_at, _payment_status(want))
            if got != wanted:
                problems.append(f"{life.name}: payment {invoice or intent} is (amount, refunded, dispute, "
                                f"paid at, status) {got}, Stripe says {wanted}")  # fmt: skip
            if want.paid_at is not None and row.stripe_payment_intent_id != intent:
                problems.append(f"{life.name}: payment {invoice} has intent {row.stripe_payment_intent_id}, "
                                f"not {intent}")  # fmt: skip
        problems += donation_problems(r.world, life, donation, expected)
    return problems


def donation_problems(world: StripeWorld, life: Life, donation: Donation, expected) -> list[str]:
    if life.monthly:
        subscription = world.subscriptions[world.sessions[life.session_id]["subscription"]]
        price = subscription["items"]["data"][0]["price"]["unit_amount"]
        ended = subscription["status"] == "canceled"
        wanted = (DonationStatus.ENDED if ended else DonationStatus.ACTIVE, subscription["status"], price,
                  subscription["ended_at"] if ended else None,
                  subscription["cancellation_details"]["reason"] if ended else None)  # fmt: skip
        got = (donation.status, donation.subscription_status, donation.amount_cents,
               _epoch(donation.ended_at), donation.cancel_reason)  # fmt: skip
    else:
        (_, _, payment) = expected[0]
        status = {PaymentStatus.FAILED: DonationStatus.FAILED, PaymentStatus.PAID: DonationStatus.PAID,
                  PaymentStatus.REFUNDED: DonationStatus.REFUNDED}[_payment_status(payment)]  # fmt: skip
        wanted, got = (status, payment.amount), (donation.status, donation.amount_cents)
    first_paid = min((p.paid_at for _, _, p in expected if p.paid_at is not None), default=None)
    if (got, _epoch(donation.paid_at)) != (wanted, first_paid):
        return [f"{life.name}: donation {donation.id} is {got}, paid at {_epoch(donation.paid_at)}; "
                f"Stripe says {wanted}, paid at {first_paid}"]  # fmt: skip
    return []


def foreign_receipts(r: Replay) -> int:
    """Receipts Stripe's figures count for another installation's payments (not ours to send)."""
    return sum(1 for life in r.foreign for _, _, p in expected_payments(r.world, life) if p.paid_at)


def receipts_problems(r: Replay) -> list[str]:
    session = db.session
    receipts = session.scalars(select(DonorMail).where(DonorMail.kind == "receipt")).all()
    per_payment = Counter(int(m.cause.rsplit(":", 1)[1]) for m in receipts)
    paid_rows = session.scalars(select(DonationPayment).where(DonationPayment.paid_at.is_not(None)))
    paid = {p.id: p for p in paid_rows}
    problems = [f"payment {k} has {n} receipts" for k, n in per_payment.items() if n != 1]
    problems += [f"paid payment {k} has no receipt" for k in paid.keys() - per_payment.keys()]
    problems += [f"unpaid payment {k} has a receipt" for k in per_payment.keys() - paid.keys()]
    expected = r.world.receipts_expected() - foreign_receipts(r)
    if len(receipts) != expected:
        problems.append(f"{len(receipts)} receipts, Stripe has {expected} paid payments")
    for mail in receipts:
        payment = paid.get(int(mail.cause.rsplit(":", 1)[1]))
        if payment is None:
            continue
        first = (payment.donation.kind is DonationKind.ONE_TIME
                 or payment.billing_reason == "subscription_create")  # fmt: skip
        on = format_date(payment.paid_at.date(), "long", locale=payment.donation.locale)
        got = (mail.context.get("amount_cents"), mail.context.get("paid_on"), mail.context.get("first"))
        if got != (payment.amount_cents, on, first):
            problems.append(f"receipt {mail.cause} says {got}, the payment is "
                            f"{(payment.amount_cents, on, first)}")  # fmt: skip
    return problems


def mrr_problems(r: Replay) -> list[str]:
    period = parse_period("custom", "2026-01-01", "2026-11-30", zone="Europe/Berlin", now=datetime.now(UTC))
    ours = [r.world.sessions[life.session_id]["subscription"] for life in r.lives if life.monthly]
    problems = []
    for row in money.mrr_by_month(db.session, period, "eur"):
        want = r.world.expected_mrr(int(row["at"].timestamp()) - 1, "eur", subscriptions=ours)
        if (row["mrr_cents"], row["supporters"]) != (want.cents, want.supporters):
            problems.append(f"MRR {row['month']}: {row['mrr_cents']} from {row['supporters']} supporters, "
                            f"Stripe says {want.cents} from {want.supporters}")  # fmt: skip
    return problems


def answer_problems(deliveries: list[Delivery]) -> list[str]:
    """Every answer that was not 2xx (Stripe delivers again after each; none should be needed)."""
    return [f"{d.event['type']} {d.event['id']}: answers {d.statuses}: {' | '.join(d.refusals)}"
            for d in deliveries if any(not 200 <= s < 300 for s in d.statuses)]  # fmt: skip


def check_everything(r: Replay, label: str, deliveries: list[Delivery], lives: list[Life]) -> None:
    """The test's own donations one by one (``lives``), and the totals of every donation so far."""
    parked = settle(r)
    problems = [f"{parked} events still parked after {SETTLE_SECONDS:.0f} s"] if parked else []
    problems += answer_problems(deliveries)
    with r.app.app_context():
        db.session.expire_all()
        problems += payments_problems(r, lives) + receipts_problems(r) + mrr_problems(r)
        try:
            ledger.assert_summaries_match(db.session)
        except AssertionError as exc:
            problems.append(f"summaries differ from the ledger: {exc}")
        db.session.remove()
    if problems:
        shown = "\n  ".join(problems[:60])
        pytest.fail(f"{label} (seed {SEED}, REPLAY_SEED={SEED} replays it): {len(problems)} problems (the "
                    f"totals count every donation so far)\n  {shown}\n{logs(r)}", pytrace=False)  # fmt: skip


def logs(r: Replay, chars: int = 4000) -> str:
    """What the processes said besides gunicorn's access log."""
    said = []
    for role in ("web", "worker"):
        lines = [line for line in r.stack.log(role).splitlines()
                 if not line.startswith("127.0.0.1 - - [") and " Job OK " not in line
                 and "result is kept" not in line]  # fmt: skip
        said.append(f"--- {role} ---\n" + "\n".join(lines)[-chars:])
    return "\n".join(said)


# -- the four delivery styles ----------------------------------------------------------------------


@pytest.mark.parametrize("style", STYLES)
def test_every_lifecycle_ends_as_stripe_says(replay, style):
    rng = random.Random(f"{SEED}:{style}")
    lives = live(replay, style)
    deliveries = deliver(replay, lives, style, rng)
    assert all(d.delivered for d in deliveries), f"{style} (seed {SEED}): not every event was taken"
    check_everything(replay, style, deliveries, lives)


# -- a slow Stripe ------------------------------------------------------------------------------------


def _latencies(url: str, stop: threading.Event | None = None, count: int = 40) -> list[float]:
    found = []
    with requests.Session() as http:
        while (stop is None and len(found) < count) or (stop is not None and not stop.is_set()):
            started = time.monotonic()
            answer = http.get(url, timeout=60)
            found.append(time.monotonic() - started)
            assert answer.status_code == 200, answer.status_code
    return found


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]


def test_a_hanging_stripe_holds_up_neither_events_nor_pages(replay):
    r, world = replay, replay.world
    monthly, plays = [], []
    for i in range(20):
        life, play = begin(world, r.reader, f"slow/monthly-{i}", "monthly", (500, 1000, 2500)[i % 3],
                           f"slow-{i}@example.org", T0 + (20 + 5 * i) * DAY)  # fmt: skip
        play.pay()
        play.renew()
        play.renew()
        monthly.append(life)
        plays.append(play)
    once = []
    for i in range(2):
        life, play = begin(world, r.reader, f"slow/once-{i}", "one_time", 1000 + 250 * i,
                           f"slow-once-{i}@example.org", T0 + (25 + 11 * i) * DAY)  # fmt: skip
        once.append((life, play))
    r.lives += monthly + [life for life, _ in once]
    # Stripe's word on which intent paid which invoice does not come (yet): a refund or a dispute of those
    # payments can only be placed by asking Stripe. 40 of them, more than the web server has threads.
    held = [e for life in monthly for e in life.events if e["type"] == "invoice_payment.paid"]
    held_ids = {e["id"] for e in held}
    sent = r.courier.sequences([[e for e in life.events if e["id"] not in held_ids] for life in monthly],
                               "slow")  # fmt: skip
    burst = []
    for play in plays:
        world.now = play.life.events[-1]["created"] + DAY
        burst += [e for e in play.refund(300, invoice=1) + play.dispute(invoice=2)
                  if e["type"] in ("charge.refunded", "charge.dispute.created")]  # fmt: skip
    for life, play in once:  # and ordinary events, which need nothing of Stripe
        play.pay()
        burst += life.events
    assert len(burst) == 40 + 10
    assert settle(r) == 0
    assert idle(r), "the worker did not get through its queues"  # the first lookup then reaches Stripe
    home = f"{r.stack.base_url}/spenden"
    baseline = _latencies(home)
    lookups_before = len(r.stack.stripe.calls("GET", "/v1/invoice_payments"))

    world.hang()
    try:
        stop = threading.Event()
        during: list[float] = []
        watcher = threading.Thread(target=lambda: during.extend(_latencies(home, stop)))
        watcher.start()
        answers = r.courier.at_once(burst, "slow")
        hung = world.wait_until_hung(1, timeout=15)
        time.sleep(1.5)  # pages go on being asked for while the worker waits on Stripe
        stop.set()
        watcher.join()
    finally:
        world.release()  # well within the lookup's 10 s timeout: no lookup fails and waits for its retry
    try:
        assert answer_problems(answers) == []
        assert hung, "no lookup at Stripe was made: the events did not need one"
        assert _p95(during) <= 5 * _p95(baseline) + 0.5, (
            f"GET /spenden p95 {_p95(during):.3f} s while Stripe hung, {_p95(baseline):.3f} s before")
        assert "QueuePool limit" not in r.stack.log("web")
        parked = settle(r)
        assert parked == 0, f"{parked} events still parked after Stripe answered again\n{logs(r)}"
        assert len(r.stack.stripe.calls("GET", "/v1/invoice_payments")) >= lookups_before + 40
    finally:
        sent += r.courier.in_sequence(held, "slow")  # Stripe's late deliveries: they change nothing now
    check_everything(r, "slow Stripe", sent + answers, monthly + [life for life, _ in once])


def idle(r: Replay, timeout: float = 60.0) -> bool:
    """Whether the worker got through every queue (mails, lookups due or scheduled) within ``timeout``."""
    connection = redis.Redis.from_url(r.stack.redis_url)
    queues = [Queue(name, connection=connection) for name in QUEUE_NAMES]
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not any(q.count or q.scheduled_job_registry.count or q.started_job_registry.count
                       for q in queues):  # fmt: skip
                return True
            time.sleep(0.25)
        return False
    finally:
        connection.close()


# -- bodies -------------------------------------------------------------------------------------------


def _event_count(r: Replay) -> int:
    with r.app.app_context():
        count = db.session.scalar(select(func.count()).select_from(StripeEvent))
        db.session.remove()
        return count


def test_bodies_too_large_are_refused_unread_and_forged_ones_are_refused(replay):
    r = replay
    before, booted = _event_count(r), r.stack.log("web").count("Booting worker")
    forged = {"Stripe-Signature": f"t={int(time.time())},v1={'0' * 64}", "Content-Type": "application/json"}
    body = b'{"id": "evt_large", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    declared = raw_post(r.stack.port, "/webhooks/stripe", {**forged, "Content-Length": str(len(body))},
                        sliced(body))  # fmt: skip
    assert declared.status == 413 and declared.seconds < 5, declared
    streamed = raw_post(r.stack.port, "/webhooks/stripe", {**forged, "Transfer-Encoding": "chunked"},
                        chunked(200 * 1024 * 1024))  # fmt: skip
    assert streamed.status == 413 and streamed.seconds < 5, streamed
    assert streamed.sent < 50 * 1024 * 1024, streamed  # it stopped reading long before the end
    near = b'{"id": "evt_near", "pad": "' + b"x" * (900 * 1024) + b'"}'
    answer = requests.post(f"{r.stack.base_url}/webhooks/stripe", data=near, headers=forged, timeout=30)
    assert answer.status_code == 400, answer.status_code
    assert _event_count(r) == before
    with requests.Session() as http:
        pages = [http.get(f"{r.stack.base_url}/spenden", timeout=30).status_code for _ in range(20)]
    assert pages == [200] * 20
    log = r.stack.log("web")
    assert log.count("Booting worker") == booted and "WORKER TIMEOUT" not in log


# -- another installation's payments on the same account ---------------------------------------------


def _counts(*tables) -> tuple[int, ...]:
    return tuple(db.session.scalar(select(func.count()).select_from(table)) for table in tables)


def test_another_installations_payments_change_nothing_here(replay):
    r, world = replay, replay.world
    waiting = r.reader.donate("one_time", 2500, "wartet@example.org")  # ours, never paid
    ours = world.sessions[waiting]["metadata"]
    with r.app.app_context():
        donors, mails = _counts(Donor, DonorMail)
        db.session.remove()
    foreign = []
    for name, metadata, monthly in (
        ("foreign/same-id-other-reference", {**ours, "donation_reference": "another-installation"}, False),
        ("foreign/no-metadata", {}, False),
        ("foreign/monthly", {**ours, "donation_reference": "another-installation"}, True),
    ):
        world.now = T0 + 40 * DAY
        session, events = world.checkout(99900, monthly=monthly, metadata=metadata,
                                          email="fremd@example.org")  # fmt: skip
        life = Life(name, "monthly" if monthly else "one_time", session["id"], None, "fremd@example.org",
                    events)  # fmt: skip
        play = Play(world, life)
        if monthly:
            play.renew()
            play.refund(10000, invoice=1)
            play.dispute(invoice=0)
        else:
            play.refund(10000)
        foreign.append(life)
    r.foreign += foreign
    deliveries = r.courier.sequences([life.events for life in foreign], "foreign")
    assert answer_problems(deliveries) == []
    assert settle(r) == 0
    with r.app.app_context():
        donation = db.session.get(Donation, int(ours["donation_id"]))
        assert (donation.status, donation.donor_id, donation.paid_at, donation.payments) == (
            DonationStatus.OPEN, None, None, [])  # fmt: skip
        assert _counts(Donor, DonorMail) == (donors, mails)
        ids = [d.event["id"] for d in deliveries]
        states = set(db.session.scalars(select(StripeEvent.state).where(StripeEvent.id.in_(ids))))
        assert EventState.APPLIED not in states and EventState.PARKED not in states, states
        db.session.remove()
    check_everything(r, "foreign", deliveries, [])
