"""SpamAssassin as a receiver runs it, for the tests: Debian's ``spamassassin`` with the rules its package
ships (or those sa-update left in /var/lib/spamassassin), local tests only (``-L``: no DNS blocklists, no
URIBL, no Razor/Pyzor, no DKIM key lookups), no Bayes, no user preferences, a throwaway home.

The message is scored as it left Beitrag, without a receiving MX's Received line: the relay's address and
its reverse DNS belong to the installation, not to the mail (and the documentation addresses a test could
put there score RCVD_ILLEGAL_IP, 1.3 points, on their own)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SPAMASSASSIN = shutil.which("spamassassin")
_TOTAL = re.compile(r"Content analysis details:\s+\((-?\d+(?:\.\d+)?) points")
_HIT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Z][A-Z0-9_]+)\s", re.MULTILINE)


class NoRules(RuntimeError):
    """SpamAssassin is installed but has no rules (``sa-update`` never ran and the package has none)."""


@dataclass(frozen=True)
class Report:
    score: float
    hits: dict[str, float]  # rule name -> points

    def __str__(self) -> str:
        rules = ", ".join(f"{name} {points:+.3g}" for name, points in sorted(self.hits.items()))
        return f"score {self.score:.2f} ({rules or 'no rules hit'})"


def check(raw: bytes, home: Path) -> Report:
    """Score ``raw`` (bytes as they arrive, CRLF line ends) and return the total and the rules that hit."""
    assert SPAMASSASSIN is not None
    home.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [SPAMASSASSIN, "-L", "-t", "-x", "--cf=use_bayes 0", "--cf=bayes_auto_learn 0"],
        input=raw.replace(b"\r\n", b"\n"), capture_output=True, timeout=120,
        env={"HOME": str(home), "PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )  # fmt: skip
    output = result.stdout.decode("utf-8", "replace")
    stderr = result.stderr.decode("utf-8", "replace")
    if "no rules were found" in stderr or "no rules were found" in output:
        raise NoRules(stderr.strip())
    total = _TOTAL.search(output)
    assert result.returncode == 0 and total is not None, f"spamassassin failed: {stderr or output[-2000:]}"
    report = output[total.end() :]
    return Report(float(total.group(1)), {name: float(points) for points, name in _HIT.findall(report)})
