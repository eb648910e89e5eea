"""Limits on signing in to the staff pages that stop password guessing without letting anyone lock a staff
member out.

Only failed attempts count (an attempt is counted as failed when it starts, so that parallel requests
cannot slip past a limit, and taken back when the password was right). Three rules, checked before the
password is:

1. **Per client** (``LOGIN_RATE_LIMIT``, default 10 a minute and 60 an hour): failures from one client
   address, whatever accounts they were for. Past it, that client may not sign in at all until the window
   ends. It stops one machine guessing through many accounts.
2. **Per account and client** (``LOGIN_ACCOUNT_RATE_LIMIT``, default 5 in 15 minutes and 20 a day):
   failures for one account from one client. Past it, that client may not sign in to that account.
3. **The account's slowdown**: once an account has had ``LOGIN_SLOWDOWN_AFTER`` failures (10) within the
   hour, from all clients together, a client that has already failed on it must wait before its next
   attempt on it: ``LOGIN_SLOWDOWN_SECONDS`` (30) after its first failure, twice as long after each further
   one, at most an hour. It slows guessing spread over many addresses to a few attempts per address.

No rule refuses a client that has not failed: neither its own limit nor its pair with the account is
reached, and the slowdown holds back only clients that failed on the account. So however many failures
others produce, the account's owner signs in from a device that did not fail (and even from one that
failed once, after a short wait). A right password resets its client's count for that account.

Whether the address typed belongs to an account plays no part: counting is by the address as typed (an
HMAC of it, so Redis holds no addresses), so an unknown address is refused exactly like a known one.

A client is its IP address (behind proxies, the one ``TRUSTED_PROXIES`` lets through); an IPv6 client is
its /64 network, since one machine usually holds a whole /64. The counters live in the rate limiter's
Redis, one Lua script per attempt; while that Redis is unreachable they are counted in the process's
memory, with the same rules.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import ipaddress
import logging
import math
import threading
import time
from dataclasses import dataclass

import redis
from flask import Flask, current_app
from limits import RateLimitItem, parse_many

log = logging.getLogger(__name__)

_EXTENSION_KEY = "beitrag.signin_limits"
ACCOUNT_WINDOW = 3600  # the slowdown counts an account's failures of the last hour (a fixed window)
PAIR_MEMORY = 86400  # how long a client's failures on an account are remembered for the slowdown
SLOWDOWN_MAX = 3600

# KEYS: the windows (client's, then the pair's), the account's counter, the pair's state (a hash: n, last).
# ARGV: number of windows, now, account window, slowdown after, first wait, longest wait, pair memory, then
# amount and length of each window. Returns {0, 0} when the attempt may go ahead (and counts it as a
# failure), else {rule, seconds to wait}: the number of the full window, or windows + 1 for the slowdown.
_ATTEMPT_SCRIPT = """
local n = tonumber(ARGV[1])
local now = tonumber(ARGV[2])
for i = 1, n do
    local count = tonumber(redis.call('GET', KEYS[i]) or '0')
    if count >= tonumber(ARGV[6 + 2 * i]) then
        local ttl = redis.call('TTL', KEYS[i])
        if ttl < 1 then ttl = 1 end
        return {i, ttl}
    end
end
local account, state = KEYS[n + 1], KEYS[n + 2]
local failures = tonumber(redis.call('GET', account) or '0')
local mine = tonumber(redis.call('HGET', state, 'n') or '0')
if failures >= tonumber(ARGV[4]) and mine > 0 then
    local wait = math.min(tonumber(ARGV[5]) * 2 ^ (mine - 1), tonumber(ARGV[6]))
    local last = tonumber(redis.call('HGET', state, 'last') or '0')
    if now < last + wait then
        return {n + 1, math.ceil(last + wait - now)}
    end
end
for i = 1, n do
    if redis.call('INCR', KEYS[i]) == 1 or redis.call('TTL', KEYS[i]) < 0 then
        redis.call('EXPIRE', KEYS[i], ARGV[7 + 2 * i])
    end
end
if redis.call('INCR', account) == 1 or redis.call('TTL', account) < 0 then
    redis.call('EXPIRE', account, ARGV[3])
