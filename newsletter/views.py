"""Public pages for readers."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request
from flask_babel import gettext as _
from sqlalchemy import select

from db import db

from . import clicks, subscribers, tokens
from .forms import ActionForm
from .models import Article, Newsletter

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    newsletters = db.session.scalars(
        select(Newsletter).where(Newsletter.is_public.is_(True)).order_by(Newsletter.position, Newsletter.id)
    ).all()
    articles = db.session.scalars(select(Article).order_by(Article.published_at.desc()).limit(6)).all()
    from .reader_views import subscribe_form

    form = subscribe_form(list(newsletters)) if newsletters else None
    return render_template("newsletter/home.html", newsletters=newsletters, articles=articles, form=form)


@bp.get("/healthz")
def health():
    """For load balancers: answers without touching the database."""
    return {"status": "ok"}


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm_subscription(token: str):
    """GET shows a button and changes nothing (mail scanners open every link); POST confirms."""
    try:
        subscriber = subscribers.subscriber_for_confirmation(db.session, token)
    except tokens.TokenError as exc:
        message = (
            _("This confirmation link has expired. Please sign up again; it only takes a moment.")
            if exc.expired
            else _("This confirmation link is not valid. Please copy the whole link from the e-mail.")
        )
        return render_template("newsletter/confirm.html", state="invalid", message=message), 400
    form = ActionForm()
    if form.validate_on_submit():
        subscribers.confirm(db.session, subscriber, via="confirmation link")
        db.session.commit()
        return render_template("newsletter/confirm.html", state="done", subscriber=subscriber)
    return render_template("newsletter/confirm.html", state="ask", form=form, subscriber=subscriber)


@bp.get("/l/<int:issue_id>/<int:link_no>/<signature>")
def follow_link(issue_id: int, link_no: int, signature: str):
    """A counted link from an issue: one click more for the link, then on to the article. A HEAD request
    (link checkers, some mail scanners) is redirected without counting. A changed or unknown link counts
    nothing and says so."""
    url = clicks.follow_link(
        db.session, current_app.config["SECRET_KEY"], issue_id, link_no, signature[:64],
        count=request.method == "GET",
    )  # fmt: skip
    if url is None:
        message = _(
            "This link is incomplete or was changed. Please open the link from the newsletter again, "
            "or find the article on our home page."
        )
        return render_template("newsletter/link_invalid.html", message=message, home=True), 404
    db.session.commit()
    return redirect(url, 302)
