"""Flask extensions, created unbound here and bound to an app in ``create_app``."""

from __future__ import annotations

import contextlib
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
    :data:`LEAN_ENDPOINTS`. Hooks registered one after another share one check of the endpoint."""
    kinds = {"before": app.before_request_funcs, "after": app.after_request_funcs,
             "teardown": app.teardown_request_funcs}  # fmt: skip
    known = {kind: list(hooks.get(None, ())) for kind, hooks in kinds.items()}
    yield
    for kind, hooks in kinds.items():
        spared: list[Callable] = []
        run: list[Callable] = []
        for hook in hooks.get(None, ()):
            if hook in known[kind]:
                if run:
                    spared.append(_sparing(run, kind))
                    run = []
                spared.append(hook)
            else:
                run.append(hook)
        if run:
            spared.append(_sparing(run, kind))
        hooks[None] = spared


def _sparing(hooks: list[Callable], kind: str) -> Callable:
    """One hook that runs ``hooks`` as Flask would (before-request hooks in order, stopping at the first
    answer; after-request and teardown hooks last registered first), unless the endpoint is lean."""
    if kind == "before":

        def before_unless_lean():
            if request.endpoint not in LEAN_ENDPOINTS:
                for hook in hooks:
                    answer = hook()
                    if answer is not None:
                        return answer
            return None

        return before_unless_lean
    last_first = hooks[::-1]
    if kind == "after":

        def after_unless_lean(response):
            if request.endpoint not in LEAN_ENDPOINTS:
                for hook in last_first:
                    response = hook(response)
            return response

        return after_unless_lean

    def teardown_unless_lean(error):
        if request.endpoint not in LEAN_ENDPOINTS:
            for hook in last_first:
                hook(error)

    return teardown_unless_lean
