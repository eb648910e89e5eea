"""The personal reference a donor writes on a transfer: ``BT-K7M4-9XQP``.

Short enough to type from a phone into a banking app, and unambiguous: no 0, O, 1 or I (people misread
them), the same in any case. Banks cut the purpose into lines and add spaces or hyphens where they please,
so a reference is found in a purpose after those are taken out. Eight random characters from 32 are 40
bits: guessing another donor's reference is out of reach, and one that is not ours (another newsroom's,
a typo) matches nothing.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 characters: no 0, O, 1, I
PREFIX = "BT"
_FOUND = re.compile(PREFIX + f"([{ALPHABET}]{{8}})")


def new_code() -> str:
    """A new reference as stored: ``BTK7M49XQP``."""
    return PREFIX + "".join(secrets.choice(ALPHABET) for _ in range(8))


def shown(code: str) -> str:
    """As the donor reads it: ``BT-K7M4-9XQP``."""
    return f"{code[:2]}-{code[2:6]}-{code[6:10]}" if len(code) == 10 else code


def candidates(text: str) -> list[str]:
    """The references a purpose might hold, as stored, in order: every place where ``BT`` and eight
    characters of the alphabet follow once spaces, hyphens and line breaks are taken out."""
    squeezed = re.sub(r"[\s\-_./]+", "", (text or "").upper())
    found: list[str] = []
    for start in range(len(squeezed)):
        match = _FOUND.match(squeezed, start)
        if match and PREFIX + match.group(1) not in found:
            found.append(PREFIX + match.group(1))
    return found


def normalize(typed: str) -> str | None:
    """A reference as staff typed it (``bt-k7m4 9xqp``), as stored, or None when it is not one."""
    found = candidates(typed)
    return found[0] if len(found) == 1 and len(re.sub(r"[\s\-_./]+", "", typed)) == 10 else None
