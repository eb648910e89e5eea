"""Month-start renewals: signed ``invoice.paid`` events at a fixed rate (open loop) to POST /webhooks/stripe.

On the first of the month Stripe renews every monthly donation within a few hours and reports each one
with an ``invoice.paid`` event; Beitrag must take them as fast as they come, apply each once and write
one receipt each, without ever calling Stripe while it answers. This benchmark starts PostgreSQL and
Redis (bench/common.py), upgrades the schema, bulk-inserts N running monthly donations with their donors,
starts gunicorn as bench/subscribe.py does (2 gthread workers x 16 threads) and sends one event per
donation at the given rate, each on its own connection, latency measured from the scheduled send time
(a stalled server cannot hide its queue). Then the same events go to the baseline, a bare Flask endpoint
that checks the signature with the SDK and inserts the event row (bench/webhooks_baseline.py).

The events are shaped as API version 2026-10-28 shapes them: the invoice's subscription and our metadata
sit under ``parent.subscription_details``; there is no top-level ``subscription``, ``charge``,
``payment_intent``, ``paid`` or ``payments``. Bodies are built before the clock starts; each is signed
(``Stripe-Signature: t=...,v1=...``) just before it is sent, as Stripe signs every delivery anew.

``STRIPE_API_BASE`` points at a closed port: a call to Stripe while answering would fail after the SDK's
retries and show as slow requests. Neither the clock nor an RQ worker runs: the webhook writes each
receipt to the donor-mail outbox (the clock's sweep queues them, 200 per round trip), so the receipts are
counted as ``donor_mails`` rows. Three seconds of events for other donations go first, so every worker
has opened its database connections before the clock starts.

    python -m bench.webhooks [--quick] [--events 10000] [--rate 100]
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import hmac
import json
import os
import secrets
import signal
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from bench import common
from bench.subscribe import gunicorn, workers_cpu_seconds

GOAL_P99_MS = 50.0
EVENTS = 10_000
QUICK_EVENTS = 1_000
API_VERSION = "2026-10-28.endive"
PRESETS_CENTS = (300, 500, 1000, 2500)  # payments.settings DONATION_PRESETS_CENTS
MONTH = timedelta(days=30)
TIMEOUT_SECONDS = 10.0


# --- the data: N running monthly donations, as a month of checkouts and renewals leaves them ---------------


def _populate(engine, count: int, now: datetime) -> list[dict]:
    """``count`` monthly donations (status active, last paid a month ago), each with its own donor who
    already has a Stripe customer, inserted with Core bulk inserts on the models' tables (so any column
    with a Python-side default gets it). Returns per donation what its renewal event names."""
    from sqlalchemy import insert

    from payments.models import Donation, DonationKind, DonationStatus, Donor, DonorFirstGift

    last_paid = now - MONTH  # the first payment, at checkout: this run is the first renewal
    started = last_paid - timedelta(minutes=3)
    plans = [
        {
            "email": f"spender{i}@example.org",
            "customer": f"cus_bench_{i}",
            "subscription": f"sub_bench_{i}",
            "amount": PRESETS_CENTS[i % len(PRESETS_CENTS)],
            "locale": "en" if i % 5 == 0 else "de",
        }
        for i in range(count)
    ]
    donors_t, donations_t, first_t = Donor.__table__, Donation.__table__, DonorFirstGift.__table__
    with engine.begin() as conn:
        donor_ids = conn.scalars(
            insert(donors_t).returning(donors_t.c.id, sort_by_parameter_order=True),
            [
                {"email": p["email"], "stripe_customer_id": p["customer"], "locale": p["locale"],
                 "created_at": started, "first_gift_at": last_paid}
                for p in plans
            ],
        ).all()  # fmt: skip
        rows = []
        for plan, donor_id in zip(plans, donor_ids, strict=True):
            plan["reference"] = secrets.token_urlsafe(18)
            rows.append({
                "reference": plan["reference"], "donor_id": donor_id, "kind": DonationKind.MONTHLY,
                "amount_cents": plan["amount"], "currency": "eur", "status": DonationStatus.ACTIVE,
                "locale": plan["locale"], "email": plan["email"],
                "stripe_subscription_id": plan["subscription"], "subscription_status": "active",
                "subscription_status_at": int(last_paid.timestamp()), "created_at": started,
                "paid_at": last_paid,
            })  # fmt: skip
        donation_ids = conn.scalars(
            insert(donations_t).returning(donations_t.c.id, sort_by_parameter_order=True), rows
        ).all()
        conn.execute(
            insert(first_t), [{"donor_id": d, "currency": "eur", "first_at": last_paid} for d in donor_ids]
        )
    for plan, donation_id in zip(plans, donation_ids, strict=True):
        plan["donation_id"] = donation_id
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    return plans


# --- the events ------------------------------------------------------------------------------------------


def _invoice(plan: dict, invoice_id: str, now: int) -> dict:
    """A paid renewal invoice, with every key of Stripe's sample invoice (stripe/openapi fixtures3.json)
    except the top-level ``subscription`` that API version 2026-10-28 no longer sends."""
    amount, currency, subscription = plan["amount"], "eur", plan["subscription"]
    created = now - 3600  # Stripe drafts the renewal invoice an hour before it finalizes and charges it
    period_start = created - int(MONTH.total_seconds())
    line_id = "il_" + invoice_id[3:]
    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "DE",
        "account_name": "KI-Kompass gUG",
        "account_tax_ids": None,
        "amount_due": amount,
        "amount_overpaid": 0,
        "amount_paid": amount,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 1,
        "attempted": True,
        "auto_advance": False,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": "subscription_cycle",
        "collection_method": "charge_automatically",
        "created": created,
        "currency": currency,
        "custom_fields": None,
        "customer": plan["customer"],
        "customer_account": None,
        "customer_address": None,
        "customer_email": plan["email"],
        "customer_name": None,
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": now,
        "ending_balance": 0,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_bench/test_{invoice_id[3:]}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/acct_bench/test_{invoice_id[3:]}/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": [
                {
                    "id": line_id,
                    "object": "line_item",
                    "amount": amount,
                    "currency": currency,
                    "description": f"1 × Monatliche Spende (at €{amount / 100:.2f} / month)",
                    "discount_amounts": [],
                    "discountable": True,
                    "discounts": [],
                    "invoice": invoice_id,
                    "livemode": False,
                    "metadata": {},
                    "parent": {
                        "type": "subscription_item_details",
                        "invoice_item_details": None,
                        "subscription_item_details": {
                            "invoice_item": None,
                            "proration": False,
                            "proration_details": {"credited_items": None},
                            "subscription": subscription,
                            "subscription_item": "si_" + subscription[4:],
                        },
                    },
                    "period": {"end": created + int(MONTH.total_seconds()), "start": created},
                    "pretax_credit_amounts": [],
                    "pricing": {
                        "type": "price_details",
                        "price_details": {"price": f"price_bench_{amount}", "product": "prod_bench_monthly"},
                        "unit_amount_decimal": str(amount),
                    },
                    "quantity": 1,
                    "quantity_decimal": "1",
                    "subscription": subscription,
                    "subtotal": amount,
                    "taxes": [],
                }
            ],
            "has_more": False,
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None,
        "number": f"BEITRAG-{invoice_id[-8:]}",
        "on_behalf_of": None,
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {
                "subscription": subscription,
                "metadata": {
                    "donation_id": str(plan["donation_id"]),
                    "donation_reference": plan["reference"],
                },
            },
        },
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": created,
        "period_start": period_start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "paid",
        "status_transitions": {
            "finalized_at": now,
            "marked_uncollectible_at": None,
            "paid_at": now,
            "voided_at": None,
        },
        "subtotal": amount,
        "subtotal_excluding_tax": amount,
        "test_clock": None,
        "total": amount,
        "total_discount_amounts": [],
        "total_excluding_tax": amount,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }


def _event_body(plan: dict, event_id: str, invoice_id: str, now: int) -> bytes:
    """The bytes Stripe posts: the event, pretty-printed with two spaces as Stripe sends it."""
    event = {
        "id": event_id,
        "object": "event",
        "api_version": API_VERSION,
        "created": now,
        "data": {"object": _invoice(plan, invoice_id, now)},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},  # a renewal: no API request caused it
        "type": "invoice.paid",
    }
    return json.dumps(event, indent=2, ensure_ascii=False).encode()


# --- the load: open loop, each request signed as it leaves --------------------------------------------------


def _heads(bodies: list[bytes]) -> list[bytes]:
    """Everything of each request before the signature's value, built before the clock starts."""
    return [
        b"POST /webhooks/stripe HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: Stripe/1.0 (+https://stripe.com/docs/"
        b"webhooks)\r\nContent-Type: application/json; charset=utf-8\r\nConnection: close\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\nStripe-Signature: "
        for body in bodies
    ]


