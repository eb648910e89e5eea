"""The admin donor list at 1,000,000 donations, on PostgreSQL: every filter, the first and a deep page.

Makes 250,000 donors with 1,000,000 donations (one in ten monthly, with five more monthly payments each;
refunds, lost disputes, failures and ended subscriptions among them), then times ``donors.list_donors``
(one page of 50) for the first page, a page in the middle (keyset ``after``), an address prefix, each
supporter state, a total-given range and a first-gift range. Baseline in the same run: the same middle
page the naive way, totals aggregated for every donor and the page cut with OFFSET.

    python -m bench.donors [--quick]

``BENCH_DATABASE_URL`` names a database to use (its donor tables are emptied afterwards); otherwise a
fresh database is made and dropped.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import text

from bench import common

GOAL_P95_MS = 300.0
ROUNDS = 7


def _populate(db, donors_n: int, donations_n: int) -> None:
    conn = db.session.connection()
    conn.execute(text(
        "INSERT INTO donors (id, email, locale, created_at) "
        "SELECT g, 'spender' || g || '@example.org', 'de', now() FROM generate_series(1, :n) AS g"
    ), {"n": donors_n})  # fmt: skip
    conn.execute(text(
        "INSERT INTO donations (id, reference, donor_id, kind, amount_cents, currency, status, locale, "
        " created_at, paid_at, subscription_status) "
        "SELECT g, 'r' || g, ((g::bigint * 7919) % :n) + 1,"
        " CASE WHEN g % 10 = 0 THEN 'monthly' ELSE 'one_time' END,"
        " 300 + (g % 20) * 100, 'eur',"
        " CASE WHEN g % 10 = 0 THEN (CASE WHEN g % 30 = 0 THEN 'active' ELSE 'ended' END)"
        "      WHEN g % 37 = 0 THEN 'failed' WHEN g % 41 = 0 THEN 'refunded' ELSE 'paid' END,"
        " 'de', now() - (g % 900) * interval '1 day', now() - (g % 900) * interval '1 day',"
        " CASE WHEN g % 10 = 0 THEN (CASE WHEN g % 300 = 0 THEN 'past_due' ELSE 'active' END) END "
        "FROM generate_series(1, :m) AS g"
    ), {"n": donors_n, "m": donations_n})  # fmt: skip
    conn.execute(text(
        "INSERT INTO donation_payments (donation_id, amount_cents, currency, status, refunded_cents,"
        " dispute_status, failure_count, stripe_created, created_at, paid_at) "
        "SELECT d.id, d.amount_cents, 'eur',"
        " CASE WHEN d.status = 'failed' THEN 'failed' WHEN d.status = 'refunded' THEN 'refunded'"
        "      ELSE 'paid' END,"
        " CASE WHEN d.status = 'refunded' THEN d.amount_cents WHEN d.id % 53 = 0 THEN d.amount_cents / 2"
        "      ELSE 0 END,"
        " CASE WHEN d.id % 211 = 0 THEN 'lost' END, 0,"
        " extract(epoch FROM d.created_at)::bigint + m * 2592000, d.created_at + m * interval '30 days',"
        " CASE WHEN d.status = 'failed' THEN NULL ELSE d.created_at + m * interval '30 days' END "
        "FROM donations d CROSS JOIN generate_series(0, 5) AS m "
        "WHERE m = 0 OR d.kind = 'monthly'"
    ))  # fmt: skip
    conn.execute(text("SELECT setval(pg_get_serial_sequence('donors', 'id'), :n)"), {"n": donors_n})
    conn.execute(text("SELECT setval(pg_get_serial_sequence('donations', 'id'), :m)"), {"m": donations_n})
    db.session.commit()
    conn = db.session.connection()
    conn.execute(text("ANALYZE"))
    db.session.commit()


def _cases(donors_n: int):
    from db import utcnow
    from payments.supporters.donors import DonorFilter

    now = utcnow()
    middle = donors_n // 2
    return {
        "first page": (DonorFilter(), None),
        "middle page": (DonorFilter(), middle),
        "prefix spender12": (DonorFilter(query="spender12"), None),
        "state monthly": (DonorFilter(state="monthly"), None),
        "state failing": (DonorFilter(state="failing"), None),
        "state one_time": (DonorFilter(state="one_time"), None),
        "state lapsed": (DonorFilter(state="lapsed"), None),
        "state never": (DonorFilter(state="never"), None),
        "total 100-120 EUR": (DonorFilter(min_total=10_000, max_total=12_000), None),
        "first gift last 30 days": (DonorFilter(first_from=now - timedelta(days=30)), None),
    }


def _naive(db, after: int) -> float:
    started = time.perf_counter()
    db.session.execute(text(
        "SELECT d.id, d.email, coalesce(sum(CASE WHEN p.dispute_status = 'lost' THEN 0"
        " ELSE p.amount_cents - p.refunded_cents END) FILTER (WHERE p.paid_at IS NOT NULL), 0),"
        " min(p.paid_at) "
        "FROM donors d LEFT JOIN donations g ON g.donor_id = d.id LEFT JOIN donation_payments p"
        " ON p.donation_id = g.id GROUP BY d.id ORDER BY d.id DESC LIMIT 50 OFFSET :offset"
    ), {"offset": after}).all()  # fmt: skip
    db.session.rollback()
    return time.perf_counter() - started


def _measure(db, donors_n: int) -> tuple[dict[str, dict], list[float], float]:
    from payments.supporters import donors

    samples: dict[str, list[float]] = {}
    every: list[float] = []
    for _ in range(ROUNDS):
        for name, (flt, after) in _cases(donors_n).items():
            started = time.perf_counter()
            page = donors.list_donors(db.session, flt, after=after)
            seconds = time.perf_counter() - started
            db.session.rollback()
            assert page.rows or name.startswith(("state", "total", "first gift")), name
            samples.setdefault(name, []).append(seconds)
            every.append(seconds)
    baseline = min(_naive(db, donors_n // 2) for _ in range(3))
    return {name: common.summary_ms(values) for name, values in samples.items()}, every, baseline


def main() -> None:
    args = common.arguments(__doc__.splitlines()[0])
    donors_n, donations_n = (25_000, 100_000) if args.quick else (250_000, 1_000_000)
    print(f"donors: {donors_n:,} donors, {donations_n:,} donations on PostgreSQL; {common.machine()}")
    with (
        common.postgres_database() as database_url,
        common.redis_server() as redis_url,
        common.bench_app(database_url, redis_url),
    ):
        from db import db

        started = time.perf_counter()
        _populate(db, donors_n, donations_n)
        payments = db.session.scalar(text("SELECT count(*) FROM donation_payments"))
        print(f"data: {payments:,} payments, made in {time.perf_counter() - started:.0f} s")
        try:
            cases, every, baseline = _measure(db, donors_n)
        finally:
            db.session.rollback()
            db.session.execute(text("TRUNCATE donation_payments, donations, donors CASCADE"))
            db.session.commit()
    for name, figures in cases.items():
        print(f"  {name:<26} p50 {figures['p50_ms']:8.1f} ms   p95 {figures['p95_ms']:8.1f} ms")
    overall = common.summary_ms(every)
    middle = cases["middle page"]["p50_ms"]
    print(f"all pages: p95 {overall['p95_ms']:.1f} ms over {overall['n']} pages")
    print(f"baseline, aggregate everything + OFFSET for the middle page: {baseline * 1000:.0f} ms "
          f"(ratio {baseline * 1000 / middle:.0f}x the keyset page)")  # fmt: skip
    common.emit(
        {
            "bench": "donors", "size": {"donors": donors_n, "donations": donations_n, "payments": payments},
            "p95_ms": overall["p95_ms"], "middle_page_p50_ms": middle,
            "baseline_middle_page_ms": round(baseline * 1000, 1), "ratio": round(baseline * 1000 / middle, 1),
            "cases": cases, "goal": {"p95_ms": GOAL_P95_MS, "met": overall["p95_ms"] <= GOAL_P95_MS},
        }
    )  # fmt: skip


if __name__ == "__main__":
    main()
