"""The page checks that every journey runs must catch what they are for, or the journeys prove nothing.
Bad pages tried (served by the browser's own routing at the app's address): a field without a label, two
h1, grey-on-white text, a link whose focus looks like no focus, an inline script under the app's CSP,
a missing security header, a script from another origin."""

from __future__ import annotations

from tests.e2e.eyes import Eyes

BAD_PAGE = """<!doctype html><html lang="de"><head><title>x</title>
<style>a:focus { outline: none; } .pale { color: #bbbbbb; }</style></head><body>
<h1>One</h1><h1>Two</h1>
<a href="#x">a link</a> <a href="#y">another</a>
<p class="pale">Grey text nobody can read</p>
<input type="text" name="nameless">
<script>document.title = "inline ran";</script>
<script src="http://cdn.example.test/lib.js"></script>
</body></html>"""


def test_the_checks_find_what_is_wrong_on_a_bad_page(browser, stack, artifacts):
    context = browser.new_context(base_url=stack.base_url)
    page = context.new_page()
    eyes = Eyes(page, stack.base_url, artifacts, journey="selfcheck")
    page.route("http://cdn.example.test/**", lambda route: route.fulfill(status=200, body=""))
    policy = {"Content-Security-Policy": "script-src 'self' http://cdn.example.test"}
    page.route(
        f"{stack.base_url}/bad-page",
        lambda route: route.fulfill(status=200, body=BAD_PAGE, content_type="text/html", headers=policy),
    )
    try:
        page.goto("/bad-page")
        eyes.look("bad", shots=False)
        eyes.check_headers()
    finally:
        context.close()
    found = "\n".join(eyes.problems)
    assert "form field without a label" in found
    assert "2 h1 headings" in found
    assert "contrast" in found and "Grey text" in found
    assert "keyboard focus is not visible" in found
    assert "CSP violation: script-src" in found  # the inline script was blocked and reported
    assert "subresource from another origin" in found and "http:// subresource" in found
    assert "no X-Content-Type-Options" in found and "CSP without frame-ancestors" in found
    assert "no Referrer-Policy" in found
