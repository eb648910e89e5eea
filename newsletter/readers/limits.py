"""The rate limits of the public sign-up forms (the subscribe page, the JSON API, "send me my link"): per
client address (``SUBSCRIBE_RATE_LIMIT``) and per e-mail address (``SUBSCRIBE_ADDRESS_RATE_LIMIT``).

Both are fixed windows in the rate limiter's Redis (``RATELIMIT_STORAGE_URI``, the storage Flask-Limiter
uses for the other limits), counted by one Lua script: one round trip per sign-up instead of one per limit,
and none of Flask-Limiter's per-request bookkeeping on the busiest public form. The limits are written
and parsed as Flask-Limiter's (``"10 per minute;100 per day"``, the ``limits`` package); the three forms
share the counters, so a flood spread over them counts once. As in Flask-Limiter, the windows are tried
in order (client address first, shortest window first) and counting stops at the first one exceeded.

While that Redis is unreachable the windows are counted in the process's memory (Flask-Limiter's
in-memory fallback does the same), so a sign-up still gets its answer and a flood is still held.
A refusal is a 429 with ``Retry-After``; every answer of these forms carries ``X-RateLimit-*`` headers:
of the window that refused, or else of the client's window closest to its limit (never of the e-mail
address's window, which would tell how often others asked for that address).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from werkzeug.exceptions import TooManyRequests

from newsletter.readers.addresses import email_hash

log = logging.getLogger(__name__)

_EXTENSION_KEY = "beitrag.signup_limits"

# KEYS: one counter per window, in the order they are tried. ARGV: amount and window length in seconds
# for each. Returns count and seconds to the window's end for every counter it touched; it stops after
# the first counter that went over its amount (later windows are not counted, as in Flask-Limiter).
_COUNT_SCRIPT = """
local result = {}
for i, key in ipairs(KEYS) do
    local count = redis.call('INCR', key)
    local ttl = redis.call('TTL', key)
    if count == 1 or ttl < 0 then
        redis.call('EXPIRE', key, ARGV[2 * i])
        ttl = tonumber(ARGV[2 * i])
    end
    result[#result + 1] = count
    result[#result + 1] = ttl
    if count > tonumber(ARGV[2 * i - 1]) then
        return result
    end
end
return result
"""


class TooManySignups(TooManyRequests):
    """A sign-up window is full; the app's 429 page answers, with ``Retry-After`` and the window's
    ``X-RateLimit-*`` headers (``limit_headers``, which the app's 429 handler adds)."""

    def __init__(self, limit_headers: dict[str, str]):
        super().__init__()
        self.limit_headers = limit_headers


class _Counters:
    """The counters of one app: its Redis script and the in-memory fallback.

    The script runs over one connection per process and thread, kept here rather than borrowed from a
    redis-py pool: the sign-up form is the busiest public route, and the pool's and the client's
    bookkeeping around one EVALSHA cost about as much CPU as the round trip itself
    (``python -m bench.signup_cost --callgrind``)."""

    def __init__(self, storage_uri: str, prefix: str):
        self.prefix = prefix
        self.memory = MemoryStorage()
        self.pool: redis.ConnectionPool | None = None
        self.sha = hashlib.sha1(_COUNT_SCRIPT.encode()).hexdigest()  # noqa: S324 (the name Redis gives it)
        self.local = threading.local()
        if storage_uri.startswith(("redis://", "rediss://", "redis+unix://", "unix://")):
            url = "unix://" + storage_uri[len("redis+unix://") :] if storage_uri.startswith("redis+unix://") \
                else storage_uri  # fmt: skip
            self.pool = redis.ConnectionPool.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)

    def _connection(self) -> redis.connection.AbstractConnection:
        """This thread's connection, made afresh in a forked child (a parent's socket is not the
        child's to use)."""
        local = self.local
        if getattr(local, "pid", None) != os.getpid():
            local.pid, local.connection = os.getpid(), self.pool.make_connection()
        return local.connection

    def _run_script(self, keys: list[str], args: list[int]) -> list[int]:
        """EVALSHA, loading the script first where this Redis does not know it yet, and trying once more
        on a connection that broke (a restarted Redis), as redis-py's own retry would."""
        broken = False
        for _ in range(3):
            connection = self._connection()
            try:
                connection.send_packed_command(
                    connection.pack_command("EVALSHA", self.sha, len(keys), *keys, *args), check_health=False
                )
                return connection.read_response()
            except redis.exceptions.NoScriptError:
                connection.send_command("SCRIPT", "LOAD", _COUNT_SCRIPT, check_health=False)
                connection.read_response()
            except (redis.ConnectionError, redis.TimeoutError):
                connection.disconnect()
                if broken:
                    raise
                broken = True
        raise redis.RedisError("Redis would not keep the sign-up limits' script")

    def count(self, windows: list[tuple[str, RateLimitItem]]) -> list[tuple[int, int]]:
        """(count, seconds left) of each window tried, the first one over its limit last."""
        if self.pool is not None:
            args: list[int] = []
            for _, item in windows:
                args += [item.amount, item.get_expiry()]
            try:
                flat = self._run_script([key for key, _ in windows], args)
                return [(int(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2)]
            except (redis.RedisError, OSError) as exc:
                log.warning("the limiter's Redis is unreachable, sign-ups are counted in memory: %s", exc)
        result = []
        now = time.time()
        for key, item in windows:
            count = self.memory.incr(key, item.get_expiry())
            result.append((count, max(0, int(self.memory.get_expiry(key) - now))))
            if count > item.amount:
                break
        return result


@functools.lru_cache(maxsize=32)
def _parsed(limits: str) -> tuple[RateLimitItem, ...]:
    """Shortest window first (Flask-Limiter's order)."""
    return tuple(sorted(parse_many(limits), key=lambda item: item.get_expiry()))


def hit(client: str, address: str) -> dict[str, str]:
    """Count one sign-up from ``client`` (IP) for ``address`` (as typed, lower-cased). Raises
    :class:`TooManySignups` when a window is full; otherwise returns the ``X-RateLimit-*`` headers for the
    answer (none when the limits are switched off)."""
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True):
        return {}
    counters: _Counters = current_app.extensions[_EXTENSION_KEY]
    prefix = counters.prefix
    client_windows = [
        (f"{prefix}:signup-ip:{client}:{item.amount}/{item.get_expiry()}", item)
        for item in _parsed(config["SUBSCRIBE_RATE_LIMIT"])
    ]
    windows = client_windows + [
        (f"{prefix}:signup-address:{email_hash(address)}:{item.amount}/{item.get_expiry()}", item)
        for item in _parsed(config["SUBSCRIBE_ADDRESS_RATE_LIMIT"])
    ]
    counted = counters.count(windows)
    last = len(counted) - 1
    if counted[last][0] > windows[last][1].amount:  # refused: the headers name the full window
        room, index = -1, last
    else:  # the client's window closest to its limit; the address's counter is nobody else's business
        room, index = min((item.amount - counted[i][0], i) for i, (_, item) in enumerate(client_windows))
    item, seconds_left = windows[index][1], counted[index][1]
    headers = {
        "X-RateLimit-Limit": str(item.amount),
        "X-RateLimit-Remaining": str(max(0, room)),
        "X-RateLimit-Reset": str(int(time.time()) + seconds_left),
    }
    if room < 0:
        headers["Retry-After"] = str(max(1, seconds_left))
        log.info("sign-up limit %s exceeded (client %s)", item, client)
        raise TooManySignups(headers)
    return headers


def limited(address: Callable[[], str]) -> Callable:
    """Decorator for a sign-up view: count each POST against both limits before the view runs.
    ``address`` returns the submitted e-mail address (lower-cased, as typed)."""
    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any):
            if request.method != "POST":
                return view(*args, **kwargs)
            headers = hit(request.remote_addr or "127.0.0.1", address())
            # Added here rather than by an after-request hook, which every other request would pay for.
            response = current_app.make_response(view(*args, **kwargs))
            for name, value in headers.items():
                response.headers.add(name, value)
            return response

        return wrapper

    return decorate


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION_KEY] = _Counters(
        app.config.get("RATELIMIT_STORAGE_URI", "memory://"),
        app.config.get("RATELIMIT_KEY_PREFIX", "beitrag-limits"),
    )
