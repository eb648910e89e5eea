"""What one sign-up costs inside the app, beside the bare insert of ``bench/subscribe_baseline.py``: the
same WSGI calls without gunicorn or sockets in between, on PostgreSQL and Redis.

``bench.subscribe`` measures the web tier as readers meet it, but its CPU figures move with whatever else
the machine does. Here each app is called directly, and ``--callgrind`` runs each one under valgrind's
callgrind, counting the instructions of the measured calls only (``callgrind_control`` switches counting
on and off around them): the same count on a quiet or a busy machine, so that a change to the sign-up
path can be judged by itself.

    python -m bench.signup_cost [--quick] [--callgrind] [--requests N]
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse

from bench import common, subscribe

GOAL_RATIO = 2.0  # inside the app, where the bare insert has no gunicorn to share its cost with


def _environ(body: str) -> dict:
    from werkzeug.test import EnvironBuilder

    builder = EnvironBuilder(
        path="/subscribe", method="POST", data=body, content_type="application/x-www-form-urlencoded",
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    )  # fmt: skip
    return builder.get_environ()


def _call_all(app, environs: list[dict]) -> None:
    def start_response(status, headers, exc_info=None):
        if not status.startswith("200"):
            raise RuntimeError(f"a sign-up answered {status}")

    for environ in environs:
        b"".join(app(environ, start_response))


def _measure(which: str, count: int, counting: bool) -> float:
    """CPU milliseconds per request of ``which`` (beitrag or baseline), after 200 to warm up."""
    with common.postgres_database() as database_url, common.redis_server() as redis_url:
        subscribe.prepare_database(database_url, redis_url)
        with tempfile.TemporaryDirectory(prefix="beitrag-bench-cost-") as instance:
            os.environ.update({
                "BEITRAG_ENV": "production", "BEITRAG_INSTANCE": instance, "DATABASE_URL": database_url,
                "REDIS_URL": redis_url, "SECRET_KEY": "bench-secret-key-bench-secret-key-0123456789",
                "BASE_URL": "http://127.0.0.1", "SMTP_URL": "smtp://127.0.0.1:1",
                "SUBSCRIBE_RATE_LIMIT": "1000000 per minute", "SUBSCRIBE_MIN_SECONDS": "0",
                "BENCH_DATABASE_URL": database_url,
            })  # fmt: skip
            if which == "baseline":
                from bench.subscribe_baseline import create_app

                app = create_app()
                bodies = [
                    urllib.parse.urlencode({"email": f"base{i}@example.org"}) for i in range(count + 200)
                ]
            else:
                from app import create_app

                app = create_app()
                page = app.test_client().get("/subscribe").get_data(as_text=True)
                token = re.search(r'name="form_token" type="hidden" value="([^"]+)"', page).group(1)
                bodies = [
                    urllib.parse.urlencode({"email": f"bench{i}@example.org", "newsletters": "ki-news",
                                            "language": "de", "form_token": token, "source": "bench"})
                    for i in range(count + 200)
                ]  # fmt: skip
            environs = [_environ(body) for body in bodies]
            _call_all(app, environs[:200])
            if counting:
                _callgrind_counts("on")
            began = time.process_time()
            _call_all(app, environs[200:])
            spent = time.process_time() - began
            if counting:
                _callgrind_counts("off")
            return 1000 * spent / count


def _callgrind_counts(switch: str) -> None:
    subprocess.run(["callgrind_control", "-i", switch, str(os.getpid())], check=True, capture_output=True)


def _instructions(which: str, count: int) -> int:
    """Instructions per request of ``which``, counted by callgrind in a child process."""
    with tempfile.TemporaryDirectory(prefix="beitrag-bench-callgrind-") as folder:
        run = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={folder}/out",
             sys.executable, "-m", "bench.signup_cost", "--only", which, "--requests", str(count),
             "--counting"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    collected = re.search(r"Collected\s*:\s*([\d,]+)", run.stderr)
    if collected is None:
        raise RuntimeError(f"callgrind counted nothing: {run.stderr[-500:]}")
    return int(collected.group(1).replace(",", "")) // count


def main() -> None:
    args = common.arguments(
        __doc__.splitlines()[0],
        [
            (["--requests"], {"type": int, "default": None,
                              "help": "sign-ups each (default 3000, --quick 500)"}),
            (["--callgrind"], {"action": "store_true", "help": "count instructions under valgrind too"}),
            (["--only"], {"choices": ["beitrag", "baseline"], "help": argparse_suppress()}),
            (["--counting"], {"action": "store_true", "help": argparse_suppress()}),
        ],
    )
    count = args.requests or (500 if args.quick else 3000)
    if args.only:  # one side, in a child process (under callgrind when counting)
        print(f"{args.only} {_measure(args.only, count, args.counting):.4f}")
        return
    print(f"signup_cost: {count} sign-ups and as many bare inserts, called in process; {common.machine()}")
    cpu = {}
    for which in ("beitrag", "baseline"):
        command = [sys.executable, "-m", "bench.signup_cost", "--only", which, "--requests", str(count)]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        cpu[which] = float(out.strip().splitlines()[-1].split()[1])
    result = {
        "bench": "signup_cost",
        "size": {"requests": count},
        "cpu_ms_per_request": round(cpu["beitrag"], 3),
        "baseline_cpu_ms_per_request": round(cpu["baseline"], 3),
        "ratio": round(cpu["beitrag"] / cpu["baseline"], 2),
    }
    if args.callgrind:
        counted = min(count, 500)  # callgrind runs the app fifty times slower
        mine, theirs = _instructions("beitrag", counted), _instructions("baseline", counted)
        result.update(instructions_per_request=mine, baseline_instructions_per_request=theirs,
                      instructions_ratio=round(mine / theirs, 2))  # fmt: skip
    ratio = result.get("instructions_ratio", result["ratio"])
    result["goal"] = {"ratio": GOAL_RATIO, "met": ratio <= GOAL_RATIO}
    common.emit(result)


def argparse_suppress() -> str:
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
