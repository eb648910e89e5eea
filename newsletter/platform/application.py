"""The Flask class Beitrag's app is made of (``create_app`` in app.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask


class Beitrag(Flask):
    """Flask that remembers which of its views and hooks are coroutine functions.

    Flask asks that of every hook and view on every request (``ensure_sync``: five calls into
    ``inspect`` each time), and a function's answer never changes. A sign-up runs ten of them; their cost
    was a few percent of what the busiest public form costs beyond a bare insert (``bench.signup_cost``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._synchronous: dict[Callable, Callable] = {}

    def ensure_sync(self, func: Callable) -> Callable:
        try:
            return self._synchronous[func]
        except KeyError:
            sync = self._synchronous[func] = super().ensure_sync(func)
            return sync
        except TypeError:  # an unhashable callable: asked each time, as Flask does
            return super().ensure_sync(func)
