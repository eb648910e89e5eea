"""Benchmark `import`: a generated CSV of subscribers imported into PostgreSQL through the app's own import
service and job (staging COPY, deduplication on lower(email), suppression check, readers, subscriptions and
history written, every index in place), against a bare COPY of the same file into an unindexed table
measured in the same run.

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

GOAL_SECONDS = 20.0
GOAL_RATIO = 0.25


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


def app_import(app, path: Path) -> tuple[float, dict]:
    """Upload (streamed to the instance folder), map, and run the import job as a worker would."""
    from sqlalchemy import func, select

    from db import db
    from newsletter import imports, jobs, newsletters
    from newsletter.models import ImportConsent, Subscriber, SubscriberImport

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
        record = imports.save_upload(
            db.session,
            fh,
            path.name,
            Path(app.instance_path) / "imports",
            staff_user_id=None,
            max_bytes=app.config["IMPORT_MAX_BYTES"],
        )
    imports.set_mapping(
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
    imports.log.addHandler(handler)
    imports.log.setLevel(logging.INFO)
    try:
        jobs.run_subscriber_import(record.id)
    finally:
        imports.log.removeHandler(handler)
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
    args = arguments(__doc__.splitlines()[0])
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
    rate, copy_rate = size / import_s, size / copy_s
    ratio = rate / copy_rate
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
    emit(
        {
            "bench": "import",
            "size": size,
            "seconds": round(import_s, 3),
            "rows_per_s": round(rate),
            "baseline_seconds": round(copy_s, 3),
            "baseline_rows_per_s": round(copy_rate),
            "ratio": round(ratio, 3),
            "goal": {"seconds": GOAL_SECONDS, "ratio": GOAL_RATIO},
            **figures,
        }
    )


if __name__ == "__main__":
    main()
