"""The whole statistics dashboard's queries over a newsroom-sized history, on PostgreSQL.

A generator writes 1,000,000 donations with their payments (one-time gifts, monthly ones with a payment a
month, refunds, disputes, failed and recovered payments, cancellations), 200,000 readers with their
history and 100 sent issues with their send ledger (50,000 recipients each), with COPY. Then it times
``payments.reports.money.dashboard`` for the last 12 months (every figure of the admin page, and the previous
period's for the deltas) again and again, and reports p95. Baseline in the same run: one plain scan,
``SELECT count(*), sum(amount_cents) FROM donation_payments``, timed the same way; the ratio says how many
such scans the whole page costs. After the bulk load the generator fills the statistics' summaries with
migration 0014's ``backfill`` (the same set-based SQL an upgraded database gets).

    python -m bench.stats [--quick] [--keep]

Uses ``BENCH_DATABASE_URL`` when given, else its own database ``beitrag_bench_stats`` (made afresh,
dropped at the end unless ``--keep``; with ``--keep`` a later run of the same size reuses the data).
"""

from __future__ import annotations

import io
import os
import random
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, text

from bench import common

GOAL_P95_MS = 300.0
DATABASE = "beitrag_bench_stats"
SIZES = {
    "full": {"donations": 1_000_000, "subscribers": 200_000, "issues": 100, "repeats": 10},
    "quick": {"donations": 50_000, "subscribers": 20_000, "issues": 20, "repeats": 10},
}
HISTORY_DAYS = 3 * 365
NEWSLETTERS = 4  # each issue goes to one of them: a quarter of the readers


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S+00")


def _copy(raw, table: str, columns: str, lines: list[str]) -> None:
    with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for index, line in enumerate(lines, 1):
            buffer.write(line)
            if index % 50_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def _readers(raw, rng: random.Random, n: int, now: datetime) -> None:
    subscribers, subscriptions, events = [], [], []
    sources = ("web", "web", "web", "import", "social", "article", r"\N")
    event_id = 0
    for i in range(1, n + 1):
        created = now - timedelta(seconds=rng.randrange(HISTORY_DAYS * 86400))
        roll = rng.random()
        status = (
            "active"
            if roll < 0.85
            else "unsubscribed"
            if roll < 0.93
            else "bounced"
            if roll < 0.97
            else "pending"
        )
        confirmed = _ts(created + timedelta(hours=1)) if status != "pending" else r"\N"
        left = created + timedelta(seconds=rng.randrange(max(int((now - created).total_seconds()), 1)))
        subscribers.append(
            f"{i}\tr{i}@bench.example\t{status}\tde\t{rng.choice(sources)}\t{_ts(created)}\t{_ts(created)}\t"
            f"{confirmed}\t{_ts(left) if status == 'unsubscribed' else chr(92) + 'N'}\tnormal\t0\n"
        )
        subscriptions.append(f"{i}\t{i % NEWSLETTERS + 1}\t{_ts(created)}\n")
        event_id += 1
        events.append(f"{event_id}\t{i}\tsubscribed\t{{}}\t{_ts(created)}\n")
        if status != "pending":
            event_id += 1
            events.append(f"{event_id}\t{i}\tconfirmed\t{{}}\t{_ts(created + timedelta(hours=1))}\n")
        if status in ("unsubscribed", "bounced"):
            event_id += 1
            events.append(f"{event_id}\t{i}\t{status}\t{{}}\t{_ts(left)}\n")
    _copy(raw, "subscribers", "id, email, status, locale, source, created_at, updated_at, confirmed_at, "
          "unsubscribed_at, ask_frequency, soft_bounces", subscribers)  # fmt: skip
    _copy(raw, "subscriptions", "subscriber_id, newsletter_id, created_at", subscriptions)
    _copy(raw, "subscriber_events", "id, subscriber_id, kind, detail, created_at", events)


def _issues(raw, n: int, now: datetime) -> list[tuple[int, datetime]]:
    issues = []
    lines = []
    for i in range(1, n + 1):
        sent = now - timedelta(days=(n - i) * 7 + 1, hours=-6)
        issues.append((i, sent))
        lines.append(f"{i}\tIssue {i}\t\t\tdigest\tsent\tRedaktion\tnews@bench.example\t{_ts(sent)}\tf\t"
                     f"{_ts(sent)}\t{_ts(sent)}\n")  # fmt: skip
    _copy(raw, "issues", "id, subject, preheader, intro, layout, state, sender_name, sender_address, "
          "sent_at, "
          "show_goal, created_at, updated_at", lines)  # fmt: skip
    _copy(
        raw,
        "issue_newsletters",
        "issue_id, newsletter_id",
        [f"{i}\t{i % NEWSLETTERS + 1}\n" for i, _ in issues],
    )
    return issues


