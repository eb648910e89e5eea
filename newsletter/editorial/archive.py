"""The public archive of sent issues: a list, one web version per issue, and an Atom feed.

Only sent issues the archive shows appear (``Issue.public_archive``: not those sent to hidden newsletters
only, unless an editor published them). Each shows its articles as they were sent
(``issues.issue_articles``). The web version is built from the issue's content on the site's own
template, so it carries no reader's links (no unsubscribe or preference tokens). An issue the archive does
not show opens only with the key its mail's "read in the browser" link carries; by its id alone it is 404.
Each article links to where it is read (its own address, else its page here); the list and each issue end
with the sign-up form and the donation ask, and an issue names the newsletter(s) it was sent as.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request, url_for

from db import db
from newsletter.editorial.articles import render_markdown
from newsletter.editorial.issues import archived_issue, issue_articles, named_newsletters, sent_issues
from newsletter.editorial.views import reader_asks

bp = Blueprint("archive", __name__, url_prefix="/archive")


@bp.get("")
def index():
    return render_template(
        "newsletter/archive_index.html", issues=sent_issues(db.session, limit=200),
        **reader_asks("archiv", url_for("checkout.donate", link="archive")),
    )  # fmt: skip


@bp.get("/<int:issue_id>")
def show(issue_id: int):
    key = (request.args.get("k") or "")[:100]
    issue = archived_issue(db.session, issue_id, key=key, secret_key=current_app.config["SECRET_KEY"])
    if issue is None:
        abort(404)
    newsletters = named_newsletters(issue)
    asks = reader_asks(
        f"archiv/{issue.id}", url_for("checkout.donate", issue=issue.id, link="archive"),
        ticked=[n.slug for n in newsletters],
    )  # fmt: skip
    response = current_app.make_response(render_template(
        "newsletter/archive_issue.html", issue=issue, intro_html=render_markdown(issue.intro),
        articles=issue_articles(issue, base_url=current_app.config["BASE_URL"]), newsletters=newsletters,
        **asks,
    ))  # fmt: skip
    if not issue.public_archive:  # opened with its mail's key: for the readers it went to, not for search
        response.headers["X-Robots-Tag"] = "noindex"
        response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/feed.atom")
def feed():
    base_url = current_app.config["BASE_URL"]
    entries = [
        (issue, render_markdown(issue.intro), issue_articles(issue, base_url=base_url))
        for issue in sent_issues(db.session, limit=50)
    ]
    body = render_template("newsletter/archive_feed.xml", entries=entries, base_url=base_url)
    return current_app.response_class(body, mimetype="application/atom+xml")