end
redis.call('HINCRBY', state, 'n', 1)
redis.call('HSET', state, 'last', ARGV[2])
redis.call('EXPIRE', state, ARGV[7])
return {0, 0}
"""

# KEYS: the client's windows, the pair's windows, the account's counter, the pair's state. ARGV: the
# number of the client's windows. The attempt was no failure: the client's and the account's counts are
# taken back, the pair starts afresh.
_SUCCEEDED_SCRIPT = """
local clients = tonumber(ARGV[1])
local account, state = KEYS[#KEYS - 1], KEYS[#KEYS]
for i = 1, clients do
    if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
for i = clients + 1, #KEYS - 2 do redis.call('DEL', KEYS[i]) end
if tonumber(redis.call('GET', account) or '0') > 0 then redis.call('DECR', account) end
redis.call('DEL', state)
return 1
"""


@dataclass(frozen=True)
class Refusal:
    """The attempt was refused before any password was checked: wait ``retry_after`` seconds."""

    rule: str  # "client", "account" or "slowdown": for the log, never shown
    retry_after: int


@dataclass(frozen=True)
class _Rules:
    client: tuple[RateLimitItem, ...]
    pair: tuple[RateLimitItem, ...]
    slowdown_after: int
    slowdown_seconds: float


@functools.lru_cache(maxsize=32)
def _parsed(limits: str) -> tuple[RateLimitItem, ...]:
    return tuple(sorted(parse_many(limits), key=lambda item: item.get_expiry()))


def _rules(config) -> _Rules:
    return _Rules(
        client=_parsed(config["LOGIN_RATE_LIMIT"]),
        pair=_parsed(config["LOGIN_ACCOUNT_RATE_LIMIT"]),
        slowdown_after=config["LOGIN_SLOWDOWN_AFTER"],
        slowdown_seconds=config["LOGIN_SLOWDOWN_SECONDS"],
    )


def client_of(remote_addr: str | None) -> str:
    """The client an attempt is counted for: the IPv4 address, or the /64 network of an IPv6 address."""
    try:
        address = ipaddress.ip_address(remote_addr or "")
    except ValueError:
        return remote_addr or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class _Memory:
    """The rules over the process's memory, for while Redis is unreachable: the same counters as the
    scripts, under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, tuple[object, float]] = {}

    def _get(self, key: str, now: float, default):
        value, until = self._values.get(key, (default, math.inf))
        if until <= now:
            self._values.pop(key, None)
            return default
        return value

    def _ttl(self, key: str, now: float) -> int:
        return max(1, math.ceil(self._values.get(key, (0, now + 1))[1] - now))

    def _incr(self, key: str, seconds: float, now: float) -> None:
        count = self._get(key, now, 0)
        until = self._values[key][1] if count else now + seconds
        self._values[key] = (count + 1, until)

    def attempt(self, windows, account: str, state: str, rules: _Rules, now: float) -> tuple[int, int]:
        with self._lock:
            for index, (key, item) in enumerate(windows, start=1):
                if self._get(key, now, 0) >= item.amount:
                    return index, self._ttl(key, now)
            mine, last = self._get(state, now, (0, 0.0))
            if self._get(account, now, 0) >= rules.slowdown_after and mine > 0:
                wait = min(rules.slowdown_seconds * 2 ** (mine - 1), SLOWDOWN_MAX)
                if now < last + wait:
                    return len(windows) + 1, math.ceil(last + wait - now)
            for key, item in windows:
                self._incr(key, item.get_expiry(), now)
            self._incr(account, ACCOUNT_WINDOW, now)
            self._values[state] = ((mine + 1, now), now + PAIR_MEMORY)
            return 0, 0

    def succeeded(self, client_keys: list[str], pair_keys: list[str], account: str, state: str) -> None:
        now = time.time()
        with self._lock:
            for key in [*client_keys, account]:
                count = self._get(key, now, 0)
                if count:
                    self._values[key] = (count - 1, self._values[key][1])
            for key in [*pair_keys, state]:
                self._values.pop(key, None)


