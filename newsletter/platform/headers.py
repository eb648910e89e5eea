"""Security headers on every answer, added where the answer leaves the app (a WSGI wrapper around it), so
that error pages, the body limit's 413 and the sign-up forms get them at the cost of a list append.

A view loosens the policy for its own answer with :func:`loosen`: the embeddable subscribe form allows
framing by the newsroom's sites, and the donate form names Stripe Checkout's origin in ``form-action``
(browsers apply ``form-action`` to the redirect after the POST too). A header the view set itself wins."""

from __future__ import annotations

import functools

from flask import Flask, request

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action {form_action}; "
    "frame-ancestors {frame_ancestors}"
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
NOT_STORED = ("Cache-Control", "no-store")  # staff pages: nothing of them in shared or browser caches

_POLICY_KEY = "beitrag.policy"  # the request's (frame_ancestors, form_action), when a view loosened them
_STRICT = ("'none'", "'self'")


@functools.lru_cache(maxsize=32)
def _policy_headers(ancestors: str, form_action: str) -> tuple[tuple[str, str, str], ...]:
    """(name, lower-case name, value) of the headers every answer gets, made once per policy."""
    policy = CONTENT_SECURITY_POLICY.format(frame_ancestors=ancestors, form_action=form_action)
    headers = [
        ("Content-Security-Policy", policy),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]
    if ancestors in ("'none'", "'self'"):
        headers.append(("X-Frame-Options", "DENY" if ancestors == "'none'" else "SAMEORIGIN"))
    return tuple((name, name.lower(), value) for name, value in headers)


def loosen(*, frame_ancestors: str | None = None, form_action: str | None = None) -> None:
    """Let the current request's answer be framed by ``frame_ancestors`` or post to ``form_action``
    (CSP source lists)."""
    ancestors, action = request.environ.get(_POLICY_KEY, _STRICT)
    request.environ[_POLICY_KEY] = (frame_ancestors or ancestors, form_action or action)


class SecurityHeaders:
    """WSGI wrapper: the policy's headers joined to the app's own in ``start_response``."""

    def __init__(self, wsgi_app):
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        def start(status, headers, exc_info=None):
            headers = list(headers)
            present = {name.lower() for name, _ in headers}
            policy = _policy_headers(*environ.get(_POLICY_KEY, _STRICT))
            headers += [(name, value) for name, lower, value in policy if lower not in present]
            # Read when the answer starts: a proxy fix further in has set the scheme by then.
            if environ.get("wsgi.url_scheme") == "https" and "strict-transport-security" not in present:
                headers.append(HSTS)
            if environ.get("PATH_INFO", "").startswith("/staff") and "cache-control" not in present:
                headers.append(NOT_STORED)
            return start_response(status, headers, exc_info)

        return self.wsgi_app(environ, start)


def init_app(app: Flask) -> None:
    app.wsgi_app = SecurityHeaders(app.wsgi_app)


# Mail HTML shown inside our own pages (captured mail, issue previews) is foreign content: no scripts,
# no plugins, nothing loaded but images, and only our own pages may frame it.
SANDBOXED_HTML_POLICY = (
    "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"
)


def sandboxed_html(html: str):
    """A response for a sandboxed iframe of one of our pages."""
    from flask import current_app

    loosen(frame_ancestors="'self'")
    response = current_app.response_class(html, mimetype="text/html")
    response.headers["Content-Security-Policy"] = SANDBOXED_HTML_POLICY
    return response
