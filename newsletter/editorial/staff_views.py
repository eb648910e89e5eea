"""Staff pages of the editor's desk: articles, feeds, issues (compose, preview, test send). The send
controls on the issue page are the sending package's (``sending.staff_views``). Thin views."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString
from flask_login import current_user
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from db import db
from newsletter.editorial import articles, feed_controls, feeds, issues, test_readers
from newsletter.editorial import tasks as editorial_tasks
from newsletter.editorial.forms import (
    AddArticleForm,
    ArchiveForm,
    ArticleForm,
    FeedEditForm,
    FeedForm,
    IssueForm,
    MarkdownPreviewForm,
    RecentIssueForm,
    ScheduleForm,
    TestReaderForm,
    TestSendForm,
)
from newsletter.editorial.models import Article, Feed, Issue, IssueState
from newsletter.mail import alignment, rendering
from newsletter.mail.rendering import GMAIL_CLIP_BYTES, RenderError
from newsletter.platform import audit, ids
from newsletter.platform.access import StaffRole, guard_blueprint
from newsletter.platform.bodies import body_limit
from newsletter.platform.extensions import limiter
from newsletter.platform.forms import ActionForm
from newsletter.platform.headers import sandboxed_html
from newsletter.platform.i18n import LANGUAGES, newsroom_zone
from newsletter.readers import segments
from newsletter.readers.errors import InvalidEmail
from newsletter.readers.models import Newsletter

bp = Blueprint("editorial_staff", __name__, url_prefix="/staff")
# The article and issue forms carry long Markdown (an article up to 200,000 characters): form-encoded, a
# character of a non-Latin script takes 9 bytes and an emoji 12, so these forms may be larger than the
# app's default body limit (platform/bodies.py).
EDITOR_FORM_BYTES = 4 * 1024 * 1024
guard_blueprint(bp, StaffRole.EDITOR)

VARIANT_LABELS = {
    "default": _l("Everyone (default)"),
    "never_gave": _l("Never gave"),
    "one_time": _l("Gave once"),
    "monthly": _l("Monthly supporter"),
    "lapsed": _l("Support lapsed"),
    "failing": _l("Payment failing"),
    "no_ask": _l("Asked not to be asked"),
}
STATE_LABELS = {
    IssueState.DRAFT: _l("Draft"),
    IssueState.SCHEDULED: _l("Scheduled"),
    IssueState.SENDING: _l("Sending"),
    IssueState.PAUSED: _l("Paused"),
    IssueState.SENT: _l("Sent"),
    IssueState.CANCELLED: _l("Cancelled"),
}


@bp.app_context_processor
def _editorial_context():
    return {"issue_state_labels": STATE_LABELS, "variant_labels": VARIANT_LABELS}


_REFUSED = object()


def _committed(change: Callable[[], Any], refused: type[Exception] | tuple, not_done: LazyString) -> Any:
    """``change()``'s result, committed; when the service refuses (``refused``), the transaction rolled
    back, ``not_done`` (a message with ``%(reason)s``) flashed with the reason, and ``_REFUSED``."""
    try:
        result = change()
        db.session.commit()
    except refused as exc:
        db.session.rollback()
        flash(str(not_done) % {"reason": str(exc)}, "error")
        return _REFUSED
    return result


ARTICLE_NOT_SAVED = _l("The article was not saved: %(reason)s")
ISSUE_NOT_SAVED = _l("The issue was not saved: %(reason)s")
FEED_NOT_ADDED = _l("The feed was not added: %(reason)s")
FEED_NOT_CHANGED = _l("The feed was not changed: %(reason)s")
# The live preview's text is at most an article's (200,000 characters, MarkdownPreviewForm); form-encoded,
# as for the article form, that may take more bytes than the app's default body limit.
PREVIEW_BYTES = 2 * 1024 * 1024


def _article_input(form: ArticleForm) -> articles.ArticleInput:
    published = form.published_at.data
    if published is not None:
        published = published.replace(tzinfo=get_timezone()).astimezone(UTC)
    return articles.ArticleInput(
        title=form.title.data or "",
        teaser=form.teaser.data or "",
        body=form.body.data or "",
        author=form.author.data or "",
        image_url=form.image_url.data,
        image_credit=form.image_credit.data,
        image_alt=form.image_alt.data,
        canonical_url=form.canonical_url.data,
        tags=articles.parse_tags(form.tags.data or ""),
        sponsored=bool(form.sponsored.data),
        published_at=published,
    )


@bp.get("/articles")
def article_list():
    query = (request.args.get("q") or "").strip()[:200]
    found = articles.search_articles(db.session, query, limit=100)
    sent_in = issues.sent_in(db.session, [a.id for a in found])
    return render_template("admin/articles/index.html", articles=found, query=query, sent_in=sent_in)


@bp.post("/markdown-preview")
@body_limit(PREVIEW_BYTES)
def markdown_preview():
    """The live preview beside the article text and the issue's editorial: the posted Markdown as the
    mail and the archive show it, through the same renderer and sanitiser. Sanitised HTML only."""
    form = MarkdownPreviewForm()
    if not form.validate_on_submit():
        abort(400)
    html = articles.render_markdown(form.text.data or "")
    return current_app.response_class(html, mimetype="text/html")


@bp.route("/articles/new", methods=["GET", "POST"])
@body_limit(EDITOR_FORM_BYTES)
def article_new():
    form = ArticleForm()
    if form.validate_on_submit():
        create = lambda: articles.create_article(db.session, _article_input(form))  # noqa: E731
        article = _committed(create, articles.ArticleError, ARTICLE_NOT_SAVED)
        if article is not _REFUSED:
            flash(_("The article is saved."), "success")
            return redirect(url_for(".article_edit", article_id=article.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/articles/form.html", form=form, article=None), status


@bp.route("/articles/<int:article_id>", methods=["GET", "POST"])
@body_limit(EDITOR_FORM_BYTES)
def article_edit(article_id: int):
    article = db.get_or_404(Article, article_id)
    form = ArticleForm(obj=article)
    if request.method == "GET":
        form.tags.data = ", ".join(article.tags)
        form.published_at.data = article.published_at.astimezone(get_timezone()).replace(tzinfo=None)
    if form.validate_on_submit():
        update = lambda: articles.update_article(db.session, article, _article_input(form))  # noqa: E731
        if _committed(update, articles.ArticleError, ARTICLE_NOT_SAVED) is not _REFUSED:
            flash(_("The article is saved."), "success")
            return redirect(url_for(".article_edit", article_id=article.id))
        return render_template("admin/articles/form.html", form=form, article=article), 400
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/articles/form.html",
        form=form,
        article=article,
        body_html=articles.render_markdown(article.body),
        page_open=articles.published_article(db.session, article.slug) is not None,
    ), status


@bp.route("/feeds", methods=["GET", "POST"])
def feed_list():
    form = FeedForm()
    status = 200
    if form.validate_on_submit():
        url, interval = form.url.data or "", form.interval_minutes.data or 60
        refused = (articles.FeedError, feeds.FetchRefused)
        feed = _committed(lambda: articles.add_feed(db.session, url, interval), refused, FEED_NOT_ADDED)
        if feed is _REFUSED:
            status = 400
        else:
            editorial_tasks.queue_feed_import(feed.id)
            editorial_tasks.schedule_feed(feed.id, feed.interval_minutes)
            flash(_("The feed is added; its articles are being imported."), "success")
            return redirect(url_for("editorial_staff.feed_list"))
    elif request.method == "POST":
        status = 400
    all_feeds = db.session.scalars(select(Feed).order_by(Feed.id)).all()
    return render_template(
        "admin/articles/feeds.html", form=form, feeds=all_feeds, action=ActionForm(),
        paused_by_failures=feed_controls.paused_by_failures, max_failures=feed_controls.MAX_FAILURES,
    ), status  # fmt: skip


@bp.route("/feeds/<int:feed_id>/edit", methods=["GET", "POST"])
def feed_edit(feed_id: int):
    feed = db.get_or_404(Feed, feed_id)
    form = FeedEditForm(obj=feed)
    status = 200
    if form.validate_on_submit():
        change = lambda: feed_controls.update_feed(  # noqa: E731
            db.session, feed, url=form.url.data or "", title=form.title.data or "",
            interval_minutes=form.interval_minutes.data or feed.interval_minutes,
        )  # fmt: skip
        rescheduled = _committed(change, (articles.FeedError, feeds.FetchRefused), FEED_NOT_CHANGED)
        if rescheduled is not _REFUSED:
            if rescheduled and feed.active:
                editorial_tasks.schedule_feed(feed.id, feed.interval_minutes)
            flash(_("The feed is saved."), "success")
            return redirect(url_for("editorial_staff.feed_list"))
        status = 400
    elif request.method == "POST":
        status = 400
    return render_template("admin/articles/feed_edit.html", form=form, feed=feed), status


def _feed_action(feed_id: int, change, done: LazyString):
    feed = db.get_or_404(Feed, feed_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    if _committed(lambda: change(feed), articles.FeedError, FEED_NOT_CHANGED) is not _REFUSED:
        flash(str(done), "success")
    return feed


@bp.post("/feeds/<int:feed_id>/pause")
def feed_pause(feed_id: int):
    pause = lambda feed: feed_controls.pause_feed(db.session, feed)  # noqa: E731
    _feed_action(feed_id, pause, _l("The feed is paused: it is not imported until you resume it."))
    return redirect(url_for("editorial_staff.feed_list"))


@bp.post("/feeds/<int:feed_id>/resume")
def feed_resume(feed_id: int):
    resume = lambda feed: feed_controls.resume_feed(db.session, feed)  # noqa: E731
    feed = _feed_action(feed_id, resume, _l("The feed is imported on its schedule again."))
    if feed.active:
        editorial_tasks.schedule_feed(feed.id, feed.interval_minutes)
    return redirect(url_for("editorial_staff.feed_list"))


@bp.post("/feeds/<int:feed_id>/remove")
def feed_remove(feed_id: int):
    remove = lambda feed: feed_controls.remove_feed(db.session, feed)  # noqa: E731
    _feed_action(feed_id, remove, _l("The feed is removed; the articles it brought are kept."))
    return redirect(url_for("editorial_staff.feed_list"))


@bp.post("/feeds/<int:feed_id>/import")
def feed_import(feed_id: int):
    feed = db.get_or_404(Feed, feed_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    audit.record(db.session, "feed.import", target=feed, detail={"url": feed.url})
    editorial_tasks.queue_feed_import(feed.id)
    db.session.commit()
    flash(_("The import of %(url)s is queued.", url=feed.url), "success")
    return redirect(url_for("editorial_staff.feed_list"))


def _newsletter_choices() -> list[SelectChoice]:
    return [
        SelectChoice(str(n.id), n.name)
        for n in db.session.scalars(select(Newsletter).order_by(Newsletter.position, Newsletter.id))
    ]


def _segment_choices() -> list[SelectChoice]:
    """"All readers of the chosen newsletters", then each segment as "newsletter: segment"."""
    return [SelectChoice("", _("All readers of the chosen newsletters"))] + [
        SelectChoice(str(s.id), f"{s.newsletter.name}: {s.name}") for s in segments.list_segments(db.session)
    ]


def _issue_form(issue: Issue | None = None) -> IssueForm:
    form = IssueForm(obj=issue)
    form.newsletters.choices = _newsletter_choices()
    form.segment.choices = _segment_choices()
    if request.method == "GET" and issue is not None:
        form.segment.data = str(issue.segment_id or "")
    return form


def _issue_input(form: IssueForm) -> issues.IssueInput:
    raw_segment = (form.segment.data or "").strip()
    return issues.IssueInput(
        # Not an id at all: 0, which no segment has, so the service refuses it by name.
        segment_id=(ids.id_from(raw_segment) or 0) if raw_segment else None,
        subject=form.subject.data or "",
        preheader=form.preheader.data or "",
        intro=form.intro.data or "",
        layout=form.layout.data or "digest",
        newsletter_ids=form.newsletters.data or [],
        sender_name=form.sender_name.data or "",
        sender_address=form.sender_address.data or "",
        show_goal=bool(form.show_goal.data),
        subject_en=form.subject_en.data or "",
        preheader_en=form.preheader_en.data or "",
        intro_en=form.intro_en.data or "",
    )


def _warn_if_unaligned(sender_address: str) -> None:
    """Saving is allowed; sending is not (``sending.ledger.check_sendable``): say so now, while the editor
    is at the sender field."""
    try:
        result = alignment.check_config(sender_address, current_app.config)
    except alignment.AddressError:
        return
    if not result.ok:
        flash(_("This issue cannot be sent with this sender address: %(reason)s", reason=result.problem()),
              "error")  # fmt: skip


@bp.get("/issues")
def issue_list():
    all_issues = db.session.scalars(select(Issue).order_by(Issue.id.desc()).limit(200)).all()
    return render_template("admin/issues/index.html", issues=all_issues, recent_form=RecentIssueForm())


@bp.route("/issues/new", methods=["GET", "POST"])
@body_limit(EDITOR_FORM_BYTES)
def issue_new():
    form = _issue_form()
    if request.method == "GET":
        form.sender_name.data = current_app.config["NEWSROOM_NAME"]
        form.sender_address.data = current_app.config["MAIL_FROM"]
        form.newsletters.data = [
            n.id for n in db.session.scalars(select(Newsletter).where(Newsletter.is_default))
        ]
    if form.validate_on_submit():
        data = _issue_input(form)
        create = lambda: issues.create_issue(db.session, data, created_by_id=current_user.id)  # noqa: E731
        issue = _committed(create, issues.IssueError, ISSUE_NOT_SAVED)
        if issue is not _REFUSED:
            flash(_("The issue is saved as a draft."), "success")
            _warn_if_unaligned(issue.sender_address)
            return redirect(url_for("editorial_staff.issue_edit", issue_id=issue.id))
    status = 400 if request.method == "POST" else 200
    return render_template("admin/issues/new.html", form=form), status


@bp.post("/issues/from-recent")
def issue_from_recent():
    form = RecentIssueForm()
    if not form.validate_on_submit():
        flash(_("Choose between 1 and 90 days."), "error")
        return redirect(url_for("editorial_staff.issue_list"))
    defaults = [n.id for n in db.session.scalars(select(Newsletter).where(Newsletter.is_default))]
    config = current_app.config
    issue = _committed(lambda: issues.create_issue_from_recent(
        db.session, form.days.data or 7, sender_name=config["NEWSROOM_NAME"],
        sender_address=config["MAIL_FROM"], newsletter_ids=defaults, created_by_id=current_user.id,
    ), issues.IssueError, ISSUE_NOT_SAVED)  # fmt: skip
    if issue is _REFUSED:
        return redirect(url_for(".issue_list"))
    flash(_("A new draft with %(count)d articles is ready.", count=len(issue.items)), "success")
    return redirect(url_for("editorial_staff.issue_edit", issue_id=issue.id))


@bp.route("/issues/<int:issue_id>", methods=["GET", "POST"])
@body_limit(EDITOR_FORM_BYTES)
def issue_edit(issue_id: int):
    issue = db.get_or_404(Issue, issue_id)
    form = _issue_form(issue)
    if request.method == "GET":
        form.layout.data = issue.layout.value
        form.newsletters.data = [n.id for n in issue.newsletters]
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            update = lambda: issues.update_issue(db.session, issue, _issue_input(form))  # noqa: E731
            if _committed(update, issues.IssueError, ISSUE_NOT_SAVED) is not _REFUSED:
                flash(_("The issue is saved."), "success")
                _warn_if_unaligned(issue.sender_address)
                return redirect(url_for("editorial_staff.issue_edit", issue_id=issue.id))
    query = (request.args.get("q") or "").strip()[:200]
    in_issue = {item.article_id for item in issue.items}
    candidates = [a for a in articles.search_articles(db.session, query, limit=40) if a.id not in in_issue]
    sent_in = issues.sent_in(db.session, [a.id for a in candidates] + list(in_issue))
    return render_template(
        "admin/issues/edit.html",
        issue=issue,
        form=form,
        candidates=candidates,
        query=query,
        add_form=AddArticleForm(),
        action=ActionForm(),
        schedule_form=ScheduleForm(),
        archive_form=ArchiveForm(public_archive=issues.shown_in_archive(issue)),
        sent_articles=issues.issue_articles(issue) if issue.sent_content is not None else None,
        archive_default=issues.archive_default(issue),
        editable=issue.state == IssueState.DRAFT,
        sent_in=sent_in,
        results=_results_links(issue),
        duplicate_form=ActionForm(),
    ), status


def _results_links(issue: Issue) -> dict[str, str] | None:
    """Where a sent issue's page leads: its statistics (the day it was sent) and its web version (keyed,
    so that it opens also when the public archive does not show the issue)."""
    if issue.state is not IssueState.SENT or issue.sent_at is None:
        return None
    day = issue.sent_at.astimezone(ZoneInfo(newsroom_zone())).date().isoformat()
    config = current_app.config
    return {
        "stats": url_for("stats.issue_stats", **{"from": day, "to": day}),
        "web": issues.web_url(config["BASE_URL"], issue, config["SECRET_KEY"]),
    }


@bp.post("/issues/<int:issue_id>/duplicate")
def issue_duplicate(issue_id: int):
    """A new draft with what this issue says, its newsletters and its articles in order (any state)."""
    issue = db.get_or_404(Issue, issue_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    copy = issues.duplicate_issue(db.session, issue, created_by_id=current_user.id)
    audit.record(db.session, "issue.duplicate", target=copy, detail={"from": issue.id})
    db.session.commit()
    flash(_("This is a new draft, a copy of issue %(number)d.", number=issue.id), "success")
    return redirect(url_for("editorial_staff.issue_edit", issue_id=copy.id))


@bp.post("/issues/<int:issue_id>/archive")
def issue_archive(issue_id: int):
    """Show the issue in the public archive or not: the editor's explicit choice, in any state."""
    issue = db.get_or_404(Issue, issue_id)
    form = ArchiveForm()
    if not form.validate_on_submit():
        abort(400)
    shown = bool(form.public_archive.data)
    issues.set_public_archive(db.session, issue, shown)
    audit.record(db.session, "issue.archive", target=issue, detail={"public": shown})
    db.session.commit()
    flash(_("The issue is shown in the public archive.") if shown
          else _("The issue is not shown in the public archive."), "success")  # fmt: skip
    return redirect(url_for("editorial_staff.issue_edit", issue_id=issue.id, _anchor="archive"))


