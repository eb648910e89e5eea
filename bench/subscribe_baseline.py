"""The baseline for ``bench.subscribe``: a bare Flask app under gunicorn whose POST /subscribe inserts one
row into PostgreSQL and answers a line of text. Not part of Beitrag; gunicorn loads it with
``bench.subscribe_baseline:create_app()`` and ``BENCH_DATABASE_URL`` in the environment."""

from __future__ import annotations

import os

from flask import Flask, request
from sqlalchemy import create_engine, text


def create_app() -> Flask:
    app = Flask(__name__)
    engine = create_engine(os.environ["BENCH_DATABASE_URL"], pool_size=5, pool_pre_ping=True)

    @app.post("/subscribe")
    def subscribe():
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO bench_baseline (email) VALUES (:e)"), {"e": request.form["email"]})
        return "ok\n"

    @app.get("/healthz")
    def health():
        return "ok\n"

    return app
