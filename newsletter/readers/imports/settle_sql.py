"""The SQL that settles an import: the staging columns, the reasons a line is refused, and PostgreSQL's
statements that settle the file chunk by chunk in a temporary table of the import's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, text
from sqlalchemy.exc import DBAPIError

from db import UTCDateTime

_STAGING_COLUMNS = ("import_id", "line", "email", "email_lower", "email_hash", "locale", "source",
                    "newsletter_ids", "outcome", "reason", "mailed", "subscriber_id")  # fmt: skip

# PostgreSQL: each chunk of the file is settled in a temporary table of the import's transaction (no WAL,
# no index, no foreign key to check per row, dropped at commit). Only what is needed afterwards is written
# to ``subscriber_import_rows``: the report rows, and the accepted rows while opt-in mails still need them.
_CHUNK = "pg_temp.beitrag_import_chunk"

# PostgreSQL, for the import's own transaction: room for the sorts and hashes of a chunk in memory; no JIT
# (its compile time buys nothing on these plans); the commit does not wait for the WAL flush (a crash
# in that instant loses the whole transaction, never half of it, and the import is run again, as after
# any interruption); and each chunk's statistics come from a small sample (the planner only needs to know
# that most rows are accepted, and a full ANALYZE of every chunk took 2.7 s of a million-row import).
_POSTGRES_SETUP = [
    "SET LOCAL work_mem = '64MB'",
    "SET LOCAL jit = off",
    "SET LOCAL synchronous_commit = off",
    "SET LOCAL default_statistics_target = 10",
]


def _create_chunk_table(connection: Connection) -> None:
    """The temporary chunk table of a settling connection, shaped like ``subscriber_import_rows``, in the
    connection's own buffers (a bigger ``temp_buffers`` where PostgreSQL still allows it: before the
    session's first temporary table). It lives as long as the connection and is emptied for each chunk."""
    with connection.begin():
        try:
            with connection.begin_nested():
                connection.execute(text("SET temp_buffers = '64MB'"))
        except DBAPIError:
            pass
        connection.execute(text(f"DROP TABLE IF EXISTS {_CHUNK}"))
        connection.execute(text(f"CREATE TEMPORARY TABLE {_CHUNK} (LIKE subscriber_import_rows)"))


def _drop_chunk_table(connection: Connection) -> None:
    with connection.begin():
        connection.execute(text(f"DROP TABLE IF EXISTS {_CHUNK}"))


# PostgreSQL: the fence of an import's runs. A chunk's transaction holds this lock shared and then checks
# that its run still holds the import; a run claiming the import takes it exclusively, so it waits for the
# chunks in flight and every chunk after it sees the new run.
_FENCE_KEY = 0x696D7074  # "impt"
_FENCE_SHARED = "SELECT pg_advisory_xact_lock_shared(:key, :id)"
_FENCE_EXCLUSIVE = "SELECT pg_advisory_xact_lock(:key, :id)"


SUPPRESSED = "on the suppression list (left, bounced, complained or erased)"
EXISTING = "already a reader; left unchanged"
DUPLICATE = "duplicate of an earlier line"

# Suppressed addresses are refused, whatever the editor says.
_SUPPRESS_CHUNK = f"""
UPDATE {_CHUNK} SET outcome = 'refused', reason = :suppressed
WHERE outcome = 'read' AND email_hash IN (SELECT email_hash FROM suppressions)"""  # noqa: S608 (constants)

# A chunk's new readers and their newsletters in one statement. Each row carries the id its reader gets
# (drawn while reading), so the newsletters meet the new readers on that integer, and each row's list of
# newsletters is unnested; the ids are fresh and a row's list has no repeats, so memberships cannot
# conflict. An address the database already holds (``uq_subscribers_email_lower``: the conflict) is left
# as it is and its row marked "existing".
_SETTLE_TEMPLATE = """
WITH created AS (
  INSERT INTO subscribers (id, email, status, locale, source, created_at, updated_at, confirmed_at,
                           consent_basis, consent_at, consent_detail, ask_frequency)
  SELECT subscriber_id, email, :status, COALESCE(locale, :locale), COALESCE(source, :source), :now, :now,
         :confirmed_at, :basis, :consent_at, :detail, 'normal'
  FROM {chunk} WHERE outcome = 'read'
  {on_conflict} RETURNING id
), memberships AS (
  INSERT INTO subscriptions (subscriber_id, newsletter_id, created_at)
  SELECT r.subscriber_id, CAST(unnest(string_to_array(r.newsletter_ids, ',')) AS INTEGER), :now
  FROM {chunk} r JOIN created c ON c.id = r.subscriber_id
  WHERE r.outcome = 'read' AND r.newsletter_ids IS NOT NULL
){known}
SELECT count(*) FROM created"""
_KNOWN_ROWS = f"""
, known AS (
  UPDATE {_CHUNK} SET outcome = 'existing', reason = :existing
  WHERE outcome = 'read' AND subscriber_id NOT IN (SELECT id FROM created)
)"""  # noqa: S608 (constants only)
_SETTLE_CHUNK = _SETTLE_TEMPLATE.format(chunk=_CHUNK, on_conflict="ON CONFLICT DO NOTHING", known=_KNOWN_ROWS)
# The same for a chunk of addresses the database does not hold yet (the usual case of a first import):
# a plain INSERT, which PostgreSQL carries out in about two thirds of the time of one with ON CONFLICT
# (no speculative insertion). Run under a savepoint: a known address raises a unique violation, the chunk
# is rolled back to the savepoint and settled with the statement above, as is every later chunk.
_SETTLE_NEW_CHUNK = _SETTLE_TEMPLATE.format(chunk=_CHUNK, on_conflict="", known="")
_KNOWN_ADDRESS = "uq_subscribers_email_lower"

_KEEP_ROWS = f"""
INSERT INTO subscriber_import_rows ({", ".join(_STAGING_COLUMNS)})
SELECT {", ".join(_STAGING_COLUMNS)} FROM {_CHUNK}
WHERE reason IS NOT NULL OR (:keep_accepted AND outcome = 'read')"""  # noqa: S608 (constants only)

_COUNT_CHUNK = f"SELECT outcome, reason, count(*) FROM {_CHUNK} GROUP BY outcome, reason"  # noqa: S608


def timed(sql: str) -> Any:
    """The statement with its time parameters typed, so both databases store them alike."""
    names = [n for n in ("now", "confirmed_at", "consent_at") if f":{n}" in sql]
    return text(sql).bindparams(*(bindparam(n, type_=UTCDateTime()) for n in names))


