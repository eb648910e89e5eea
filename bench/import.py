"""Benchmark `import`: a generated CSV of subscribers imported into PostgreSQL through the app's own import
service and job (staging COPY, deduplication on lower(email), suppression check, readers and their
newsletters written, every index in place), against a bare COPY of the same file into an unindexed table
measured in the same run. A second reference, also in the same run: PostgreSQL's own floor for the import,
the rows it wrote COPYed straight back into the emptied, indexed tables.

    python -m bench.import            # 1,000,000 rows
    python -m bench.import --quick    # 100,000 rows
"""

from __future__ import annotations

import logging
import os
import random
import tempfile
import time
from pathlib import Path

from bench.common import arguments, bench_app, emit, postgres_database, redis_server
from newsletter.readers.imports import staging

GOAL_SECONDS = 20.0
GOAL_RATIO = 0.25
GOAL_FLOOR_RATIO = 1.25  # the import's time over PostgreSQL's own floor, same run


def write_csv(path: Path, rows: int, seed: int = 7) -> int:
    """Semicolon-separated with a BOM and a header, like a spreadsheet export: about 1 % of the rows
    repeat an earlier address in other case, and some rows are broken. Returns the number of lines."""
    rng = random.Random(seed)
    domains = ["example.org", "example.com", "posteo.example", "mail.example.net", "uni-beispiel.example"]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("\ufeffE-Mail;Name;Sprache;Newsletter;Quelle\n")
        for i in range(rows):
            r = rng.random()
            if r < 0.01 and i > 10:
                j = rng.randrange(i)
                email = f"Leser.{j}@{domains[j % 5]}".upper()
            elif r < 0.012:
                email = f"kaputt-{i}-at-nowhere"
            else:
                email = f"leser.{i}@{domains[i % 5]}"
            fh.write(f"{email};Leser {i};{'de' if i % 4 else 'en'};{'woche' if i % 3 == 0 else ''};bench\n")
    return rows


def bare_copy(database_url: str, path: Path) -> float:
    """COPY the same file into an unindexed table: the baseline."""
    import psycopg

    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS bench_bare_copy")
        conn.execute(
            "CREATE TABLE bench_bare_copy (email text, name text, locale text, newsletters text, source text)"
        )
        started = time.perf_counter()
        with (
            conn.cursor() as cur,
            open(path, "rb") as fh,
            cur.copy(
                "COPY bench_bare_copy FROM STDIN "
                "WITH (FORMAT csv, DELIMITER ';', HEADER true, ENCODING 'UTF8')"
            ) as copy,
        ):
            while chunk := fh.read(1024 * 1024):
                copy.write(chunk)
        elapsed = time.perf_counter() - started
        conn.execute("DROP TABLE bench_bare_copy")
    return elapsed


def postgres_floor(database_url: str) -> float:
    """PostgreSQL's own floor for this import, same run: the rows the import wrote (its readers and their
    newsletters) COPYed straight back into the same tables, emptied, with every index in place, in one
    transaction with per-row foreign-key checks off and no wait for the WAL flush, as the import runs. No
    file to read, nothing to check, no duplicate to find: what is left is PostgreSQL writing the rows and
    their index entries."""
    import psycopg

    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        tables = {}
        for table in ("subscribers", "subscriptions"):
            with conn.cursor() as cur, cur.copy(f"COPY {table} TO STDOUT") as copy:
                tables[table] = b"".join(bytes(block) for block in copy)
        conn.execute("TRUNCATE subscribers, subscriptions, subscriber_import_rows CASCADE")
        conn.commit()
        started = time.perf_counter()
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute("SET LOCAL synchronous_commit = off")
        for table, rows in tables.items():
            with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as copy:
                for at in range(0, len(rows), 1024 * 1024):
                    copy.write(rows[at : at + 1024 * 1024])
        conn.commit()
        return time.perf_counter() - started


