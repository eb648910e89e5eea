"""A job for the worker tests: proves that it runs inside the app context with the app's database."""

from __future__ import annotations

from pathlib import Path


def record_app_context(path: str) -> str:
    from flask import current_app
    from sqlalchemy import func, select

    from db import db
    from newsletter.readers.models import Newsletter

    count = db.session.scalar(select(func.count()).select_from(Newsletter))
    line = f"{current_app.config['BEITRAG_ENV']} newsletters={count}"
    Path(path).write_text(line)
    return line
