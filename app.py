"""Beitrag's application factory: configuration, extensions, blueprints, commands. Wiring only."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

import newsletter
import newsletter.api
import payments
from db import db
from newsletter import headers, i18n, queues
from newsletter.database import init_database
from newsletter.extensions import csrf, limiter, login_manager, migrate
from newsletter.settings import load_config


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__, instance_path=os.environ.get("BEITRAG_INSTANCE") or None, instance_relative_config=True
    )
    app.config.update(load_config(os.environ, app.instance_path, test_config))

    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)

    queues.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", queues.limiter_storage_uri(app.config["REDIS_URL"]))

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(app.root_path, "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app)
    headers.init_app(app)

    newsletter.init_app(app)
    payments.init_app(app)
    # What an issue needs from payments comes in through a provider: newsletter never imports payments.
    from payments.supporters import ReaderSupport

    provider = ReaderSupport(base_url=app.config["BASE_URL"], config=app.config)
    newsletter.api.register_supporter_provider(app, provider)
    from payments.demo import load_demo_donations

    newsletter.api.register_demo_loader(app, load_demo_donations)

    init_database(app)
    return app