def _signed(head: bytes, body: bytes, key: bytes) -> bytes:
    timestamp = str(int(time.time())).encode()
    v1 = hmac.new(key, timestamp + b"." + body, hashlib.sha256).hexdigest().encode()
    return head + b"t=" + timestamp + b",v1=" + v1 + b"\r\n\r\n" + body


def _load(port: int, bodies: list[bytes], secret: str, rate: float) -> list[tuple[int, float, bytes]]:
    """Request i is signed and sent at start + i / rate (``common.open_loop``): the signing happens at the
    moment of sending, as a signature is only good for 300 s."""
    heads, key = _heads(bodies), secret.encode()
    return common.open_loop(port, len(bodies), lambda i: _signed(heads[i], bodies[i], key), rate,
                            TIMEOUT_SECONDS)  # fmt: skip


def _detail(answer: bytes) -> str:
    try:
        parsed = json.loads(answer)
        return str(parsed.get("status") or parsed.get("error"))
    except (ValueError, AttributeError):
        return answer[:60].decode(errors="replace")


def postgres_cpu_ticks(database: str) -> dict[int, int]:
    """CPU clock ticks (user + system) so far of each local PostgreSQL backend serving ``database`` (Linux
    /proc; a backend's title names its database): the database's share of each request, which the
    workers' CPU does not show. The server's shared processes (WAL writer, checkpointer) are left out;
    on a remote server there are none."""
    ticks = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                title = handle.read()
            if not title.startswith(b"postgres: ") or f" {database} ".encode() not in title:
                continue
            with open(f"/proc/{pid}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks[int(pid)] = int(fields[11]) + int(fields[12])
    return ticks


def postgres_cpu_seconds(before: dict[int, int], after: dict[int, int]) -> float:
    """The backends' CPU seconds between two readings; a backend that ended meanwhile is not counted."""
    return sum(t - before.get(pid, 0) for pid, t in after.items()) / os.sysconf("SC_CLK_TCK")


def run_load(
    port: int, bodies: list[bytes], secret: str, rate: float, master: int | None = None, database: str = ""
) -> dict:
    # The load generator's own garbage collection would delay sends (and count as server latency).
    gc.collect()
    gc.disable()
    cpu_before = workers_cpu_seconds(master) if master else 0.0
    postgres_before = postgres_cpu_ticks(database) if database else {}
    generator_before = time.process_time()
    try:
        began = time.perf_counter()
        results = _load(port, bodies, secret, rate)
        elapsed = time.perf_counter() - began
    finally:
        gc.enable()
    generator_cpu = time.process_time() - generator_before
    cpu = workers_cpu_seconds(master) - cpu_before if master else None
    postgres_cpu = postgres_cpu_seconds(postgres_before, postgres_cpu_ticks(database) if database else {})
    ok = [latency for status, latency, _ in results if 200 <= status < 300]
    statuses = Counter(status for status, _, _ in results)
    answered = len(results) - statuses.get(0, 0)
    summary = common.summary_ms(ok) if ok else {"p50_ms": None, "p95_ms": None, "p99_ms": float("inf")}
    # When the slow answers came (seconds into the run): a cluster says stall, a spread says steady cost.
    slow = [round(i / rate, 1) for i, (status, latency, _) in enumerate(results)
            if 200 <= status < 300 and latency * 1000 > GOAL_P99_MS]  # fmt: skip
    return {
        **summary,
        "non_2xx": len(results) - len(ok),
        "statuses": dict(sorted(statuses.items())),
        "details": dict(Counter(_detail(answer) for _, _, answer in results).most_common(6)),
        "max_ms": round(max(ok) * 1000, 1) if ok else None,
        "slow": len(slow),
        "slow_at_s": slow[:12],
        "achieved_rps": round(len(results) / elapsed, 1),
        "cpu_s": round(cpu, 2) if cpu is not None else None,
        "postgres_cpu_s": round(postgres_cpu, 2),
        # Per answered request: on a swamped machine the requests the client gave up on were not all served.
        "cpu_ms_per_request": round(1000 * cpu / answered, 2) if cpu is not None and answered else None,
        "generator_cpu_ms_per_request": round(1000 * generator_cpu / len(results), 3),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


# --- the run ------------------------------------------------------------------------------------------------


def _children(master: int) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as handle:
                if int(handle.read().rsplit(")", 1)[1].split()[1]) == master:
                    found.append(int(pid))
        except (OSError, ValueError, IndexError):
            continue
    return found


@contextlib.contextmanager
def server(target: str, env: dict[str, str]):
    """gunicorn as bench/subscribe.py starts it, with no worker left behind: a worker still holding a
    backlog of requests the client gave up on goes on applying them after its master was stopped, and
    would take the CPU from the next side of the comparison. Such workers (ours, by pid) are killed."""
    with gunicorn(target, env) as (port, master):
        try:
            yield port, master
        finally:
            workers = _children(master)
    deadline = time.monotonic() + 5
    for pid in workers:
        while time.monotonic() < deadline and _is_gunicorn(pid):
            time.sleep(0.1)
        if _is_gunicorn(pid):
            os.kill(pid, signal.SIGKILL)


def _is_gunicorn(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return b"gunicorn" in handle.read()
    except OSError:
        return False


def _count(engine, invoice_ids: list[str], donation_ids: list[int]) -> dict[str, int]:
    from sqlalchemy import text

    with engine.connect() as conn:
        applied = conn.execute(
            text("SELECT count(*) FROM donation_payments WHERE status = 'paid' "
                 "AND stripe_invoice_id = ANY(:ids)"), {"ids": invoice_ids},
        ).scalar_one()  # fmt: skip
        receipts = conn.execute(
            text("SELECT count(*), count(DISTINCT donation_id), count(enqueued_at) FROM donor_mails "
                 "WHERE kind = 'receipt' AND donation_id = ANY(:ids)"), {"ids": donation_ids},
        ).one()  # fmt: skip
        events = conn.execute(
            text("SELECT count(*) FROM stripe_events WHERE id LIKE 'evt_bench_%'")
        ).scalar_one()
        baseline_rows = conn.execute(
            text("SELECT count(*) FROM bench_webhook_events WHERE id LIKE 'evt_bench_%'")
        ).scalar_one()
    return {
        "applied": applied, "receipts": receipts[0], "donations_with_receipt": receipts[1],
        "receipts_queued": receipts[2], "events_recorded": events, "baseline_rows": baseline_rows,
    }  # fmt: skip


def _print_side(name: str, result: dict) -> None:
    print(
        f"{name}: p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms, p99 {result['p99_ms']} ms, "
        f"max {result['max_ms']} ms; {result['slow']} answers over {GOAL_P99_MS:.0f} ms"
        + (f" (at s {result['slow_at_s']}{' ...' if result['slow'] > 12 else ''})" if result["slow"] else "")
    )
    print(f"{name}: non-2xx {result['non_2xx']}, statuses {result['statuses']}, answers {result['details']}")
    print(
        f"{name}: {result['achieved_rps']} requests/s sent; CPU: workers {result['cpu_s']} s "
        f"({result['cpu_ms_per_request']} ms per answered request), PostgreSQL {result['postgres_cpu_s']} s, "
        f"load generator {result['generator_cpu_ms_per_request']} ms per request; "
        f"load average after {result['load_average']}"
    )


def main() -> None:
    args = common.arguments(
        __doc__.splitlines()[0],
        [
            (["--events"], {"type": int, "default": None, "help": f"events (default {EVENTS:,}, "
                                                                  f"--quick {QUICK_EVENTS:,})"}),
            (["--rate"], {"type": float, "default": 100.0, "help": "events per second"}),
        ],
    )  # fmt: skip
    count = args.events or (QUICK_EVENTS if args.quick else EVENTS)
    warm = int(3 * args.rate)  # three seconds of other donations' events first: every worker has connections
    print(
        f"webhooks: {count:,} invoice.paid events at {args.rate:.0f}/s ({count / args.rate:.0f} s); gunicorn "
        f"2 gthread workers x 16 threads; {common.machine()}; load average before "
        f"{[round(x, 2) for x in os.getloadavg()]} (the machine is shared: a busy one slows both sides)"
    )
    secret = "whsec_" + secrets.token_urlsafe(24)

    with common.postgres_database() as database_url, common.redis_server() as redis_url:
        from sqlalchemy import create_engine, make_url

        from bench.webhooks_baseline import TABLE_DDL

        database = make_url(database_url).database or ""

        with common.bench_app(database_url, redis_url):
            from db import db

            engine = db.engine
            now = datetime.now(UTC)
            began = time.perf_counter()
            plans = _populate(engine, count + warm, now)
            db.session.remove()
            db.engine.dispose()
        print(
            f"data: {count + warm:,} monthly donations with their donors, {time.perf_counter() - began:.1f} s"
        )
        engine = create_engine(database_url)
        with engine.begin() as conn:
            conn.exec_driver_sql(TABLE_DDL)
        # A database that has lived for a month has its statistics and a recent checkpoint; without this,
        # autovacuum's ANALYZE of the freshly loaded tables and a checkpoint land in the middle of the run.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
            conn.exec_driver_sql("CHECKPOINT")

        stamp = int(now.timestamp())
        bodies, warm_bodies = [], []
        for i, plan in enumerate(plans):
            if i < count:
                bodies.append(_event_body(plan, f"evt_bench_{i:08d}", f"in_bench_{i:08d}", stamp))
            else:
                warm_bodies.append(_event_body(plan, f"evt_warm_{i:08d}", f"in_warm_{i:08d}", stamp))
        print(f"events: {len(bodies[0]):,} bytes each (pretty-printed as Stripe sends them)")

        with tempfile.TemporaryDirectory(prefix="beitrag-bench-webhooks-") as instance:
            env = {
                "BEITRAG_ENV": "production",
                "BEITRAG_INSTANCE": instance,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
                "BASE_URL": "http://127.0.0.1",
                "SMTP_URL": "smtp://127.0.0.1:1",
                "STRIPE_SECRET_KEY": "sk_test_bench",
                "STRIPE_WEBHOOK_SECRET": secret,
                "STRIPE_API_BASE": "http://127.0.0.1:9",  # nothing listens: answering must not ask Stripe
            }
            with server("app:create_app()", env) as (port, master):
                run_load(port, warm_bodies, secret, args.rate)
                beitrag = run_load(port, bodies, secret, args.rate, master, database)

        baseline_env = {"BENCH_DATABASE_URL": database_url, "BENCH_WEBHOOK_SECRET": secret}
        with server("bench.webhooks_baseline:create_app()", baseline_env) as (port, master):
            run_load(port, warm_bodies, secret, args.rate)
            baseline = run_load(port, bodies, secret, args.rate, master, database)

        counts = _count(
            engine, [f"in_bench_{i:08d}" for i in range(count)], [p["donation_id"] for p in plans[:count]]
        )
        engine.dispose()

    _print_side("beitrag ", beitrag)
    _print_side("baseline", baseline)
    print(
        f"applied {counts['applied']:,} of {count:,} (events recorded {counts['events_recorded']:,}); "
        f"receipts {counts['receipts']:,} for {counts['donations_with_receipt']:,} donations, "
        f"{counts['receipts_queued']:,} on the queue; baseline rows {counts['baseline_rows']:,}"
    )
    met = (
        beitrag["p99_ms"] <= GOAL_P99_MS and beitrag["non_2xx"] == 0
        and counts["applied"] == count and counts["receipts"] == counts["donations_with_receipt"] == count
    )  # fmt: skip
    common.emit(
        {
            "bench": "webhooks",
            "size": count,
            "rate": args.rate,
            "p50_ms": beitrag["p50_ms"],
            "p95_ms": beitrag["p95_ms"],
            "p99_ms": beitrag["p99_ms"],
            "non_2xx": beitrag["non_2xx"],
            "applied": counts["applied"],
            "receipts": counts["receipts"],
            "cpu_ms_per_request": beitrag["cpu_ms_per_request"],
            "baseline_p99_ms": baseline["p99_ms"],
            "baseline_non_2xx": baseline["non_2xx"],
            "baseline_cpu_ms_per_request": baseline["cpu_ms_per_request"],
            "ratio": round(beitrag["p99_ms"] / baseline["p99_ms"], 2) if baseline["p99_ms"] else None,
            "goal": {"p99_ms": GOAL_P99_MS, "non_2xx": 0, "applied": count, "receipts": count, "met": met},
        }
    )


if __name__ == "__main__":
    main()
