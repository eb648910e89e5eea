"""The public archive of sent issues: a list, one web version per issue, and an Atom feed.

Only issues in the state ``sent`` appear. The web version is built from the issue's content on the
site's own template, so it carries no reader's links (no unsubscribe or preference tokens).
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from sqlalchemy import select

from db import db
from newsletter.editorial.articles import render_markdown
from newsletter.editorial.issues import sent_issues
from newsletter.editorial.models import Issue, IssueState

bp = Blueprint("archive", __name__, url_prefix="/archive")


@bp.get("")
def index():
    return render_template("newsletter/archive_index.html", issues=sent_issues(db.session, limit=200))


@bp.get("/<int:issue_id>")
def show(issue_id: int):
    issue = db.session.scalar(select(Issue).where(Issue.id == issue_id, Issue.state == IssueState.SENT))
    if issue is None:
        abort(404)
    return render_template(
        "newsletter/archive_issue.html", issue=issue, intro_html=render_markdown(issue.intro)
    )


@bp.get("/feed.atom")
def feed():
    issues = sent_issues(db.session, limit=50)
    body = render_template(
        "newsletter/archive_feed.xml", issues=issues, base_url=current_app.config["BASE_URL"]
    )
    return current_app.response_class(body, mimetype="application/atom+xml")
