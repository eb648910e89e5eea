"""The gate every newsletter message passes in Redis right before it goes to the relay.

One Lua script, one round trip per message, atomic however many workers on however many hosts call it:

* the shared send-rate limit (``MAIL_RATE_PER_SECOND``, ``MAIL_RATE_PER_HOUR``; 0 = unlimited) as a GCRA
  with reservations: the script books the caller's slot and says how long to wait for it, so a worker
  sleeps exactly until its turn instead of asking again and again;
* the claim's journal: which ledger row is in flight now, and the outcome of the one before it (written
  in the same call). A worker killed mid-batch leaves behind exactly what the sweeper needs to tell rows
  that never reached the relay from the one that may have been accepted (see ``sweeper.decide_lost_rows``);
* the issue's control word (``pause`` or ``cancel``), read in the same call, so an editor's pause stops a
  worker after the message it is sending, not after its chunk;
* the job's heartbeat, so the sweeper can tell a running batch job from one whose worker died.

Redis holds no truth here: the ledger does. If Redis loses these keys (flushed, restarted), the rate limit
starts afresh, the control word is read again from the database at the next chunk, and a worker whose
journal is gone stops that claim at once (it records what it did and leaves the rest to be queued again).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

PREFIX = "beitrag:send"
JOURNAL_TTL = 7 * 24 * 3600  # a claim's journal outlives any lease by far

# KEYS: rate-second, rate-hour, journal, control, heartbeat
# ARGV: per-second interval (µs), per-second burst (µs), per-hour interval (µs), previous row id ("" for
#       none), its outcome, next row id, heartbeat ttl (s), journal ttl (s)
# Returns {wait in µs, control word or false, 1 when the journal is gone}. A journal that is gone was
# either lost with Redis or taken over by the sweeper (the worker looked dead): the worker must stop and
# send nothing more of that claim; nothing is booked or written then.
_SCRIPT = """
if redis.call('EXISTS', KEYS[3]) == 0 then
  return {0, redis.call('GET', KEYS[4]), 1}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local wait = 0
local send_at = now
local function booked(key, interval, burst)
  if interval <= 0 then return end
  local tat = tonumber(redis.call('GET', key) or '0')
  local earliest = tat - burst
  if earliest > send_at then send_at = earliest end
end
local function book(key, interval)
  if interval <= 0 then return end
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < send_at then tat = send_at end
  redis.call('SET', key, tostring(tat + interval), 'PX', math.ceil((tat + interval - now) / 1000) + 1000)
end
local per_second, burst, per_hour = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
booked(KEYS[1], per_second, burst)
booked(KEYS[2], per_hour, 0)
book(KEYS[1], per_second)
book(KEYS[2], per_hour)
wait = send_at - now
if ARGV[4] ~= '' then redis.call('HSET', KEYS[3], ARGV[4], ARGV[5]) end
redis.call('HSET', KEYS[3], 'flight', ARGV[6])
redis.call('EXPIRE', KEYS[3], tonumber(ARGV[8]))
redis.call('SET', KEYS[5], '1', 'EX', tonumber(ARGV[7]) + math.ceil(wait / 1000000))
return {wait, redis.call('GET', KEYS[4]), 0}
"""


@dataclass(frozen=True)
class Rate:
    """Messages per second and per hour for every worker together; 0 means no limit."""

    per_second: float = 0
    per_hour: float = 0

    @property
    def limited(self) -> bool:
        return self.per_second > 0 or self.per_hour > 0

    def interval(self) -> float:
        """The seconds between two messages at the slower of the two limits (0 unlimited)."""
        return max(
            1 / self.per_second if self.per_second else 0, 3600 / self.per_hour if self.per_hour else 0
        )


@dataclass(frozen=True)
class Pass:
    wait: float  # seconds to sleep before sending: the slot the limit booked for this message
    control: str | None  # "pause" or "cancel" when an editor stopped the send
    journal_lost: bool


def journal_key(claim: str) -> str:
    return f"{PREFIX}:claim:{claim}"


def control_key(issue_id: int) -> str:
    return f"{PREFIX}:issue:{issue_id}:control"


def heartbeat_key(job_id: str) -> str:
    return f"{PREFIX}:job:{job_id}"


class Gate:
    """The gate as a worker uses it for one claim: ``open_journal`` once, ``enter`` before each message."""

    def __init__(self, connection: redis.Redis, rate: Rate, *, issue_id: int, job_id: str, heartbeat: int):
        self.connection = connection
        self.script = connection.register_script(_SCRIPT)
        second = int(1_000_000 / rate.per_second) if rate.per_second else 0
        hour = int(3_600_000_000 / rate.per_hour) if rate.per_hour else 0
        # No bursts: messages are spaced evenly at the slower limit, so no window of one second (or one
        # hour) ever holds more than the limit allows, whichever worker sends them.
        self._rate_args = [second, 0, hour]
        self._keys = [f"{PREFIX}:rate:second", f"{PREFIX}:rate:hour", "", control_key(issue_id),
                      heartbeat_key(job_id)]  # fmt: skip
        self._heartbeat = heartbeat

    def open_journal(self, claim: str) -> None:
        """Start the claim's journal before the claim is committed: a journal that is missing later was
        lost with Redis, not never written."""
        key = journal_key(claim)
        pipe = self.connection.pipeline(transaction=True)
        pipe.hset(key, "flight", "0")
        pipe.expire(key, JOURNAL_TTL)
        pipe.set(self._keys[4], "1", ex=self._heartbeat)
        pipe.execute()
        self._keys[2] = key

    def enter(self, previous: int | None, outcome: str, row_id: int) -> Pass:
        """Record ``previous``'s outcome, mark ``row_id`` in flight, book its slot, read the control word."""
        wait, control, lost = self.script(
            keys=self._keys,
            args=[*self._rate_args, "" if previous is None else previous, outcome, row_id, self._heartbeat,
                  JOURNAL_TTL],
        )  # fmt: skip
        return Pass(wait / 1_000_000, control.decode() if control else None, bool(lost))

    def close_journal(self, claim: str) -> None:
        """The claim's outcomes are in the ledger now; its journal is no longer needed."""
        self.connection.delete(journal_key(claim))


def taken_key(claim: str) -> str:
    return f"{PREFIX}:taken:{claim}"


# KEYS: journal, taken. Moves the journal out of its worker's reach (its next ``enter`` finds it gone and
# stops) and returns it; a journal taken by an earlier sweep that did not finish is returned again.
_TAKE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('EXPIRE', KEYS[2], tonumber(ARGV[1]))
end
return redis.call('HGETALL', KEYS[2])
"""


def take_journal(connection: redis.Redis, claim: str) -> dict[str, str] | None:
    """Take a claim's journal from its worker and read it, in one atomic step: from then on the worker
    can send nothing more of that claim, so what the journal says is final. None when Redis lost it."""
    raw = connection.eval(_TAKE, 2, journal_key(claim), taken_key(claim), JOURNAL_TTL)
    if not raw:
        return None
    pairs = [item.decode() if isinstance(item, bytes) else item for item in raw]
    return dict(zip(pairs[::2], pairs[1::2], strict=True))


def set_control(connection: redis.Redis, issue_id: int, word: str | None) -> None:
    if word is None:
        connection.delete(control_key(issue_id))
    else:
        connection.set(control_key(issue_id), word, ex=JOURNAL_TTL)


def job_alive(connection: redis.Redis, job_id: str) -> bool:
    return bool(connection.exists(heartbeat_key(job_id)))
