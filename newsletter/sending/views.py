"""The send path's public pages: a counted link from an issue or a welcome mail (``CLICK_COUNTING``)."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request
from flask_babel import gettext as _

from db import db
from newsletter.sending import clicks, welcome_clicks

bp = Blueprint("sending", __name__)


@bp.get("/l/<int:issue_id>/<int:link_no>/<signature>")
def follow_link(issue_id: int, link_no: int, signature: str):
    """A counted link from an issue: one click more for the link, then on to the article. A HEAD request
    (link checkers, some mail scanners) is redirected without counting. A changed or unknown link counts
    nothing and says so."""
    url = clicks.follow_link(
        db.session, current_app.config["SECRET_KEY"], issue_id, link_no, signature[:64],
        count=request.method == "GET",
    )  # fmt: skip
    return _onwards(url)


@bp.get("/l/w/<int:newsletter_id>/<int:link_no>/<signature>")
def follow_welcome_link(newsletter_id: int, link_no: int, signature: str):
    """A counted link from a welcome mail, as :func:`follow_link` for an issue."""
    url = welcome_clicks.follow_link(
        db.session, current_app.config["SECRET_KEY"], newsletter_id, link_no, signature[:64],
        count=request.method == "GET",
    )  # fmt: skip
    return _onwards(url)


def _onwards(url: str | None):
    if url is None:
        message = _(
            "This link is incomplete or was changed. Please open the link from the newsletter again, "
            "or find the article on our home page."
        )
        return render_template("newsletter/link_invalid.html", message=message, home=True), 404
    db.session.commit()
    return redirect(url, 302)
