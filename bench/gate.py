"""The gate's cost per message: one Redis script call (rate slot, journal, control word) as a send worker
makes it before every message, against the floor of any Redis call, a bare PING, in the same run.

    python -m bench.gate [--quick]

No rate limit is set (the script still reads and writes the rate keys), so the figure is the call's own
cost, not a wait. Over a unix socket to a local Redis, like the embedded default; BENCH_REDIS_URL for
another server.
"""

from __future__ import annotations

import os
import time

import redis

from bench.common import arguments, emit, redis_server, summary_ms
from newsletter.sending import gate


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    size = 5_000 if args.quick else 50_000
    with redis_server() as url:
        connection = redis.Redis.from_url(url)
        doorway = gate.Gate(connection, gate.Rate(per_second=1e9), issue_id=1, job_id="bench", heartbeat=60)
        doorway.open_journal("bench")
        for n in range(500):  # warm up: script loaded, connection open
            doorway.enter(n - 1 if n else None, "s", n)
            connection.ping()
        calls, pings = [], []
        for n in range(size):
            t0 = time.perf_counter()
            doorway.enter(n - 1 if n else None, "s", n)
            t1 = time.perf_counter()
            connection.ping()
            t2 = time.perf_counter()
            calls.append(t1 - t0)
            pings.append(t2 - t1)
        doorway.close_journal("bench")
        connection.delete(gate.heartbeat_key("bench"), *connection.keys(f"{gate.PREFIX}:rate:*"))
    gate_ms, ping_ms = summary_ms(calls), summary_ms(pings)
    load = os.getloadavg()
    print(f"gate.enter: p50 {gate_ms['p50_ms'] * 1000:.0f} µs, p99 {gate_ms['p99_ms'] * 1000:.0f} µs")
    print(f"PING:       p50 {ping_ms['p50_ms'] * 1000:.0f} µs, p99 {ping_ms['p99_ms'] * 1000:.0f} µs")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    emit({
        "bench": "gate", "size": size, "p50_us": round(gate_ms["p50_ms"] * 1000, 1),
        "baseline_p50_us": round(ping_ms["p50_ms"] * 1000, 1),
        "ratio": round(gate_ms["p50_ms"] / ping_ms["p50_ms"], 2),
        "p99_us": round(gate_ms["p99_ms"] * 1000, 1), "load": round(load[0], 2),
        "goal": {"p50_us_at_most": 100},
    })  # fmt: skip


if __name__ == "__main__":
    main()
