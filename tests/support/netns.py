"""Worker "hosts" for tests: a network namespace each, joined to the root namespace by a veth pair, so that
a host's link can be cut (``ip link set ... down``) and brought back like a cable pulled and plugged in.

Names carry the test process's id, addresses are taken from 10.213.0.0/16 where the machine uses none, and
everything made here is removed by :meth:`Host.remove` (its processes killed by their ids, found with
``ip netns pids``; the namespace deleted, which deletes the veth pair with it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

IP = shutil.which("ip") or "/usr/sbin/ip"


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([IP, *args], check=check, capture_output=True, text=True, timeout=30)


def unavailable() -> str | None:
    """Why hosts cannot be made here (None when they can): root and ``ip netns`` are needed."""
    if os.geteuid() != 0:
        return "needs root to make network namespaces"
    if not Path(IP).exists():
        return "needs iproute2 (ip) to make network namespaces"
    probe = f"bt{os.getpid()}probe"
    try:
        _ip("netns", "add", probe)
    except (subprocess.CalledProcessError, OSError) as exc:
        return f"ip netns add failed: {getattr(exc, 'stderr', exc)}"
    _ip("netns", "del", probe, check=False)
    return None


def _addresses_in_use() -> str:
    return _ip("-4", "-o", "addr").stdout + _ip("-4", "route").stdout


def free_prefix() -> str:
    """The first three octets of a /24 in 10.213.0.0/16 that no address or route of the machine is in;
    host ``i`` of a test takes the /30 at ``4 * i`` in it."""
    used = _addresses_in_use()
    for step in range(250):
        prefix = f"10.213.{(os.getpid() + step) % 250 + 1}"
        if f"{prefix}." not in used:
            return prefix
    raise RuntimeError("no free /24 in 10.213.0.0/16")


class Host:
    """One worker host. ``root_address`` is where the host reaches the test's services (forwarders and the
    SMTP receiver listen there); ``address`` is the host's own, the source of everything it sends."""

    def __init__(self, index: int, prefix: str):
        tag = f"{os.getpid()}{index}"
        self.index = index
        self.namespace = f"beitrag-host-{tag}"
        self.root_link = f"btr{tag}"[:15]  # interface names have at most 15 characters
        self.link = f"bth{tag}"[:15]
        self.root_address, self.address = f"{prefix}.{4 * index + 1}", f"{prefix}.{4 * index + 2}"
        self.processes: list[subprocess.Popen] = []

    def create(self) -> Host:
        _ip("netns", "add", self.namespace)
        _ip("link", "add", self.root_link, "type", "veth", "peer", "name", self.link, "netns", self.namespace)
        _ip("addr", "add", f"{self.root_address}/30", "dev", self.root_link)
        _ip("link", "set", self.root_link, "up")
        _ip("-n", self.namespace, "addr", "add", f"{self.address}/30", "dev", self.link)
        _ip("-n", self.namespace, "link", "set", self.link, "up")
        _ip("-n", self.namespace, "link", "set", "lo", "up")
        # A connection whose link comes back resumes at its next retransmission: capped at one second
        # (Linux >= 6.15), not the minutes a long outage backs off to. Older kernels: only slower.
        _ip("netns", "exec", self.namespace, "sysctl", "-qw", "net.ipv4.tcp_rto_max_ms=1000", check=False)
        return self

    def cut(self) -> None:
        """The host's cable pulled: its side of the veth pair down."""
        _ip("-n", self.namespace, "link", "set", self.link, "down")

    def restore(self) -> None:
        _ip("-n", self.namespace, "link", "set", self.link, "up")

    def start(self, args: list[str], *, env: dict[str, str], cwd: Path, log: Path) -> subprocess.Popen:
        """A process inside the host (``ip netns exec`` execs it, so the process id is the program's)."""
        with open(log, "ab") as out:
            process = subprocess.Popen(
                [IP, "netns", "exec", self.namespace, *args], cwd=cwd, env=env, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.processes.append(process)
        return process

    def pids(self) -> set[int]:
        """Every process in the host's namespace: the ones started here and what they forked."""
        found = _ip("netns", "pids", self.namespace, check=False).stdout.split()
        return {int(pid) for pid in found}

    def children(self) -> set[int]:
        """Processes in the host that it did not start itself (RQ's work horses)."""
        return self.pids() - {p.pid for p in self.processes}

    def kill_all(self) -> None:
        for _ in range(3):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.2)
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)

    def remove(self) -> None:
        self.kill_all()
        _ip("netns", "del", self.namespace, check=False)
        _ip("link", "del", self.root_link, check=False)  # gone with the namespace already, normally
