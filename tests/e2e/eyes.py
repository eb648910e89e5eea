"""What the browser tests check on every page a journey visits, besides what the journey itself asserts:

- the security headers of every document the app served (CSP without inline scripts, frame-ancestors,
  nosniff, Referrer-Policy), and that no subresource came from another origin (no mixed content once the
  site is on https);
- nothing in the browser console: a CSP violation or a JavaScript error fails the test;
- accessibility basics: every visible form field has a label, exactly one h1, keyboard focus is visible,
  text contrast at least 4.5:1 (3:1 for large text), computed from the styles the browser applied;
- screenshots at desktop (1280 px) and phone (390 px) width into ``E2E_ARTIFACTS``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from playwright.sync_api import Page, Request, Response, expect

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# Reported by a listener the browser adds before any page script (init scripts are not subject to CSP).
_LISTEN = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || 'inline'} on ${e.documentURI}`);
});
"""

_A11Y = r"""
() => {
  const problems = [];
  const shown = (el) => {
    const s = getComputedStyle(el);
    return el.getClientRects().length > 0 && s.visibility !== 'hidden' && s.display !== 'none';
  };
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type) || !shown(el) || el.closest('[aria-hidden="true"]')) continue;
    const byFor = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
    const named = byFor || el.closest('label') || (el.getAttribute('aria-label') || '').trim()
      || el.getAttribute('aria-labelledby');
    if (!named) problems.push(`form field without a label: ${el.outerHTML.slice(0, 140)}`);
  }
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(`${h1} h1 headings (one expected)`);

  const rgba = (text) => {
    const m = text.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a), g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a), a: 1,
  });
  const background = (el) => {
    const layers = [];
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const c = rgba(getComputedStyle(node).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let colour = { r: 255, g: 255, b: 255, a: 1 };
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const lum = (c) => {
    const ch = [c.r, c.g, c.b].map((v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  };
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const seen = new Set();
  for (const el of document.querySelectorAll('body *')) {
    if (['SCRIPT', 'STYLE', 'IFRAME', 'OPTION'].includes(el.tagName) || !shown(el)) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const control = ['BUTTON', 'INPUT', 'SELECT', 'TEXTAREA'].includes(el.tagName);
    if (!own && !control) continue;
    if (el.closest('[aria-hidden="true"], .skip-link, iframe')) continue;
    const s = getComputedStyle(el);
    const bg = background(el);
    const fg = over(rgba(s.color) || { r: 0, g: 0, b: 0, a: 1 }, bg);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight, 10) >= 700;
    const need = size >= 24 || (bold && size >= 18.66) ? 3 : 4.5;
    const got = ratio(fg, bg);
    if (got < need) {
      const what = `${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).split(' ').join('.') : ''}`;
      const key = `${what} ${s.color} on ${s.backgroundColor}`;
      if (!seen.has(key)) {
        seen.add(key);
        problems.push(`contrast ${got.toFixed(2)}:1 < ${need}:1 for ${what} ("${el.textContent.trim().slice(0, 40)}")`);
      }
    }
  }
  return problems;
}
"""

_FOCUS_STYLE = """
(el) => { const s = getComputedStyle(el);
  return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.backgroundColor, s.textDecorationLine,
          s.borderColor].join('|'); }
"""