def _deliveries(raw) -> None:
    """The send ledger: every reader of the issue's newsletter who had signed up by then (in SQL)."""
    with raw.cursor() as cursor:
        cursor.execute(
            "INSERT INTO deliveries (issue_id, subscriber_id, newsletter_id, variant, status, attempts, "
            " sent_at, created_at) "
            "SELECT i.id, s.id, n.newsletter_id, 'default',"
            " CASE WHEN s.id % 100 = 0 THEN 'failed' WHEN s.id % 100 = 1 THEN 'bounced'"
            "      WHEN s.id % 100 = 2 THEN 'skipped' ELSE 'sent' END, 1,"
            " i.sent_at + make_interval(secs => s.id % 3600), i.sent_at "
            "FROM issues i JOIN issue_newsletters n ON n.issue_id = i.id "
            "JOIN subscriptions sub ON sub.newsletter_id = n.newsletter_id "
            "JOIN subscribers s ON s.id = sub.subscriber_id AND s.created_at < i.sent_at"
        )


def _donations(raw, rng: random.Random, n: int, readers: int, issues, now: datetime) -> None:
    donors, donations, payments = [], [], []
    donor_count = max(n // 6, 1)
    for d in range(1, donor_count + 1):
        reader = rng.randrange(1, readers + 1) if rng.random() < 0.6 else None
        donors.append(f"{d}\td{d}@bench.example\t{reader if reader else chr(92) + 'N'}\tcus_{d}\tde\t"
                      f"{_ts(now)}\n")  # fmt: skip
    seen_readers: set[int] = set()
    donors = [line for line in donors if _unique_reader(line, seen_readers)]
    donor_ids = [int(line.split("\t", 1)[0]) for line in donors]
    payment_id = 0
    for i in range(1, n + 1):
        monthly = rng.random() < 0.12
        start = now - timedelta(seconds=rng.randrange(HISTORY_DAYS * 86400))
        currency = "usd" if rng.random() < 0.005 else "eur"
        amount = rng.choice((500, 1000, 1000, 2000) if monthly else (300, 500, 1000, 1500, 2500, 5000))
        issue_id, link = r"\N", r"\N"
        if rng.random() < 0.2:
            issue_id, link = str(rng.choice(issues)[0]), rng.choice(("ask", "top", "footer"))
        ended, reason = r"\N", r"\N"
        if monthly:
            months = min(int(rng.expovariate(1 / 14)) + 1, 60)
            end = start + timedelta(days=30 * months)
            status = "active"
            if end < now:
                status, reason = "ended", rng.choice(("cancellation_requested", "cancellation_requested",
                                                      "payment_failed"))  # fmt: skip
                ended = _ts(end)
            when, k = start, 0
            while when <= min(end, now):
                payment_id += 1
                failed = rng.random() < 0.03
                paid = when + timedelta(days=3) if failed else when
                payments.append(f"{payment_id}\t{i}\tin_{payment_id}\t{amount}\t{currency}\tpaid\t0\t\\N\t"
                                f"{1 if failed else 0}\t{int(when.timestamp())}\t{_ts(when)}\t"
                                f"{_ts(paid)}\n")  # fmt: skip
                k += 1
                when = start + timedelta(days=30 * k)
            paid_at = _ts(start)
        else:
            roll = rng.random()
            status = "paid" if roll < 0.94 else "refunded" if roll < 0.97 else "failed"
            payment_id += 1
            refunded = amount if status == "refunded" else (amount // 2 if rng.random() < 0.02 else 0)
            dispute = rng.choice(("won", "lost", "open")) if rng.random() < 0.005 else r"\N"
            pstatus = status if status != "failed" else "failed"
            paid_at = _ts(start) if status != "failed" else r"\N"
            payments.append(f"{payment_id}\t{i}\t\\N\t{amount}\t{currency}\t{pstatus}\t{refunded}\t{dispute}\t0\t"
                            f"{int(start.timestamp())}\t{_ts(start)}\t{paid_at}\n")  # fmt: skip
        donations.append(
            f"{i}\tref{i}\t{rng.choice(donor_ids)}\t{'monthly' if monthly else 'one_time'}\t{amount}\t"
            f"{currency}\t"
            f"{status}\tde\t{issue_id}\t{link}\t{reason}\t{_ts(start)}\t{paid_at}\t{ended}\n"
        )
    _copy(raw, "donors", "id, email, subscriber_id, stripe_customer_id, locale, created_at", donors)
    _copy(raw, "donations", "id, reference, donor_id, kind, amount_cents, currency, status, locale, "
          "issue_id, "
          "source_link, cancel_reason, created_at, paid_at, ended_at", donations)  # fmt: skip
    _copy(raw, "donation_payments", "id, donation_id, stripe_invoice_id, amount_cents, currency, status, "
          "refunded_cents, dispute_status, failure_count, stripe_created, created_at, paid_at",
          payments)  # fmt: skip


def _unique_reader(line: str, seen: set[int]) -> bool:
    reader = line.split("\t")[2]
    if reader == r"\N":
        return True
    if int(reader) in seen:
        return False
    seen.add(int(reader))
    return True


def _generate(url: str, size: dict, now: datetime) -> float:
    started = time.perf_counter()
    rng = random.Random(2026)
    engine = create_engine(url)
    raw = engine.raw_connection()
    try:
        driver = raw.driver_connection
        with driver.cursor() as cursor:
            cursor.execute(
                "INSERT INTO newsletters (id, slug, name, description, is_public, is_default, position, "
                "created_at) "
                "SELECT g, 'n' || g, 'Newsletter ' || g, '', true, g = 1, g, now() "
                "FROM generate_series(1, %s) g",
                (NEWSLETTERS,),
            )
        _readers(driver, rng, size["subscribers"], now)
        issues = _issues(driver, size["issues"], now)
        _deliveries(driver)
        _donations(driver, rng, size["donations"], size["subscribers"], issues, now)
        with driver.cursor() as cursor:
            for table in ("newsletters", "subscribers", "subscriber_events", "issues", "deliveries", "donors",
                          "donations", "donation_payments"):  # fmt: skip
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                               f"(SELECT coalesce(max(id), 1) FROM {table}))")  # fmt: skip
            _backfill(cursor)
            cursor.execute("CREATE TABLE bench_marker (size text)")
            cursor.execute("INSERT INTO bench_marker VALUES (%s)", (_marker(size),))
        driver.commit()
        driver.autocommit = True
        with driver.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    finally:
        raw.close()
        engine.dispose()
    return time.perf_counter() - started


def _backfill(cursor) -> None:
    """The summaries the dashboard reads (payment_tallies, donor_first_gifts, issue_tallies, the issue each
    leaving reader is blamed on, each reader's first gift), filled from the bulk-loaded ledgers by the
    same set-based SQL as the backfills of migrations 0014, 0016 and 0017 (COPY passes no ORM flush, so
    nothing kept them while loading)."""
    import importlib.util
    from pathlib import Path

    started = time.perf_counter()
    for name in ("0014_stats", "0016_unsubscribe_blame", "0017_reader_first_gift"):
        path = Path(__file__).resolve().parent.parent / "migrations" / "versions" / f"{name}.py"
        spec = importlib.util.spec_from_file_location(f"migration_{name}", path)
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        migration.backfill(cursor.execute, "postgresql")
    print(f"summaries filled from the ledgers in {time.perf_counter() - started:.1f} s")


def _marker(size: dict) -> str:
    return repr(sorted((k, v) for k, v in size.items() if k != "repeats")) + " summaries"


def _has_data(url: str, size: dict) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT to_regclass('bench_marker') IS NOT NULL")).scalar()
            stored = conn.execute(text("SELECT size FROM bench_marker")).scalar() if found else None
            return stored == _marker(size)
    finally:
        engine.dispose()


def _own_database(keep: bool):
    import contextlib

    @contextlib.contextmanager
    def manage():
        given = os.environ.get("BENCH_DATABASE_URL")
        if given:
            yield given
            return
        admin = create_engine(os.environ.get("BENCH_PG_ADMIN_URL", common.DEFAULT_PG_ADMIN_URL),
                              isolation_level="AUTOCOMMIT")  # fmt: skip
        with admin.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DATABASE}
            ).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
        url = admin.url.set(database=DATABASE).render_as_string(hide_password=False)
        try:
            yield url
        finally:
            if not keep:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
            admin.dispose()

    return manage()


