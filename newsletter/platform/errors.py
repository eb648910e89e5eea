"""Error pages that look like the rest of the site and say what happened in the reader's language."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from newsletter.platform import bodies


def _wants_json() -> bool:
    machine = request.path.startswith(("/api/", "/webhooks/"))
    return machine or request.accept_mimetypes.best == "application/json"


def _page(status: int, title: str, message: str, code: str | None = None):
    if _wants_json():
        return {"error": code or title, "message": message}, status
    return render_template("error.html", status=status, title=title, message=message), status


def size_text(size: int) -> str:
    """A limit in bytes as people read it: 64 KB, 2 MB, 256 MB."""
    if size >= 1024 * 1024:
        return _("%(num)s MB", num=format_decimal(round(size / (1024 * 1024), 1)))
    return _("%(num)s KB", num=format_decimal(round(size / 1024, 1)))


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf(error):
        return _page(
            400, _("The form has expired"), _("Please go back, reload the page and send the form again.")
        )

    @app.errorhandler(403)
    def _forbidden(error):
        return _page(403, _("Not allowed"), _("Your account may not open this page."))

    @app.errorhandler(404)
    def _not_found(error):
        return _page(404, _("Page not found"), _("This address leads nowhere. Perhaps the link is old."))

    @app.errorhandler(405)
    def _method(error):
        return _page(405, _("Not possible"), _("This page cannot be used like that."))

    @app.errorhandler(413)
    def _too_large(error):
        limit = bodies.limit_for(current_app, request.endpoint)
        body, status = _page(
            413, _("Too much at once"),
            _("What was sent is larger than this page accepts (at most %(size)s). Nothing was saved.",
              size=size_text(limit)),
            code="too_large",
        )  # fmt: skip
        # The rest of the body stays unread: a server that keeps the connection would have to drain it.
        return body, status, {"Connection": "close"}

    @app.errorhandler(429)
    def _too_many(error):
        body, status = _page(429, _("Too many attempts"), _("Please wait a moment and try again."))
        # A limit that knows its window says so (Retry-After, X-RateLimit-*), e.g. the sign-up limits.
        return body, status, getattr(error, "limit_headers", None) or {}

    @app.errorhandler(500)
    def _server_error(error):
        return _page(
            500, _("Something went wrong"), _("We were told about it. Please try again in a moment.")
        )
