"""The site's public reading pages: the home page (the public newsletters with the sign-up form, and the
latest articles) and the page of each article written here. (The archive of sent issues is ``archive``.)

Pages where people read end with the sign-up form and the donation ask (``reader_asks``): a reader who
arrives from a forwarded mail or a search can subscribe or give right there."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from markupsafe import Markup

from db import db
from newsletter.editorial import articles
from newsletter.readers import newsletters as newsletter_service
from newsletter.readers import signup
from newsletter.readers.views import subscribe_form

bp = Blueprint("editorial", __name__)

HOME_ARTICLES = 6


@bp.get("/")
def home():
    newsletters = newsletter_service.public_newsletters(db.session)
    form = subscribe_form(newsletters) if newsletters else None
    return render_template(
        "newsletter/home.html",
        newsletters=newsletters,
        articles=articles.recent_articles(db.session, HOME_ARTICLES),
        form=form,
    )


@bp.get("/artikel/<slug>")
def article(slug: str):
    found = articles.published_article(db.session, slug)
    if found is None:
        abort(404)
    if found.canonical_url:  # read where it was published; a mail that linked here before still leads there
        return redirect(found.canonical_url)
    url = current_app.config["BASE_URL"] + articles.page_path(found.slug)
    donate_url = url_for("checkout.donate", link="article", article=found.slug)
    return render_template(
        "newsletter/article.html",
        article=found,
        body_html=Markup(articles.render_markdown(found.body)),  # noqa: S704 (sanitised by nh3)
        page_url=url,
        **reader_asks(f"artikel/{found.slug}", donate_url),
    )


def reader_asks(source: str, donate_url: str, ticked: Iterable[str] = ()) -> dict[str, Any]:
    """The sign-up form and the donation link for the end of a reading page (``_reader_asks.html``).

    ``source`` is stored with a sign-up from here, unless the address named a campaign of its own;
    ``ticked``: newsletter slugs ticked instead of the default ones (an archived issue's newsletters)."""
    offered = newsletter_service.offered_newsletters(db.session)
    form = subscribe_form(offered) if offered else None
    if form is not None:
        if not (request.args.get("source") or request.args.get("utm_campaign")):
            form.source.data = signup.clean_source(source)
        chosen = [n.slug for n in offered if n.slug in set(ticked)]
        if chosen:
            form.newsletters.data = chosen
    return {"form": form, "donate_url": donate_url}
