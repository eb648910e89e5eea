"""Welcome mails: each newsletter's own welcome, written by an editor (a subject, an intro in Markdown,
the newsletter's latest issue or articles the editor chose, and the ask for the reader's supporter
state), sent once to each reader who confirms, or whom an import with recorded consent asked to welcome.

The readers' side writes the outbox row in the transaction that makes the reader active
(``readers.welcome_mails``: unique per reader and newsletter, so the mail goes once however often the
link is clicked). The clock's sweep here queues the rows whose ``due_at`` passed (the editor's delay);
the job (:func:`send_welcome_mail`) claims its row, builds the reader's message in their language and
hands it to the relay the way transactional mail goes (``mail.transactional.deliver``: DKIM when a key
is set, the signed bounce address as envelope sender). Like an issue, the message carries
``List-Unsubscribe`` (https, and mailto where a mailbox is read) with ``List-Unsubscribe-Post``, and the
footer with the reader's unsubscribe and settings links, the newsroom and its postal address.

The intro is the editor's Markdown, rendered and sanitised by the articles' own helpers (nh3): a script
in it never reaches a reader. Nothing in the mail counts opens. With ``CLICK_COUNTING`` on, a reader's
welcome carries counting links, per newsletter and link, never per reader (``sending.welcome_clicks``);
previews and test sends keep the plain addresses."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.editorial import issues
from newsletter.editorial.articles import markdown_text, reading_url, render_markdown
from newsletter.editorial.models import Article, Issue, IssueState, issue_newsletters
from newsletter.mail import mime, outbox, rendering, transactional
from newsletter.platform import queues
from newsletter.ports import supporter_state
from newsletter.readers import links
from newsletter.readers.models import (
    Newsletter,
    NewsletterWelcome,
    Subscriber,
    SubscriberStatus,
    Subscription,
    WelcomeContent,
    WelcomeMail,
)
from newsletter.readers.welcome_mails import welcome_settings
from newsletter.sending import unsubscribe_mails, welcome_clicks
from newsletter.sending.ledger import ask_variant

MAX_SUBJECT = 200
MAX_INTRO = 20_000
MAX_DELAY_MINUTES = 30 * 24 * 60  # a month
MAX_ARTICLES = 10
TEMPLATE = "welcome"
IN_DOUBT_AFTER = timedelta(minutes=15)
"""A welcome taken by a worker this long ago and still "sending": the worker died while sending it (one
message's SMTP dialogue with all its time-outs takes a few minutes at most)."""

log = logging.getLogger(__name__)


class WelcomeError(ValueError):
    """Welcome input that cannot be stored; the message says what to fix (in the editor's language)."""


@dataclass
class WelcomeInput:
    enabled: bool = False
    delay_minutes: int = 0
    subject: str = ""
    subject_en: str = ""
    intro: str = ""
    intro_en: str = ""
    content: str = WelcomeContent.LATEST_ISSUE.value
    article_ids: list[int] = field(default_factory=list)


def _one_line(text: str | None, label: Any) -> str:
    """A subject as one line: line breaks and other control characters refused, spaces collapsed."""
    text = text or ""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text.replace("\t", " ")):
        raise WelcomeError(_l("%(field)s must be one line without control characters.", field=label))
    text = " ".join(text.split())
    if len(text) > MAX_SUBJECT:
        raise WelcomeError(
            _l("%(field)s is too long: at most %(max)d characters.", field=label, max=MAX_SUBJECT)
        )
    return text


