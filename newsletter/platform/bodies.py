"""Request bodies: how many bytes a page may be sent, enforced before the body is read.

Every request may carry at most ``MAX_CONTENT_LENGTH`` bytes (``MAX_REQUEST_BYTES`` in the environment,
64 KiB), unless its view names a limit of its own with :func:`body_limit` (the editor's article form, the
CSV upload, the webhooks). The limit is put on the request by the first hook of all, before the CSRF
check, the rate limits or the view could read anything:

* a declared ``Content-Length`` above it is answered 413 at once, before a byte of the body is read;
* a body without one (``Transfer-Encoding: chunked``) is read through Werkzeug's ``LimitedStream``, which
  raises the same 413 as soon as the limit is passed, so no more than the limit is ever buffered.

The 413 is the site's error page, or JSON on the API and the webhooks (``errors``), and it closes the
connection: the rest of a large body is not read just to be thrown away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

DEFAULT_MAX_REQUEST_BYTES = 64 * 1024
_LIMIT_ATTR = "_beitrag_body_limit"


def body_limit(limit: int | str) -> Callable[[Callable], Callable]:
    """This view accepts bodies of up to ``limit`` bytes, or up to the setting named ``limit``. Put it
    right under the route decorator (decorators in between must use ``functools.wraps``)."""
    def decorate(view: Callable) -> Callable:
        setattr(view, _LIMIT_ATTR, limit)
        return view

    return decorate


def limit_for(app: Flask, endpoint: str | None) -> int:
    """The most bytes a request to ``endpoint`` may carry (the app's default for an unknown address)."""
    view = app.view_functions.get(endpoint) if endpoint else None
    limit = getattr(view, _LIMIT_ATTR, None)
    if isinstance(limit, str):
        limit = app.config[limit]
    return int(limit if limit is not None else app.config["MAX_CONTENT_LENGTH"])


def json_body() -> Any:
    """The request's body as JSON, or None when it is not JSON. Arrays nested thousands deep fit in a
    small body and make the parser give up with a RecursionError, which Flask's ``silent`` lets through."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        return None


def _bound_body() -> None:
    limit = limit_for(current_app, request.endpoint)
    request.max_content_length = limit
    if request.content_length is not None and request.content_length > limit:
        raise RequestEntityTooLarge()


def init_app(app: Flask) -> None:
    """The body's limit is the first thing every request does, before any hook registered earlier."""
    app.config.setdefault("MAX_CONTENT_LENGTH", DEFAULT_MAX_REQUEST_BYTES)
    app.before_request_funcs.setdefault(None, []).insert(0, _bound_body)
