"""The sign-up forms skip the app-wide hooks of CSRFProtect, Flask-Login and Flask-Limiter
(``extensions.LEAN_ENDPOINTS``): that is only safe for views those hooks have nothing to do for, and the
hooks must keep running for every other route."""

from __future__ import annotations

from newsletter.platform.extensions import LEAN_ENDPOINTS, csrf


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