def _issue_change(issue_id: int, change) -> object:
    issue = db.get_or_404(Issue, issue_id)
    _committed(lambda: change(issue), issues.IssueError, _l("Nothing was changed: %(reason)s"))
    return redirect(url_for("editorial_staff.issue_edit", issue_id=issue_id, _anchor="articles"))


@bp.post("/issues/<int:issue_id>/articles")
def issue_add_article(issue_id: int):
    form = AddArticleForm()
    if not form.validate_on_submit():
        abort(400)
    return _issue_change(issue_id, lambda issue: issues.add_article(db.session, issue, form.article_id.data))


@bp.post("/issues/<int:issue_id>/articles/<int:article_id>/remove")
def issue_remove_article(issue_id: int, article_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    return _issue_change(issue_id, lambda issue: issues.remove_article(db.session, issue, article_id))


@bp.post("/issues/<int:issue_id>/articles/<int:article_id>/up")
def issue_move_up(issue_id: int, article_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    return _issue_change(issue_id, lambda issue: issues.move_article(db.session, issue, article_id, -1))


@bp.post("/issues/<int:issue_id>/articles/<int:article_id>/down")
def issue_move_down(issue_id: int, article_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    return _issue_change(issue_id, lambda issue: issues.move_article(db.session, issue, article_id, 1))


def _variant() -> str:
    variant = request.args.get("variant", "default")
    return variant if variant in issues.VARIANTS else "default"


def _mail_locale() -> str:
    """The language the preview shows the mail in: ``?mail_lang=`` (the preview's own switch, which leaves
    the staff pages in their language), else the language of the page."""
    asked = request.args.get("mail_lang")
    return asked if asked in LANGUAGES else str(get_locale() or "de")


def _render(issue: Issue, variant: str, locale: str | None = None):
    """The issue as a reader would see it, its per-reader links filled with the test send's harmless ones
    (the editor sees working links, never a slot placeholder)."""
    base_url = current_app.config["BASE_URL"]
    rendered = issues.render_issue(
        issue, variant, base_url=base_url, locale=locale or str(get_locale() or "de"),
        secret_key=current_app.config["SECRET_KEY"],
    )  # fmt: skip
    return rendering.fill_slots(rendered, issues.editor_slot_values(base_url))


@bp.get("/issues/<int:issue_id>/preview")
def issue_preview(issue_id: int):
    issue = db.get_or_404(Issue, issue_id)
    variant = _variant()
    mail_lang = _mail_locale()
    rendered, error, size = None, None, 0
    try:
        rendered = _render(issue, variant, mail_lang)
        size = issues.html_size(rendered.html)
    except RenderError as exc:
        error = str(exc)
    test_form = _test_send_form(variant)
    return render_template(
        "admin/issues/preview.html",
        issue=issue,
        variant=variant,
        variants=issues.VARIANTS,
        mail_lang=mail_lang,
        rendered=rendered,
        error=error,
        size=size,
        too_large=size > GMAIL_CLIP_BYTES,
        limit_kb=GMAIL_CLIP_BYTES // 1024,
        test_form=test_form,
        test_limit=test_readers.MAX_RECIPIENTS,
    ), 200 if error is None else 422


@bp.get("/issues/<int:issue_id>/preview/frame")
def issue_preview_frame(issue_id: int):
    """The issue's HTML alone for the sandboxed preview iframe, under its own strict policy."""
    issue = db.get_or_404(Issue, issue_id)
    try:
        rendered = _render(issue, _variant(), _mail_locale())
    except RenderError:
        abort(422)
    return sandboxed_html(rendered.html)


def _test_send_form(variant: str = "default") -> TestSendForm:
    form = TestSendForm(variant=variant, locale=str(get_locale() or "de"))
    form.variant.choices = [SelectChoice(v, str(VARIANT_LABELS[v])) for v in issues.VARIANTS]
    form.test_readers.choices = [
        (reader.id, f"{reader.label} ({reader.email})" if reader.label else reader.email)
        for reader in test_readers.all_test_readers(db.session)
    ]
    return form


def _test_send_staff_key() -> str:
    return f"issue-test-send:{current_user.id}"


def _test_send_issue_key() -> str:
    return f"issue-test-send:issue:{request.view_args.get('issue_id') if request.view_args else ''}"


TEST_SEND_REFUSED = {
    "none": _l("Choose at least one address for the test."),
    "too_many": _l("A test goes to at most %(limit)d addresses. Choose fewer."),
}


@bp.post("/issues/<int:issue_id>/test-send")
@limiter.limit("30 per hour", key_func=_test_send_staff_key)
@limiter.limit("20 per hour", key_func=_test_send_issue_key)
def issue_test_send(issue_id: int):
    """Queue a test of the issue as readers of the chosen variant and language get it, to the chosen test
    addresses and the editor's own (the editor's alone when none is ticked)."""
    issue = db.get_or_404(Issue, issue_id)
    form = _test_send_form()
    if not form.validate_on_submit():
        abort(400)
    variant, locale = form.variant.data, form.locale.data
    back = redirect(url_for(".issue_preview", issue_id=issue.id, variant=variant))
    chosen = form.test_readers.data or []
    own = current_user.email if form.to_me.data or not chosen else None
    try:
        recipients = test_readers.recipients(db.session, chosen, own)
    except test_readers.TestReaderRefused as exc:
        flash(str(TEST_SEND_REFUSED[exc.reason] % {"limit": test_readers.MAX_RECIPIENTS}), "error")
        return back
    try:
        # Refuse now, with the reason, rather than fail in the worker.
        issues.render_issue(issue, variant, base_url=current_app.config["BASE_URL"], locale=locale,
                            secret_key=current_app.config["SECRET_KEY"])  # fmt: skip
    except RenderError as exc:
        flash(_("The issue cannot be rendered: %(reason)s", reason=str(exc)), "error")
        return back
    entry = audit.record(db.session, "issue.test_send", target=issue,
                         detail={"to": recipients, "variant": variant, "locale": locale})  # fmt: skip
    db.session.flush()
    editorial_tasks.queue_issue_test(issue.id, recipients, variant, locale, audit_entry_id=entry.id)
    db.session.commit()  # the entry stays only when the test is queued
    flash(_("A test of this issue to %(address)s is on its way.", address=", ".join(recipients)), "success")
    return back


@bp.route("/test-readers", methods=["GET", "POST"])
def test_reader_list():
    """The newsroom's test addresses, which the test send on an issue's preview offers."""
    form = TestReaderForm()
    status = 200
    if form.validate_on_submit():
        try:
            reader = test_readers.add(db.session, form.email.data or "", form.label.data or "",
                                      created_by_id=current_user.id)  # fmt: skip
        except InvalidEmail:
            db.session.rollback()
            flash(_("This is not a valid e-mail address."), "error")
            status = 400
        except test_readers.TestReaderRefused as exc:
            db.session.rollback()
            flash(str(TEST_READER_REFUSED[exc.reason]), "error")
            status = 400
        else:
            audit.record(db.session, "test_reader.add", target=reader, detail={"label": reader.label})
            db.session.commit()
            flash(_("The test address is added."), "success")
            return redirect(url_for(".test_reader_list"))
    elif request.method == "POST":
        status = 400
    return render_template(
        "admin/test_readers.html", form=form, readers=test_readers.all_test_readers(db.session),
        action=ActionForm(), limit=test_readers.MAX_RECIPIENTS,
    ), status  # fmt: skip


TEST_READER_REFUSED = {
    "known": _l("This address is a test address already."),
    "full": _l("The list of test addresses is full. Remove one first."),
}


@bp.post("/test-readers/<int:test_reader_id>/remove")
def test_reader_remove(test_reader_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    if test_readers.remove(db.session, test_reader_id):
        audit.record(db.session, "test_reader.remove", target=("test_reader", test_reader_id))
        db.session.commit()
        flash(_("The test address is removed."), "success")
    return redirect(url_for(".test_reader_list"))
