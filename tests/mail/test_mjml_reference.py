"""Our MJML rendering (mjml-python, then newsletter.mail.rendering's corrections) against the reference
renderer, JS ``mjml`` 5 (tests/mail/mjml_reference, installed by .ci/run; skipped with the reason when node or
the package is missing), on every e-mail template: what a client that drops <style> and reads only inline
attributes gets must be the same: image widths, the colour and font of every link and text block, the
widths of tables. The first tests need no Node and say the same for our path alone.
Bad inputs tried: an editorial that writes an mj-style and a padding attribute as text, a subject and
editorial with markup (tests/editorial/test_issues.py), MJML without any inline style."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsletter.editorial import issues
from newsletter.mail import rendering
from tests.mail import mjml_compare, mjml_samples

NAMES = [
    *mjml_samples.TRANSACTIONAL,
    "donation_receipt-one_time",
    *(f"issue_{layout}-{variant}" for layout in ("digest", "feature") for variant in issues.VARIANTS),
]


@pytest.fixture(scope="module")
def sources(_session_app) -> dict[str, str]:
    with _session_app.test_request_context():
        return mjml_samples.sources(rendering.get_renderer(_session_app))


@pytest.fixture(scope="module")
def ours(sources) -> dict[str, str]:
    return {name: rendering.mjml_to_html(source, origin=name) for name, source in sources.items()}


@pytest.fixture(scope="module")
def reference(sources) -> dict[str, str]:
    reason = mjml_compare.reference_missing()
    if reason:
        pytest.skip(reason)
    return mjml_compare.render_reference(sources)


def test_the_samples_cover_every_template(sources):
    assert sorted(sources) == sorted(NAMES)
    templates = Path(__file__).parents[2] / "templates" / "email"
    folders = {path.parent.name for path in templates.glob("*/body.mjml")}
    assert folders == {name.split("-")[0] for name in NAMES}


def test_a_lead_image_fits_its_padded_column(ours):
    """600 px column, 24 px padding either side: 552 px, in the attribute Outlook reads and the box around."""
    view = mjml_compare.client_view(ours["issue_feature-default"])
    assert [(width, box) for _src, width, box, _style in view.images] == [("552", "552px")]


@pytest.mark.parametrize("name", NAMES)
def test_every_link_has_its_colour_inline(ours, name):
    links = mjml_compare.client_view(ours[name]).links
    uncoloured = [(href, text) for href, text, style in links if "color" not in style]
    assert uncoloured == [], f"{name}: links a client without <style> shows in default blue"


def test_inline_css_is_not_left_in_a_style_element(ours):
    """As the reference: the mj-style inline CSS goes into the attributes, not into <head> as well."""
    html = ours["test_message"]
    assert ".muted" not in html and "a { color" not in html


def test_editorial_text_is_never_taken_for_mjml_or_css():
    source = """<mjml><mj-head><mj-style inline="inline">a { color: #0b5cad; }</mj-style></mj-head><mj-body>
      <mj-section><mj-column><mj-text>&lt;mj-style inline="inline"&gt;p { color: red }&lt;/mj-style&gt;
      padding="0" <a href="https://example.org/?a=1&amp;b=2">Link</a></mj-text></mj-column></mj-section>
      </mj-body></mjml>"""
    html = rendering.mjml_to_html(source)
    assert 'padding="0" ' in html  # the text is left as written
    assert "color: red;" not in html and "color:red" not in html  # written about, not applied
    assert '<a href="https://example.org/?a=1&amp;b=2" style="color: #0b5cad;">Link</a>' in html
    assert "&lt;mj-style inline=" in html


def test_mjml_without_inline_css_is_left_as_mjml_python_makes_it():
    source = (
        "<mjml><mj-body><mj-section><mj-column><mj-text>Hallo</mj-text></mj-column></mj-section></mj-body></mjml>"
    )
    assert rendering.mjml_to_html(source) == rendering.mjml.mjml2html(source, disable_comments=True, fonts={})


@pytest.mark.parametrize("name", NAMES)
def test_clients_read_the_same_as_from_the_reference(ours, reference, name):
    got, expected = mjml_compare.client_view(ours[name]), mjml_compare.client_view(reference[name])
    assert got.images == expected.images, f"{name}: image widths (src, width, box, style)"
    assert got.links == expected.links, f"{name}: links (href, text, inline colour and font)"
    assert got.texts == expected.texts, f"{name}: text blocks (text, colour and font)"
    assert got.tables == expected.tables, f"{name}: table widths"
