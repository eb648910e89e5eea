"""Beitrag's application factory: configuration, extensions, blueprints, commands, providers. Wiring only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import payments
from newsletter import demo, editorial, mail, platform, readers, sending, staff, stats
from newsletter.platform.application import Beitrag
from newsletter.platform.database import init_database
from newsletter.platform.settings import load_config


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Beitrag(
        __name__, instance_path=os.environ.get("BEITRAG_INSTANCE") or None, instance_relative_config=True
    )
    app.config.update(load_config(os.environ, app.instance_path, test_config))

    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    # In the order of the dependency rule (README, Layout): each package's pages, hooks, commands and
    # periodic jobs; payments last, registering what the newsletter asks of it (newsletter.ports).
    for package in (platform, mail, staff, readers, editorial, sending, stats, demo, payments):
        package.init_app(app)
    init_database(app)
    return app
