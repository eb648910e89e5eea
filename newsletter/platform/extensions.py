"""Flask extensions, created unbound here and bound to an app in ``create_app``."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator

from flask import Flask, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

babel = Babel()
csrf = CSRFProtect()
login_manager = LoginManager()
migrate = Migrate()
limiter = Limiter(key_func=get_remote_address)

LEAN_ENDPOINTS: set[str] = set()
"""Endpoints on the public hot path (the sign-up forms) that the app-wide hooks of CSRFProtect, Flask-Login
and Flask-Limiter have nothing to do for: they are exempt from CSRF (they carry their own signed form
token) and from Flask-Limiter (counted by their own limits), and they never sign anyone in, so there is no
remember cookie to refresh. Flask-Limiter checks its decorated routes inside their decorators; its
app-wide hooks serve default and blueprint limits (Beitrag sets none) and the headers of limited routes.
Skipping these hooks is a third of what a sign-up costs beyond a bare insert (``bench.subscribe``)."""


def lean_endpoint(endpoint: str) -> None:
    """Skip the hooks for ``endpoint``: a CSRF-exempt view without Flask-Limiter limits, that signs no
    one in."""
    LEAN_ENDPOINTS.add(endpoint)


@contextlib.contextmanager
def sparing_lean_endpoints(app: Flask) -> Iterator[None]:
    """The app-wide request hooks that extensions register inside this block are skipped for
    :data:`LEAN_ENDPOINTS`."""
    kinds = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    before = [list(kind.get(None, ())) for kind in kinds]
    yield
    for kind, known in zip(kinds, before, strict=True):
        kind[None] = [hook if hook in known else _sparing(hook, kind is app.after_request_funcs)
                      for hook in kind.get(None, ())]  # fmt: skip


def _sparing(hook: Callable, passes_response: bool) -> Callable:
    @functools.wraps(hook)
    def unless_lean(*args):
        if request.endpoint in LEAN_ENDPOINTS:
            return args[0] if passes_response else None
        return hook(*args)

    return unless_lean