def _reset(url: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _slowest_queries(engine, call, top: int = 6) -> list[tuple[float, str]]:
    """Each statement of one call with its time, the slowest first: where the page's time goes."""
    from sqlalchemy import event

    timings: list[tuple[float, str]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        timings.append((time.perf_counter() - conn.info["bench_started"], " ".join(statement.split())[:90]))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return sorted(timings, reverse=True)[:top]


def _time(call, repeats: int) -> list[float]:
    call()  # warm: plans and pages in the cache, as on a page looked at twice
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def main() -> None:
    args = common.arguments(
        __doc__.splitlines()[0],
        [(["--keep"], {"action": "store_true", "help": "keep the database for a rerun"})],
    )
    size = SIZES["quick" if args.quick else "full"]
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    print(f"stats: {size['donations']:,} donations, {size['subscribers']:,} readers, {size['issues']} issues "
          f"on PostgreSQL; {common.machine()}")  # fmt: skip
    with _own_database(args.keep) as url, common.redis_server() as redis_url:
        if _has_data(url, size):
            print("reusing the data of an earlier run of this size (--keep)")
            generated = 0.0
        else:
            _reset(url)
            with common.bench_app(url, redis_url):
                pass  # the schema, by the migrations
            generated = _generate(url, size, now)
            print(f"generated in {generated:.1f} s")
        with common.bench_app(url, redis_url) as app:
            from db import db
            from newsletter.stats.periods import parse_period
            from payments.reports import money

            period = parse_period("last_12_months", None, None, zone="Europe/Berlin", now=now)
            session = db.session
            counts = session.execute(text(
                "SELECT (SELECT count(*) FROM donations), (SELECT count(*) FROM donation_payments), "
                "(SELECT count(*) FROM subscribers), (SELECT count(*) FROM deliveries), "
                "(SELECT count(*) FROM issues WHERE sent_at >= :s AND sent_at < :e)"
            ), {"s": period.start, "e": period.end}).one()  # fmt: skip
            print(f"data: {counts[0]:,} donations, {counts[1]:,} payments, {counts[2]:,} readers, "
                  f"{counts[3]:,} ledger rows; {counts[4]} issues in the period")  # fmt: skip

            def page():
                shown = money.dashboard(session, period, currency=app.config["DONATION_CURRENCY"])
                session.rollback()
                return shown

            figures = page()
            print(f"last 12 months: net {figures['revenue']['total']['net_cents'] / 100:,.2f} EUR, "
                  f"MRR at the end {figures['mrr']['months'][-1]['mrr_cents'] / 100:,.2f} EUR, "
                  f"{len(figures['issues'])} issues")  # fmt: skip
            dashboard = common.summary_ms(_time(page, size["repeats"]))

            def scan():
                session.execute(text("SELECT count(*), sum(amount_cents) FROM donation_payments")).one()
                session.rollback()

            baseline = common.summary_ms(_time(scan, size["repeats"]))
            slowest = _slowest_queries(db.engine, page)
    print("slowest queries of one page:")
    for seconds, statement in slowest:
        print(f"  {seconds * 1000:7.0f} ms  {statement}")
    ratio = dashboard["p95_ms"] / baseline["p95_ms"]
    met = dashboard["p95_ms"] <= GOAL_P95_MS
    print(f"dashboard (every figure, 12 months + the previous period): p50 {dashboard['p50_ms']:.0f} ms, "
          f"p95 {dashboard['p95_ms']:.0f} ms")  # fmt: skip
    print(f"baseline, one scan of donation_payments: p50 {baseline['p50_ms']:.0f} ms, "
          f"p95 {baseline['p95_ms']:.0f} ms; ratio {ratio:.2f}")  # fmt: skip
    verdict = "met" if met else "not met"
    print(f"goal p95 <= {GOAL_P95_MS:.0f} ms: {verdict if not args.quick else verdict + ' (quick size)'}")
    shown = {k: v for k, v in size.items() if k != "repeats"}
    shown |= {"payments": counts[1], "deliveries": counts[3]}
    common.emit({
        "bench": "stats", "size": shown,
        "p95_ms": dashboard["p95_ms"], "p50_ms": dashboard["p50_ms"],
        "baseline_p95_ms": baseline["p95_ms"], "ratio": round(ratio, 2),
        "generated_s": round(generated, 1), "goal": {"p95_ms": GOAL_P95_MS, "met": met},
    })  # fmt: skip


if __name__ == "__main__":
    main()
