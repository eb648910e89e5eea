"""The sign-up forms skip the app-wide hooks of CSRFProtect, Flask-Login and Flask-Limiter
(``extensions.LEAN_ENDPOINTS``): that is only safe for views those hooks have nothing to do for, and the
hooks must keep running for every other route."""

from __future__ import annotations

from flask import Flask

from newsletter.platform import extensions
from newsletter.platform.extensions import LEAN_ENDPOINTS, csrf, sparing_lean_endpoints


def test_only_csrf_exempt_views_skip_the_csrf_hook(app):
    assert LEAN_ENDPOINTS, "the sign-up forms are lean"
    for endpoint in LEAN_ENDPOINTS:
        view = app.view_functions[endpoint]
        assert f"{view.__module__}.{view.__name__}" in csrf._exempt_views, (
            f"{endpoint} skips the CSRF check but is not exempt from it: a cross-site POST would pass"
        )


def test_the_hooks_still_guard_the_forms_next_to_the_sign_up(app, client):
    # The preference-link form sits in the same blueprint as the sign-up and is not lean.
    refused = client.post("/preferences", data={"email": "leser@example.org"})
    assert refused.status_code == 400
    assert "leser@example.org" not in refused.get_data(as_text=True)
    # No form token: the sign-up form itself says so.
    unsigned = client.post("/subscribe", data={"email": "leser@example.org"})
    assert unsigned.status_code == 400
    assert "Das Formular ist abgelaufen" in unsigned.get_data(as_text=True)


def _hooked_app() -> tuple[Flask, list[str]]:
    """A small app whose extension hooks are registered as ``sparing_lean_endpoints`` registers them,
    between hooks of its own, each writing its name down when it runs."""
    app, ran = Flask("hooks"), []

    def hook(name: str, answer=None):
        def before():
            ran.append(name)
            return answer

        def after(response):
            ran.append(name)
            return response

        def teardown(error):
            ran.append(name)

        return before, after, teardown

    def register(name: str, answer=None):
        before, after, teardown = hook(name, answer)
        app.before_request(before)
        app.after_request(after)
        app.teardown_request(teardown)

    register("own-1")
    with sparing_lean_endpoints(app):
        register("ext-a")
        register("ext-b")
    register("own-2")
    app.add_url_rule("/lean", "lean", lambda: "lean")
    app.add_url_rule("/other", "other", lambda: "other")
    return app, ran


def test_a_lean_endpoint_skips_the_spared_hooks_and_every_other_runs_them_in_flasks_order(monkeypatch):
    monkeypatch.setattr(extensions, "LEAN_ENDPOINTS", {"lean"})
    app, ran = _hooked_app()
    assert app.test_client().get("/lean").get_data(as_text=True) == "lean"
    assert ran == ["own-1", "own-2", "own-2", "own-1", "own-2", "own-1"]
    ran.clear()
    assert app.test_client().get("/other").get_data(as_text=True) == "other"
    # Before: in order; after and teardown: the last registered first (as Flask runs them).
    assert ran == [
        "own-1", "ext-a", "ext-b", "own-2",
        "own-2", "ext-b", "ext-a", "own-1",
        "own-2", "ext-b", "ext-a", "own-1",
    ]  # fmt: skip


def test_a_spared_before_hook_that_answers_stops_the_request_as_in_flask(monkeypatch):
    monkeypatch.setattr(extensions, "LEAN_ENDPOINTS", {"lean"})
    app, ran = Flask("answers"), []
    with sparing_lean_endpoints(app):
        app.before_request(lambda: ran.append("first") or "refused by the extension")
        app.before_request(lambda: ran.append("second"))
    app.add_url_rule("/other", "other", lambda: "the view")
    assert app.test_client().get("/other").get_data(as_text=True) == "refused by the extension"
    assert ran == ["first"]