def save_welcome(session: Session, newsletter_id: int, data: WelcomeInput) -> NewsletterWelcome:
    """Check and keep the newsletter's welcome. Raises :class:`WelcomeError` (nothing kept) for a subject
    too long or of several lines, an intro too long, a delay outside 0 to 30 days, an unknown content
    choice, too many or unknown articles. The caller commits."""
    subject = _one_line(data.subject, _l("The subject"))
    subject_en = _one_line(data.subject_en, _l("The English subject"))
    for intro in (data.intro, data.intro_en):
        if len(intro or "") > MAX_INTRO:
            raise WelcomeError(_l("The intro is too long: at most %(max)d characters.", max=MAX_INTRO))
    if not 0 <= int(data.delay_minutes or 0) <= MAX_DELAY_MINUTES:
        raise WelcomeError(_l("The delay must be between 0 minutes and 30 days."))
    if data.content not in {c.value for c in WelcomeContent}:
        raise WelcomeError(_l("Choose what the welcome mail shows below the intro."))
    article_ids = list(dict.fromkeys(int(i) for i in data.article_ids or []))
    if len(article_ids) > MAX_ARTICLES:
        raise WelcomeError(_l("Choose at most %(max)d articles.", max=MAX_ARTICLES))
    known = (
        set(session.scalars(select(Article.id).where(Article.id.in_(article_ids)))) if article_ids else set()
    )
    if len(known) != len(article_ids):
        raise WelcomeError(_l("One of the chosen articles does not exist any more."))
    if data.content == WelcomeContent.ARTICLES.value and not article_ids:
        raise WelcomeError(_l("Choose at least one article, or show the latest issue instead."))
    welcome = session.get(NewsletterWelcome, newsletter_id)
    if welcome is None:
        welcome = NewsletterWelcome(newsletter_id=newsletter_id)
        session.add(welcome)
    welcome.enabled = bool(data.enabled)
    welcome.delay_minutes = int(data.delay_minutes or 0)
    welcome.subject, welcome.subject_en = subject, subject_en
    welcome.intro, welcome.intro_en = data.intro or "", data.intro_en or ""
    welcome.content = data.content
    welcome.article_ids = article_ids
    welcome.updated_at = utcnow()
    session.flush()
    return welcome


def latest_issue(session: Session, newsletter_id: int) -> Issue | None:
    """The newsletter's last sent issue, or None before its first."""
    return session.scalar(
        select(Issue)
        .join(issue_newsletters, issue_newsletters.c.issue_id == Issue.id)
        .where(issue_newsletters.c.newsletter_id == newsletter_id, Issue.state == IssueState.SENT)
        .order_by(Issue.sent_at.desc(), Issue.id.desc())
        .limit(1)
    )


def chosen_articles(session: Session, article_ids: Sequence[int]) -> list[Article]:
    """The chosen articles that still exist, in the editor's order."""
    if not article_ids:
        return []
    found = {a.id: a for a in session.scalars(select(Article).where(Article.id.in_(list(article_ids))))}
    return [found[i] for i in article_ids if i in found]


def _intro(welcome: NewsletterWelcome, newsletter: Newsletter, locale: str) -> tuple[str, str]:
    """The intro as sanitised HTML and as text; the mail's own greeting when the editor wrote none."""
    source = (welcome.intro_en if locale == "en" else "") or welcome.intro
    if not source.strip():
        source = _(
            "Welcome, and thank you for subscribing to %(name)s. From now on it comes to this address.",
            name=newsletter.name_for(locale),
        )
    html = render_markdown(source)
    return html, markdown_text(source, html)


def welcome_context(
    session: Session, welcome: NewsletterWelcome, newsletter: Newsletter, *, locale: str, base_url: str,
    secret_key: str, variant: str, unsubscribe_url: str, preferences_url: str,
) -> dict[str, Any]:  # fmt: skip
    """Plain values for ``email/welcome/`` in ``locale`` (the caller renders in that locale)."""
    name = newsletter.name_for(locale)
    subject = (welcome.subject_en if locale == "en" else "") or welcome.subject
    intro_html, intro_text = _intro(welcome, newsletter, locale)
    issue = latest_issue(session, newsletter.id) if welcome.content == WelcomeContent.LATEST_ISSUE else None
    if welcome.content == WelcomeContent.ARTICLES:
        articles = [issues.article_content(a) for a in chosen_articles(session, welcome.article_ids)]
        articles = [{**a, "url": reading_url(base_url, url=a["url"], slug=a["slug"])} for a in articles]
    elif issue is not None:
        articles = issues.issue_articles(issue, base_url=base_url)
    else:
        articles = []
    donate_url = (
        f"{base_url}/spenden?link=welcome&utm_source=newsletter&utm_medium=email&utm_campaign=welcome"
    )
    return {
        "welcome_subject": subject or _("Welcome to %(name)s", name=name),
        "newsletter_name": name,
        "preheader": _("Welcome to %(name)s", name=name),
        "intro_html": Markup(intro_html),  # noqa: S704 (sanitised by nh3)
        "intro_text": intro_text,
        "articles": articles,
        "latest_issue": {
            "subject": issue.subject_for(locale),
            "url": issues.web_url(base_url, issue, secret_key, locale=locale),
        } if issue is not None else None,
        "web_url": "",  # a welcome has no web version
        "variant": variant,
        "goal": None,
        "donate_url": donate_url + ("" if locale == "de" else f"&lang={locale}"),
        "unsubscribe_url": unsubscribe_url,
        "preferences_url": preferences_url,
    }  # fmt: skip


