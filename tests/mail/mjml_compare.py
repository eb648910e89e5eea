"""The reference MJML renderer (JS ``mjml`` 5, from npm into tests/mail/mjml_reference/node_modules; .ci/run
installs it) and what mail clients read from rendered HTML, for comparing mjml-python's output with it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

REFERENCE_DIR = Path(__file__).parent / "mjml_reference"
INSTALL_HINT = "cd tests/mail/mjml_reference && npm install --no-package-lock --no-audit --no-fund"


def reference_missing() -> str | None:
    """Why the reference renderer cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed (the reference MJML renderer runs on Node.js)"
    if not (REFERENCE_DIR / "node_modules" / "mjml" / "package.json").exists():
        return f"the reference MJML renderer is not installed: {INSTALL_HINT}"
    return None


def render_reference(sources: dict[str, str]) -> dict[str, str]:
    """{name: HTML} from the reference renderer, all sources in one Node process."""
    done = subprocess.run(
        [shutil.which("node") or "node", str(REFERENCE_DIR / "render.js")],
        input=json.dumps(sources).encode(),
        capture_output=True,
        check=False,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the reference MJML renderer failed: {done.stderr.decode(errors='replace')}")
    return json.loads(done.stdout)


# What clients read in a style attribute: colours and fonts of text and links, widths of boxes.
TEXT_PROPERTIES = ("color", "font-family", "font-size", "font-weight", "line-height", "text-decoration")
_BLOCKS = {"p", "div", "li", "ul", "ol", "br", "tr", "td", "table", "h1", "h2", "h3", "blockquote", "hr"}
_VOID = {"img", "br", "hr", "meta", "link", "input", "col", "source", "area", "base", "wbr"}


def style_of(value: str | None) -> dict[str, str]:
    declarations = {}
    for part in (value or "").split(";"):
        name, _, val = part.partition(":")
        if name.strip() and val.strip():
            declarations[name.strip().lower()] = re.sub(r"\s+", " ", val.strip().lower())
    return declarations


@dataclass
class ClientView:
    """A rendered message as a client that ignores <style> sees it: inline attributes only."""

    images: list[tuple] = field(default_factory=list)  # (src, width attribute, box width, style width)
    links: list[tuple] = field(default_factory=list)  # (href, text, {property: value})
    texts: list[tuple] = field(default_factory=list)  # (text, {property: value}) of each text block
    tables: list[tuple] = field(default_factory=list)  # (width attribute, style width, max-width) outside MSO


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.view = ClientView()
        self.stack: list[tuple[str, dict]] = []
        self.open_links: list[list] = []
        self.open_texts: list[list] = []
        self.last_width = None

    def handle_starttag(self, tag, attrs):
        if tag in _BLOCKS:  # a line break where the blocks meet, whatever whitespace the source had there
            self.handle_data(" ")
        attributes = dict(attrs)
        style = style_of(attributes.get("style"))
        if tag == "td" and "width" in style:
            self.last_width = style["width"]
        if tag == "img":
            self.view.images.append(
                (attributes.get("src"), attributes.get("width"), self.last_width, style.get("width"))
            )
        if tag == "table" and ("width" in attributes or "width" in style or "max-width" in style):
            self.view.tables.append((attributes.get("width"), style.get("width"), style.get("max-width")))
        if tag == "div" and "max-width" in style:
            self.view.tables.append((None, style.get("width"), style.get("max-width")))
        if tag in _VOID:
            return
        if tag == "a":
            # A browser's own style sheet gives links their colour and underline: only the link's own
            # style attribute changes them where <style> is dropped.
            own = {k: v for k, v in style.items() if k in TEXT_PROPERTIES}
            inherited = {k: v for k, v in self._inherited().items() if k not in ("color", "text-decoration")}
            self.open_links.append([attributes.get("href"), "", {**inherited, **own}])
        self.stack.append((tag, style))
        if tag in ("div", "p", "td") and "font-family" in style:
            self.open_texts.append([len(self.stack), "", self._inherited()])

    def _inherited(self) -> dict[str, str]:
        found: dict[str, str] = {}
        for _tag, style in self.stack:
            found.update({k: v for k, v in style.items() if k in TEXT_PROPERTIES})
        return found

    def handle_endtag(self, tag):
        if tag in _BLOCKS:
            self.handle_data(" ")
        if tag in _VOID or not self.stack:
            return
        while self.stack:
            open_tag, _ = self.stack.pop()
            if self.open_texts and self.open_texts[-1][0] > len(self.stack):
                _depth, text, props = self.open_texts.pop()
                if text.strip():
                    self.view.texts.append((" ".join(text.split()), props))
            if open_tag == "a" and self.open_links:
                href, text, props = self.open_links.pop()
                self.view.links.append((href, " ".join(text.split()), props))
            if open_tag == tag:
                break

    def handle_data(self, data):
        for entry in self.open_links:
            entry[1] += data
        for entry in self.open_texts:
            entry[1] += data


def client_view(html: str) -> ClientView:
    """What a client that drops <style> and never reads Outlook's conditional comments reads."""
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.view


def without_styles(html: str) -> str:
    """The HTML as a strict client shows it: every <style> element removed."""
    return re.sub(r"<style\b[^>]*>.*?</style>", "", html, flags=re.DOTALL | re.IGNORECASE)
