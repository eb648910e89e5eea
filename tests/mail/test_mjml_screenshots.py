"""Every e-mail template as Chromium shows it (Debian's /usr/bin/chromium through Playwright, as tests/e2e),
from our HTML and from the reference renderer's (tests/mail/test_mjml_reference.py), at 600 px (the
message's width) and 375 px (a phone), as sent and with every <style> element removed as a strict client
does: the screenshots must match. Images are answered with one generated PNG, everything else is refused,
so nothing is loaded from outside. On a difference the three images (ours, reference, difference) are saved
to ``E2E_ARTIFACTS`` (default: a temporary folder named in the failure).

Tolerance: both pages are drawn by the same browser with the same fonts, so identical markup gives identical
pixels (measured: 0 differing pixels on every template). A pixel counts as different when a colour channel
differs by more than 32 of 255, which leaves out anti-aliasing at glyph edges; a page fails when more than
0.01 % of its pixels differ, about 90 on a 600 x 1500 page. One link word in the browser's default blue
instead of our colour is some 150 such pixels; mjml-python's HTML without the corrections differs in
0.3-1.4 % of the pixels once <style> is removed."""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path

import pytest

from tests.mail import mjml_compare
from tests.mail.test_mjml_reference import NAMES, ours, reference, sources  # noqa: F401 (fixtures)

CHROMIUM = "/usr/bin/chromium"
WIDTHS = (600, 375)
CHANNEL_TOLERANCE = 32
MAX_DIFFERING_SHARE = 0.0001

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing: apt-get install chromium"
    ),
]


@pytest.fixture(scope="module")
def artifacts() -> Path:
    folder = Path(os.environ.get("E2E_ARTIFACTS") or tempfile.mkdtemp(prefix="beitrag-e2e-")) / "mjml"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _test_image() -> bytes:
    from PIL import Image

    image = Image.new("RGB", (1200, 600), (40, 90, 160))
    for x in range(0, 1200, 100):  # stripes: a shifted or squeezed image shows
        image.paste((220, 120, 40), (x, 0, x + 50, 600))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def page():
    from playwright.sync_api import sync_playwright

    image = _test_image()

    def answer(route):
        if route.request.resource_type == "image":
            route.fulfill(status=200, body=image, content_type="image/png")
        else:
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        tab = browser.new_page()
        tab.route("**/*", answer)
        yield tab
        browser.close()


def _screenshot(page, html: str, width: int):
    from PIL import Image

    page.set_viewport_size({"width": width, "height": 800})
    page.set_content(html, wait_until="load")
    return Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")


def _differing_share(got, expected) -> tuple[float, object]:
    from PIL import ImageChops

    if got.size != expected.size:
        return 1.0, None
    channels = ImageChops.difference(got, expected).split()
    strongest = channels[0]
    for channel in channels[1:]:
        strongest = ImageChops.lighter(strongest, channel)
    marked = strongest.point(lambda v: 255 if v > CHANNEL_TOLERANCE else 0)
    return marked.histogram()[255] / (got.size[0] * got.size[1]), marked


@pytest.mark.parametrize("name", NAMES)
def test_chromium_shows_our_html_as_the_reference(page, ours, reference, artifacts, name):  # noqa: F811
    failures = []
    for width in WIDTHS:
        for strict in (False, True):
            ours_html, reference_html = ours[name], reference[name]
            if strict:
                ours_html = mjml_compare.without_styles(ours_html)
                reference_html = mjml_compare.without_styles(reference_html)
            got = _screenshot(page, ours_html, width)
            expected = _screenshot(page, reference_html, width)
            share, marked = _differing_share(got, expected)
            if share > MAX_DIFFERING_SHARE:
                stem = artifacts / f"{name}-{width}{'-no-style' if strict else ''}"
                got.save(f"{stem}-ours.png")
                expected.save(f"{stem}-reference.png")
                if marked is not None:
                    marked.save(f"{stem}-difference.png")
                how = f"{width} px{' without <style>' if strict else ''}"
                failures.append(f"{how}: {share:.3%} differ, {got.size} against {expected.size}")
    assert failures == [], f"{name}: screenshots in {artifacts}: " + "; ".join(failures)