def render_welcome(session: Session, welcome: NewsletterWelcome, newsletter: Newsletter, *, locale: str,
                   config: Mapping[str, Any], variant: str = "default", unsubscribe_url: str | None = None,
                   preferences_url: str | None = None) -> rendering.RenderedEmail:  # fmt: skip
    """Subject, HTML and text of the welcome in ``locale``. Without a reader's links (the editor's
    preview) the links lead to the site's home page."""
    locale = issues.reader_locale(locale)
    base_url = config["BASE_URL"]
    with force_locale(locale):
        context = welcome_context(
            session, welcome, newsletter, locale=locale, base_url=base_url, secret_key=config["SECRET_KEY"],
            variant=variant, unsubscribe_url=unsubscribe_url or f"{base_url}/",
            preferences_url=preferences_url or f"{base_url}/",
        )  # fmt: skip
    return rendering.render_email(TEMPLATE, context, locale)


def _message(rendered: rendering.RenderedEmail, newsletter: Newsletter, config: Mapping[str, Any], to: str,
             unsubscribe_url: str, token: str, *, test: bool = False) -> bytes:  # fmt: skip
    """The message bytes, with the list headers an issue carries (one-click unsubscribe, RFC 8058)."""
    mailto = unsubscribe_mails.mailto_address(config)
    list_unsubscribe = f"<{unsubscribe_url}>"
    if mailto:
        list_unsubscribe += f", <mailto:{mailto}?subject=unsubscribe-{token}>"
    domain = mime.sender_domain(config["MAIL_FROM"])
    headers = {
        "List-Id": f"{newsletter.name} <{newsletter.slug}.{domain}>",
        "List-Unsubscribe": list_unsubscribe,
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "Feedback-ID": f"welcome:{newsletter.slug}:beitrag",
    }
    if test:
        headers["X-Beitrag-Test"] = "1"
    return mime.build_transactional(
        rendered, sender_name=config["NEWSROOM_NAME"], sender_address=config["MAIL_FROM"], to=to,
        headers=headers,
    )  # fmt: skip


# -- the outbox: sweep and job -------------------------------------------------------------------------


def _queue_jobs(messages: list[tuple[tuple[int], str]]) -> list:
    return queues.enqueue_many(queues.WELCOME_MAIL, messages)


def queue_due_welcome_mails(session: Session, *, limit: int = 1000) -> int:
    """The sweep: queue up to ``limit`` welcome mails whose time has come (one job each, its id named
    after the row, so a second sweep cannot queue it twice). The caller commits."""

    def compose(_session: Session, claimed) -> list:
        return [((row.id,), f"welcome-{int(row.id)}") for row in claimed]

    return outbox.sweep(
        session, WelcomeMail.__table__, compose, returning=("id",), limit=limit, due=True, queue=_queue_jobs
    )


