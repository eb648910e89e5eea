"""Request bodies: how many bytes a page may be sent, enforced before the body is read.

Every request may carry at most ``MAX_CONTENT_LENGTH`` bytes (``MAX_REQUEST_BYTES`` in the environment,
64 KiB), unless its view names a limit of its own with :func:`body_limit` (the editor's article form, the
CSV upload, the webhooks). The limit is put on the request by the first hook of all, before the CSRF
check, the rate limits or the view could read anything:

* a declared ``Content-Length`` above it is answered 413 at once, before a byte of the body is read;
* a body without one (``Transfer-Encoding: chunked``) is read through :class:`CappedInput`, which raises
  the same 413 as soon as the limit is passed, so no more than the limit is ever buffered.

The 413 is the site's error page, or JSON on the API and the webhooks (``errors``), and it closes the
connection: the rest of a large body is not read just to be thrown away.
"""

from __future__ import annotations

import io
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


class CappedInput:
    """A request body without a declared length, read through a count: whoever reads it (the form parser,
    ``get_json``, a webhook) gets :class:`RequestEntityTooLarge` as soon as more than ``limit`` bytes
    arrive. Werkzeug's own ``LimitedStream`` would stop at the limit without saying so, and a form cut
    off there would be taken as if it were whole."""

    def __init__(self, stream: Any, limit: int) -> None:
        self._stream = stream
        self._limit = limit
        self._read = 0

    def _counted(self, data: bytes) -> bytes:
        self._read += len(data)
        if self._read > self._limit:
            raise RequestEntityTooLarge()
        return data

    def _room(self, size: int | None) -> int:
        """What to ask the server for: never more than one byte past the limit."""
        room = self._limit + 1 - self._read
        return room if size is None or size < 0 else min(size, room)

    def read(self, size: int | None = -1) -> bytes:
        if self._read > self._limit:
            return b""  # refused already: the error page (its forms look at the body too) reads nothing
        if size is not None and size >= 0:
            return self._counted(self._stream.read(self._room(size)))
        parts = []
        while piece := self._counted(self._stream.read(self._room(64 * 1024))):
            parts.append(piece)
        return b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        if self._read > self._limit:
            return b""
        return self._counted(self._stream.readline(self._room(size)))

    def __iter__(self):
        return iter(self.readline, b"")


def _bound_body() -> None:
    limit = limit_for(current_app, request.endpoint)
    if request.content_length is not None:
        request.max_content_length = limit
        if request.content_length > limit:
            # Nothing of it is read, not even by the error page, whose forms look at the body too.
            request.environ["wsgi.input"], request.environ["CONTENT_LENGTH"] = io.BytesIO(), "0"
            raise RequestEntityTooLarge()
        return
    # No length declared (chunked): the server ends the body (``wsgi.input_terminated``), and the count
    # stops it. Werkzeug's stream in front of it lets one byte more through, so that the count sees it.
    request.max_content_length = limit + 1
    request.environ["wsgi.input"] = CappedInput(request.environ["wsgi.input"], limit)


def init_app(app: Flask) -> None:
    """The body's limit is the first thing every request does, before any hook registered earlier."""
    app.config.setdefault("MAX_CONTENT_LENGTH", DEFAULT_MAX_REQUEST_BYTES)
    app.before_request_funcs.setdefault(None, []).insert(0, _bound_body)