def app_import(app, path: Path) -> tuple[float, dict]:
    """Upload (streamed to the instance folder), map, and run the import job as a worker would."""
    from sqlalchemy import func, select

    from db import db
    from newsletter.readers import newsletters
    from newsletter.readers import tasks as readers_tasks
    from newsletter.readers.imports import files
    from newsletter.readers.models import ImportConsent, Subscriber, SubscriberImport

    newsletters.save_newsletter(
        db.session,
        None,
        name="KI-News täglich",
        slug="ki-taeglich",
        description="",
        is_public=True,
        is_default=True,
        position=1,
    )
    newsletters.save_newsletter(
        db.session,
        None,
        name="Wochenrückblick",
        slug="woche",
        description="",
        is_public=True,
        is_default=False,
        position=2,
    )
    db.session.commit()
    started = time.perf_counter()
    with open(path, "rb") as fh:
        record = files.save_upload(
            db.session,
            fh,
            path.name,
            Path(app.instance_path) / "imports",
            staff_user_id=None,
            max_bytes=app.config["IMPORT_MAX_BYTES"],
        )
    files.set_mapping(
        db.session,
        record,
        {"0": "email", "2": "locale", "3": "newsletters", "4": "source"},
        newsletter_ids=[],
        consent=ImportConsent.RECORDED,
        consent_detail="benchmark",
    )
    db.session.commit()
    uploaded = time.perf_counter()
    phases: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda entry: phases.append(entry.getMessage())
    log = logging.getLogger("newsletter.readers.imports")  # the import's modules log under it
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        readers_tasks.run_subscriber_import(record.id)
    finally:
        log.removeHandler(handler)
    elapsed = time.perf_counter() - started
    db.session.expire_all()
    record = db.session.get(SubscriberImport, record.id)
    figures = {
        "phases": "; ".join(phases),
        "upload_s": round(uploaded - started, 3),
        "job_s": round(elapsed - (uploaded - started), 3),
        "rows_read": record.rows_read,
        "created": record.created_count,
        "duplicates": record.duplicate_count,
        "errors": record.error_count,
        "subscribers_in_db": db.session.scalar(select(func.count()).select_from(Subscriber)),
    }
    return elapsed, figures


def main() -> None:
    connections = (("--connections",), {"type": int, "default": staging.SETTLE_CONNECTIONS,
                                        "help": "settling connections (threads) of the import"})  # fmt: skip
    args = arguments(__doc__.splitlines()[0], [connections])
    staging.SETTLE_CONNECTIONS = args.connections
    size = 100_000 if args.quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="beitrag-bench-import-") as folder:
        path = Path(folder) / "subscribers.csv"
        write_csv(path, size)
        print(f"file: {size:,} rows, {os.path.getsize(path) / 1e6:.1f} MB")
        with postgres_database() as database_url, redis_server() as redis_url:
            copy_s = bare_copy(database_url, path)
            print(f"bare COPY into an unindexed table: {copy_s:.2f} s ({size / copy_s:,.0f} rows/s)")
            with bench_app(database_url, redis_url) as app:
                import_s, figures = app_import(app, path)
                from db import db

                db.session.remove()
                db.engine.dispose()
            floor_s = postgres_floor(database_url)
    rate, copy_rate = size / import_s, size / copy_s
    ratio = rate / copy_rate
    floor_ratio = copy_s / floor_s
    print(
        f"Beitrag import (upload + job): {import_s:.2f} s ({rate:,.0f} rows/s); "
        f"upload {figures['upload_s']} s, job {figures['job_s']} s ({figures['phases']})"
    )
    print(
        f"  {figures['created']:,} new readers, {figures['duplicates']:,} duplicates, "
        f"{figures['errors']:,} faulty rows"
    )
    print(
        f"ratio to bare COPY: {ratio:.2f} (goal >= {GOAL_RATIO}); time goal <= {GOAL_SECONDS:.0f} s"
        + ("" if args.quick else f": {'met' if import_s <= GOAL_SECONDS else 'NOT met'}")
    )
    print(
        f"PostgreSQL's own floor, the import's rows COPYed into the indexed tables: {floor_s:.2f} s, "
        f"ratio to bare COPY {floor_ratio:.2f}; Beitrag's import takes {import_s / floor_s:.2f} x that "
        f"(goal <= {GOAL_FLOOR_RATIO}; {args.connections} settling connection(s))"
    )
    emit(
        {
            "bench": "import",
            "size": size,
            "seconds": round(import_s, 3),
            "rows_per_s": round(rate),
            "baseline_seconds": round(copy_s, 3),
            "baseline_rows_per_s": round(copy_rate),
            "ratio": round(ratio, 3),
            "goal": {"seconds": GOAL_SECONDS, "ratio": GOAL_RATIO, "over_floor": GOAL_FLOOR_RATIO},
            "postgres_floor_seconds": round(floor_s, 3),
            "postgres_floor_ratio": round(floor_ratio, 3),
            "over_floor": round(import_s / floor_s, 3),
            "settling_connections": args.connections,
            **figures,
        }
    )


if __name__ == "__main__":
    main()
