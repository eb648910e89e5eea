"""German by default, English on request, the choice remembered; every string has a German translation."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

from tests.support.web import text_of

ROOT = Path(__file__).resolve().parents[2]


def test_readers_see_german_by_default(client):
    page = text_of(client.get("/"))
    assert '<html lang="de">' in page
    assert "Unsere Inhalte bleiben frei" in page


def test_english_on_request_is_remembered(client):
    page = text_of(client.get("/?lang=en"))
    assert '<html lang="en">' in page
    assert "Our content stays free" in page
    again = text_of(client.get("/"))  # no parameter: the cookie remembers
    assert '<html lang="en">' in again
    back = text_of(client.get("/?lang=de"))
    assert '<html lang="de">' in back


def test_unknown_language_falls_back_to_german(client):
    page = text_of(client.get("/?lang=xx"))
    assert '<html lang="de">' in page


def test_every_string_has_a_german_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract",
         "-F", "newsletter/translations/babel.cfg",
         "-k", "_l", "-k", "lazy_gettext", "-o", str(pot), "app.py", "newsletter", "payments", "templates",
         "templates/email/_partials"],  # Babel skips folders starting with "_" unless named
        cwd=ROOT, check=True,
    )  # fmt: skip
    with open(pot, "rb") as fh:
        wanted = {m.id for m in read_po(fh) if m.id}
    with open(ROOT / "newsletter/translations/de/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    missing = sorted(str(m) for m in wanted - translated)
    assert not missing, f"{len(missing)} strings have no German translation: {missing[:10]}"


def test_the_german_texts_name_readers_and_donors_in_one_form():
    """One gender form throughout, the one the catalogue uses most: "Leser*innen", "Spender*in"; no
    "Leserinnen und Leser", "Leserin oder Leser" or "Spender/in" beside it."""
    with open(ROOT / "newsletter/translations/de/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    texts = [" ".join(m.string) if isinstance(m.string, tuple) else m.string
             for m in catalog if m.id and m.string]  # fmt: skip
    other_forms = re.compile(r"Leserin(nen)? (und|oder) (ein )?Leser|Spender(in)?/in|"
                             r"Spenderinnen und Spender|Jede und jeder|\bLeser(n|s)?\b(?!\*)")  # fmt: skip
    assert [t for t in texts if other_forms.search(t)] == []
    assert sum("Leser*in" in t for t in texts) > 20
