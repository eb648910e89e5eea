"""Error pages that look like the rest of the site and say what happened in the reader's language."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json" or request.path.startswith("/api/")


def _page(status: int, title: str, message: str):
    if _wants_json():
        return {"error": title, "message": message}, status
    return render_template("error.html", status=status, title=title, message=message), status


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
