"""Security headers on every response. A view can loosen ``frame-ancestors`` for itself by setting
``g.frame_ancestors`` (the embeddable subscribe form does), and ``form-action`` by setting
``g.form_action`` (the donate form does: browsers apply ``form-action`` to the redirect after the POST too,
so a form whose answer sends the reader on to Stripe Checkout must name Checkout's origin)."""

from __future__ import annotations

import functools

from flask import Flask, g, request

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action {form_action}; "
    "frame-ancestors {frame_ancestors}"
)


@functools.lru_cache(maxsize=32)
def _policy_headers(ancestors: str, form_action: str = "'self'") -> tuple[tuple[str, str, str], ...]:
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


def init_app(app: Flask) -> None:
    @app.after_request
    def _security_headers(response):
        ancestors = getattr(g, "frame_ancestors", "'none'")
        form_action = getattr(g, "form_action", "'self'")
        present = {name.lower() for name, _ in response.headers.items()}  # a header the view set wins
        for name, lower, value in _policy_headers(ancestors, form_action):
            if lower not in present:
                response.headers.add(name, value)
        if request.is_secure:
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.path.startswith("/staff"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


# Mail HTML shown inside our own pages (captured mail, issue previews) is foreign content: no scripts,
# no plugins, nothing loaded but images, and only our own pages may frame it.
SANDBOXED_HTML_POLICY = (
    "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; frame-ancestors 'self'; sandbox"
)


# The same, for a frame whose links open in a new tab (the captured-mail viewer): a link may open a window,
# and that window is an ordinary page, not sandboxed like the frame. Still no scripts, forms or plugins.
SANDBOXED_LINKS_POLICY = SANDBOXED_HTML_POLICY + " allow-popups allow-popups-to-escape-sandbox"


def sandboxed_html(html: str, *, links_open: bool = False):
    """A response for a sandboxed iframe of one of our pages; with ``links_open`` its links may open in a
    new tab (the frame's ``sandbox`` attribute must allow popups as well)."""
    from flask import current_app

    g.frame_ancestors = "'self'"
    response = current_app.response_class(html, mimetype="text/html")
    policy = SANDBOXED_LINKS_POLICY if links_open else SANDBOXED_HTML_POLICY
    response.headers["Content-Security-Policy"] = policy
    return response
