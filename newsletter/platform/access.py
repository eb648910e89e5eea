"""Who may open which staff page. Every staff blueprint guards all of its routes with :func:`guard_blueprint`;
single routes that need more than the blueprint's role say so with :func:`requires_role`."""

from __future__ import annotations

import enum
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Blueprint, abort, request
from flask_login import current_user

from newsletter.platform.extensions import login_manager


class StaffRole(enum.StrEnum):
    """What a staff member may do: editors write and send, admins also see money and manage staff."""

    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return {StaffRole.EDITOR: 1, StaffRole.ADMIN: 2}[self]


_ROUTE_ROLE_ATTR = "_beitrag_role"
PUBLIC_STAFF_ENDPOINTS_ATTR = "_beitrag_public"
_BLUEPRINT_ROLES: dict[str, StaffRole] = {}  # blueprint name -> the role its guard asks for


def _check(role: StaffRole):
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not current_user.has_role(role):
        abort(403)
    return None


def requires_role(role: StaffRole) -> Callable:
    """Refuse the route to anyone below ``role`` (403), and send signed-out visitors to the login."""
    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            refusal = _check(role)
            if refusal is not None:
                return refusal
            return view(*args, **kwargs)

        setattr(wrapped, _ROUTE_ROLE_ATTR, role)
        return wrapped

    return decorate


def open_to_everyone(view: Callable) -> Callable:
    """Mark a route of a guarded blueprint as reachable while signed out (the login page)."""
    setattr(view, PUBLIC_STAFF_ENDPOINTS_ATTR, True)
    return view


def guard_blueprint(blueprint: Blueprint, role: StaffRole) -> None:
    """Every route of ``blueprint`` needs at least ``role``, unless marked :func:`open_to_everyone`."""
    _BLUEPRINT_ROLES[blueprint.name] = role

    @blueprint.before_request
    def _guard():
        from flask import current_app

        view = current_app.view_functions.get(request.endpoint or "")
        if view is not None and getattr(view, PUBLIC_STAFF_ENDPOINTS_ATTR, False):
            return None
        return _check(role)


def required_role(view: Callable) -> StaffRole | None:
    return getattr(view, _ROUTE_ROLE_ATTR, None)


def endpoint_role(app, endpoint: str) -> StaffRole | None:
    """The least role an endpoint asks for (the route's own, else its blueprint's guard), None when it is
    open to everyone: what the access tests walk, so that a new staff page is checked without a list."""
    view = app.view_functions.get(endpoint)
    if view is None or getattr(view, PUBLIC_STAFF_ENDPOINTS_ATTR, False):
        return None
    roles = [required_role(view), _BLUEPRINT_ROLES.get(endpoint.rpartition(".")[0])]
    ranked = [r for r in roles if r is not None]
    if not ranked:
        return None
    return max(ranked, key=lambda role: role.rank)

