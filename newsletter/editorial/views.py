"""The site's home page: the public newsletters with the sign-up form, and the latest articles. (The
archive of sent issues is ``archive``.)"""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from db import db
from newsletter.editorial.models import Article
from newsletter.readers.models import Newsletter
from newsletter.readers.views import subscribe_form

bp = Blueprint("editorial", __name__)


@bp.get("/")
def home():
    newsletters = db.session.scalars(
        select(Newsletter).where(Newsletter.is_public.is_(True)).order_by(Newsletter.position, Newsletter.id)
    ).all()
    articles = db.session.scalars(select(Article).order_by(Article.published_at.desc()).limit(6)).all()
    form = subscribe_form(list(newsletters)) if newsletters else None
    return render_template("newsletter/home.html", newsletters=newsletters, articles=articles, form=form)