class SignInLimits:
    """The counters of one app: the Redis scripts, and the memory they fall back to."""

    def __init__(self, storage_uri: str, prefix: str, secret: str) -> None:
        self.prefix = prefix
        self._secret = secret.encode("utf-8")
        self.memory = _Memory()
        self._attempt = self._succeeded = None
        if storage_uri.startswith(("redis://", "rediss://", "redis+unix://", "unix://")):
            url = "unix://" + storage_uri[len("redis+unix://") :] if storage_uri.startswith("redis+unix://") \
                else storage_uri  # fmt: skip
            client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
            self._attempt = client.register_script(_ATTEMPT_SCRIPT)
            self._succeeded = client.register_script(_SUCCEEDED_SCRIPT)

    def _keys(self, address: str, client: str, rules: _Rules):
        typed = address.strip().lower().encode("utf-8")
        account = hmac.new(self._secret, typed, hashlib.sha256).hexdigest()[:32]
        p, pair = self.prefix, f"{account}:{client}"
        client_windows = [(f"{p}:login-client:{client}:{i.amount}/{i.get_expiry()}", i) for i in rules.client]
        pair_windows = [(f"{p}:login-pair:{pair}:{i.amount}/{i.get_expiry()}", i) for i in rules.pair]
        return client_windows, pair_windows, f"{p}:login-account:{account}", f"{p}:login-pair-state:{pair}"

    def attempt(self, address: str, client: str, now: float | None = None) -> Refusal | None:
        """Ask to check a password for ``address`` (as typed) from ``client``: None, and the attempt counts
        as failed until :meth:`succeeded` says otherwise; or the :class:`Refusal` to answer with."""
        rules = _rules(current_app.config)
        now = time.time() if now is None else now
        client_windows, pair_windows, account, state = self._keys(address, client, rules)
        windows = client_windows + pair_windows
        outcome = None
        if self._attempt is not None:
            args: list[float] = [len(windows), now, ACCOUNT_WINDOW, rules.slowdown_after,
                                 rules.slowdown_seconds, SLOWDOWN_MAX, PAIR_MEMORY]  # fmt: skip
            for _, item in windows:
                args += [item.amount, item.get_expiry()]
            try:
                rule, wait = self._attempt(keys=[key for key, _ in windows] + [account, state], args=args)
                outcome = int(rule), int(wait)
            except (redis.RedisError, OSError) as exc:
                log.warning("the limiter's Redis is unreachable, sign-ins are counted in memory: %s", exc)
        if outcome is None:
            outcome = self.memory.attempt(windows, account, state, rules, now)
        rule, wait = outcome
        if rule == 0:
            return None
        name = "client" if rule <= len(client_windows) else "account" if rule <= len(windows) else "slowdown"
        log.info("sign-in refused by the %s rule for %s seconds (client %s)", name, wait, client)
        return Refusal(rule=name, retry_after=max(1, wait))

    def succeeded(self, address: str, client: str) -> None:
        """The attempt's password was right: it was no failure."""
        client_windows, pair_windows, account, state = self._keys(address, client, _rules(current_app.config))
        client_keys, pair_keys = [k for k, _ in client_windows], [k for k, _ in pair_windows]
        if self._succeeded is not None:
            try:
                self._succeeded(keys=[*client_keys, *pair_keys, account, state], args=[len(client_keys)])
                return
            except (redis.RedisError, OSError) as exc:
                log.warning("the limiter's Redis is unreachable, sign-ins are counted in memory: %s", exc)
        self.memory.succeeded(client_keys, pair_keys, account, state)


def limits_of(app: Flask | None = None) -> SignInLimits | None:
    """The app's sign-in limits, or None when rate limits are off (``RATELIMIT_ENABLED``)."""
    app = app or current_app
    if not app.config.get("RATELIMIT_ENABLED", True):
        return None
    return app.extensions[_EXTENSION_KEY]


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION_KEY] = SignInLimits(
        app.config.get("RATELIMIT_STORAGE_URI", "memory://"),
        app.config.get("RATELIMIT_KEY_PREFIX", "beitrag-limits"),
        app.config["SECRET_KEY"],
    )
