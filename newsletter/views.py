"""Public pages for readers."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from db import db

from .models import Article, Newsletter

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    newsletters = db.session.scalars(
        select(Newsletter).where(Newsletter.is_public.is_(True)).order_by(Newsletter.position, Newsletter.id)
    ).all()
    articles = db.session.scalars(select(Article).order_by(Article.published_at.desc()).limit(6)).all()
    return render_template("newsletter/home.html", newsletters=newsletters, articles=articles)


@bp.get("/healthz")
def health():
    """For load balancers: answers without touching the database."""
    return {"status": "ok"}