@dataclass
class Eyes:
    """Watches one browser page for a journey; ``look`` checks the page now shown; ``verdict`` fails the
    test with everything found."""

    page: Page
    base_url: str
    artifacts: Path
    journey: str
    problems: list[str] = field(default_factory=list)
    documents: list[Response] = field(default_factory=list)
    looked: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.add_init_script(_LISTEN)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.problems.append(f"JavaScript error: {exc}"))
        self.page.on("request", self._request)
        self.page.on("response", self._response)
        self.page.set_viewport_size(DESKTOP)

    def _console(self, message) -> None:
        if message.type != "error" or not self.page.url.startswith(self.base_url):
            return
        if message.text.startswith("Failed to load resource") and message.location.get("url") == self.page.url:
            return  # the page itself answered 4xx (a refusal the journey asked for); its own checks decide
        self.problems.append(f"console error on {self.page.url}: {message.text}")

    def _request(self, request: Request) -> None:
        if request.resource_type == "document" or request.url.startswith(("data:", "blob:")):
            return
        if not request.frame.url.startswith(self.base_url):
            return  # a page of another site (the Checkout stand-in) loads what it likes
        if not request.url.startswith(self.base_url + "/"):
            self.problems.append(f"subresource from another origin on {request.frame.url}: {request.url}")

    def _response(self, response: Response) -> None:
        if response.request.resource_type == "document" and response.url.startswith(self.base_url):
            self.documents.append(response)

    # -- checks ------------------------------------------------------------------------------------

    def look(self, name: str, *, shots: bool = True, focus: bool = True) -> None:
        """Check the page now shown (accessibility, focus, links), and photograph it at both widths."""
        page = self.page
        page.wait_for_load_state("load")
        where = f"{name} ({page.url})"
        self.looked.append(page.url)
        self.problems.extend(f"{where}: {p}" for p in page.evaluate(_A11Y))
        for src in page.eval_on_selector_all(
            "script[src], link[rel=stylesheet], img[src], iframe[src]",
            "els => els.map(e => e.src || e.href)",
        ):
            if src.startswith("http://") and not src.startswith(self.base_url + "/"):
                self.problems.append(f"{where}: http:// subresource {src}")
        if focus:
            self._check_focus(where)
        if shots:
            self.shoot(name)

    def _check_focus(self, where: str) -> None:
        """Tab through the page: the first two links and the first button must each look different focused
        than unfocused (outline, shadow, background, underline or border)."""
        page = self.page
        page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
        links = buttons = 0
        for _ in range(60):
            page.keyboard.press("Tab")
            element = page.evaluate_handle("() => document.activeElement").as_element()
            if element is None:
                continue
            kind = element.evaluate(
                "e => e.tagName === 'A' ? 'link' : (e.tagName === 'BUTTON' || "
                "(e.tagName === 'INPUT' && ['submit', 'button'].includes(e.type))) ? 'button' : ''"
            )
            if (kind == "link" and links < 2) or (kind == "button" and buttons < 1):
                focused = element.evaluate(_FOCUS_STYLE)
                element.evaluate("e => e.blur()")
                plain = element.evaluate(_FOCUS_STYLE)
                if focused == plain:
                    label = element.evaluate("e => e.outerHTML.slice(0, 100)")
                    self.problems.append(f"{where}: keyboard focus is not visible on {label}")
                element.focus()
                links += kind == "link"
                buttons += kind == "button"
            if links >= 2 and buttons >= 1:
                break
        page.evaluate("() => document.activeElement && document.activeElement.blur()")

    def shoot(self, name: str) -> None:
        page = self.page
        lang = page.evaluate("() => document.documentElement.lang") or "xx"
        for width, size in (("desktop", DESKTOP), ("phone", PHONE)):
            page.set_viewport_size(size)
            page.screenshot(path=str(self.artifacts / f"{self.journey}-{name}-{lang}-{width}.png"), full_page=True)
        page.set_viewport_size(DESKTOP)

    def check_headers(self) -> None:
        for response in self.documents:
            headers = response.all_headers()
            where = f"{response.request.method} {response.url} ({response.status})"
            csp = headers.get("content-security-policy", "")
            directives = {d.strip().split(" ")[0]: d.strip() for d in csp.split(";") if d.strip()}
            script = directives.get("script-src") or directives.get("default-src", "")
            if not csp:
                self.problems.append(f"{where}: no Content-Security-Policy")
            elif "'unsafe-inline'" in script or "'unsafe-eval'" in script:
                self.problems.append(f"{where}: script-src allows inline code: {script}")
            if "frame-ancestors" not in directives:
                self.problems.append(f"{where}: CSP without frame-ancestors")
            if headers.get("x-content-type-options") != "nosniff":
                self.problems.append(f"{where}: no X-Content-Type-Options: nosniff")
            if not headers.get("referrer-policy"):
                self.problems.append(f"{where}: no Referrer-Policy")

    def verdict(self) -> None:
        self.check_headers()
        assert not self.problems, "\n".join(self.problems)


def text(page: Page) -> str:
    """What the reader sees on the page: the visible text, whitespace collapsed."""
    return re.sub(r"\s+", " ", page.inner_text("body"))


def sees(page: Page, wanted: str | re.Pattern) -> None:
    """The reader sees ``wanted`` on the page (waits for it while the page is still coming)."""
    expect(page.locator("body")).to_contain_text(wanted)