def send_welcome_mail(session: Session, welcome_mail_id: int, config: Mapping[str, Any]) -> str:
    """The job: claim the row (``waiting`` to ``sending``; a second run finds it taken and stops), and
    send the reader's welcome, unless the reader is no longer active on the newsletter, paused their
    newsletters, or the welcome was turned off meanwhile ("skipped"). A temporary refusal gives the row
    back and raises, so RQ tries again; a permanent one marks it "failed". Commits.

    At most once: a worker killed while it holds the row leaves it "sending", and it is not sent again, as
    an uncertain ledger row of an issue is not; after :data:`IN_DOUBT_AFTER` the figures count it as in
    doubt rather than waiting."""
    claimed = session.execute(
        update(WelcomeMail)
        .where(WelcomeMail.id == welcome_mail_id, WelcomeMail.status == "waiting")
        .values(status="sending", claimed_at=utcnow())
        .returning(WelcomeMail.subscriber_id, WelcomeMail.newsletter_id)
    ).first()
    session.commit()
    if claimed is None:
        return "nothing to do"
    subscriber_id, newsletter_id = claimed
    reader = session.get(Subscriber, subscriber_id)
    newsletter = session.get(Newsletter, newsletter_id)
    welcome = session.get(NewsletterWelcome, newsletter_id)
    subscribed = session.scalar(
        select(func.count()).select_from(Subscription)
        .where(Subscription.subscriber_id == subscriber_id, Subscription.newsletter_id == newsletter_id)
    )  # fmt: skip
    paused = reader is not None and reader.paused_until is not None and reader.paused_until > utcnow()
    if (reader is None or newsletter is None or welcome is None or not welcome.enabled or not subscribed
            or reader.status is not SubscriberStatus.ACTIVE or paused):  # fmt: skip
        _finish(session, welcome_mail_id, "skipped")
        return "skipped"
    locale = issues.reader_locale(reader.locale)
    variant = ask_variant(supporter_state(session, reader), reader.ask_frequency, 0)
    reader_links = links.ReaderLinks(config["BASE_URL"], config["SECRET_KEY"])
    unsubscribe, token = reader_links.unsubscribe_url_and_token(reader.id, newsletter.id)
    try:
        rendered = render_welcome(
            session, welcome, newsletter, locale=locale, config=config, variant=variant,
            unsubscribe_url=unsubscribe, preferences_url=f"{unsubscribe}/settings",
        )  # fmt: skip
        if config.get("CLICK_COUNTING"):
            rendered = welcome_clicks.count_links(
                session, rendered, newsletter.id, base_url=config["BASE_URL"], secret_key=config["SECRET_KEY"]
            )
        message = _message(rendered, newsletter, config, reader.email, unsubscribe, token)
    except (mime.HeaderInjection, rendering.RenderError) as exc:  # trying again would not help
        _finish(session, welcome_mail_id, "failed")
        log.warning("welcome mail %s not built: %s", welcome_mail_id, exc)
        return f"refused: {exc}"
    to = reader.email
    session.commit()  # no transaction stays open while the message goes out
    try:
        outcome = transactional.deliver(config, to, message, what="the welcome mail")
    except Exception:
        session.rollback()
        given_back = {"status": "waiting", "claimed_at": None}
        session.execute(update(WelcomeMail).where(WelcomeMail.id == welcome_mail_id).values(**given_back))
        session.commit()
        raise
    _finish(session, welcome_mail_id, "failed" if outcome.startswith("refused") else "sent")
    return outcome


def _finish(session: Session, welcome_mail_id: int, status: str) -> None:
    session.rollback()
    values: dict[str, Any] = {"status": status}
    if status == "sent":
        values["sent_at"] = utcnow()
    session.execute(update(WelcomeMail).where(WelcomeMail.id == welcome_mail_id).values(**values))
    session.commit()


def send_test(session: Session, newsletter_id: int, to: str, locale: str, variant: str,
              config: Mapping[str, Any]) -> str:  # fmt: skip
    """An editor's test of the welcome as it stands (saved or not turned on yet), to their own address:
    the message a reader of ``locale`` gets, with ``X-Beitrag-Test: 1`` and a test token in its links,
    which names no reader and changes nothing (``links.test_reader_token``)."""
    newsletter = session.get(Newsletter, newsletter_id)
    if newsletter is None:
        return "nothing to do"
    welcome = welcome_settings(session, newsletter_id)
    locale = issues.reader_locale(locale)
    reader_links = links.ReaderLinks(config["BASE_URL"], config["SECRET_KEY"])
    unsubscribe, token = reader_links.test_unsubscribe_url_and_token(locale, secrets.token_hex(8))
    rendered = render_welcome(
        session, welcome, newsletter, locale=locale, config=config, variant=variant,
        unsubscribe_url=unsubscribe, preferences_url=f"{unsubscribe}/settings",
    )  # fmt: skip
    message = _message(rendered, newsletter, config, to, unsubscribe, token, test=True)
    session.commit()
    return transactional.deliver(
        config, to, message, what="a test of the welcome mail", envelope=config["MAIL_FROM"]
    )


def welcome_figures(session: Session, newsletter_id: int, *, now: datetime | None = None) -> dict[str, int]:
    """How many welcome mails of the newsletter are sent, waiting (or on their way), skipped, failed, and in
    doubt: taken by a worker longer than :data:`IN_DOUBT_AFTER` ago and never finished (the worker was
    killed while sending; the reader may or may not have the mail, and it is not sent again)."""
    in_doubt_since = (now or utcnow()) - IN_DOUBT_AFTER
    stuck = (WelcomeMail.status == "sending") & (
        WelcomeMail.claimed_at.is_(None) | (WelcomeMail.claimed_at < in_doubt_since)
    )
    shown = case((stuck, "uncertain"), else_=WelcomeMail.status)
    rows = session.execute(
        select(shown, func.count()).where(WelcomeMail.newsletter_id == newsletter_id).group_by(shown)
    )
    figures = {"sent": 0, "waiting": 0, "skipped": 0, "failed": 0, "uncertain": 0}
    for status, count in rows:
        figures["waiting" if status == "sending" else status] += count
    return figures
