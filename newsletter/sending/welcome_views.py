"""Staff pages for a newsletter's welcome mail: edit it, preview it in either language and for each
supporter state, send a test to oneself. Thin: parse input, call ``welcome``, render."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional

from db import db
from newsletter.editorial.issues import VARIANTS
from newsletter.editorial.models import Article
from newsletter.editorial.staff_views import VARIANT_LABELS
from newsletter.mail.rendering import RenderError
from newsletter.platform import audit
from newsletter.platform.access import StaffRole, guard_blueprint
from newsletter.platform.bodies import body_limit
from newsletter.platform.extensions import limiter
from newsletter.platform.forms import LANGUAGE_CHOICES, MultiCheckboxField
from newsletter.platform.headers import sandboxed_html
from newsletter.platform.i18n import LANGUAGES
from newsletter.platform.queues import WELCOME_TEST, enqueue
from newsletter.readers.models import Newsletter, WelcomeContent
from newsletter.readers.welcome_mails import welcome_settings
from newsletter.sending import welcome, welcome_clicks

bp = Blueprint("welcome_staff", __name__, url_prefix="/staff")
guard_blueprint(bp, StaffRole.EDITOR)

ARTICLE_CHOICES = 40  # the newest articles offered to choose from (with those chosen before)

# Two intros of up to 20,000 characters, form-encoded (a character of a non-Latin script takes 9 bytes).
WELCOME_FORM_BYTES = 512 * 1024


class WelcomeForm(FlaskForm):
    enabled = BooleanField(_l("Send a welcome mail to every new reader of this newsletter"))
    delay_minutes = IntegerField(
        _l("Delay after the confirmation, in minutes (0: at once)"), default=0,
        validators=[Optional(), NumberRange(min=0, max=welcome.MAX_DELAY_MINUTES,
                                            message=_l("The delay must be between 0 minutes and 30 days."))],
    )  # fmt: skip
    subject = StringField(_l("Subject"))
    intro = TextAreaField(_l("Intro (Markdown)"))
    subject_en = StringField(_l("Subject in English"))
    intro_en = TextAreaField(_l("Intro in English (Markdown)"))
    content = RadioField(
        _l("Below the intro"),
        choices=[
            SelectChoice(WelcomeContent.LATEST_ISSUE.value, _l("The newsletter's latest issue")),
            SelectChoice(WelcomeContent.ARTICLES.value, _l("The articles chosen below")),
            SelectChoice(WelcomeContent.NOTHING.value, _l("Nothing")),
        ],
        default=WelcomeContent.LATEST_ISSUE.value,
    )
    article_ids = MultiCheckboxField(_l("Articles"), coerce=int, choices=[], validate_choice=False)
    submit = SubmitField(_l("Save welcome mail"))


class WelcomeTestForm(FlaskForm):
    __test__ = False  # not a pytest test class, whatever its name

    variant = SelectField(_l("Variant"), default="default")
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="de")
    submit = SubmitField(_l("Send test to me"))


def _newsletter(newsletter_id: int) -> Newsletter:
    return db.session.get(Newsletter, newsletter_id) or abort(404)


def _article_choices(chosen: list[int]) -> list[tuple[int, str]]:
    newest = list(
        db.session.scalars(select(Article).order_by(Article.published_at.desc()).limit(ARTICLE_CHOICES))
    )
    shown = {a.id for a in newest}
    earlier = welcome.chosen_articles(db.session, [i for i in chosen if i not in shown])
    return [(a.id, a.title) for a in earlier + newest]


def _test_form() -> WelcomeTestForm:
    form = WelcomeTestForm(locale=str(get_locale() or "de"))
    form.variant.choices = [SelectChoice(v, str(VARIANT_LABELS[v])) for v in VARIANTS]
    return form


def _mail_locale() -> str:
    asked = request.args.get("mail_lang")
    return asked if asked in LANGUAGES else str(get_locale() or "de")


def _variant() -> str:
    variant = request.args.get("variant", "default")
    return variant if variant in VARIANTS else "default"


@bp.route("/newsletters/<int:newsletter_id>/welcome", methods=["GET", "POST"])
@body_limit(WELCOME_FORM_BYTES)
def welcome_edit(newsletter_id: int):
    newsletter = _newsletter(newsletter_id)
    stored = welcome_settings(db.session, newsletter_id)
    form = WelcomeForm(obj=stored)
    form.article_ids.choices = _article_choices(list(stored.article_ids or []))
    status = 200
    if form.validate_on_submit():
        data = welcome.WelcomeInput(
            enabled=bool(form.enabled.data), delay_minutes=form.delay_minutes.data or 0,
            subject=form.subject.data or "", subject_en=form.subject_en.data or "",
            intro=form.intro.data or "", intro_en=form.intro_en.data or "",
            content=form.content.data or "", article_ids=list(form.article_ids.data or []),
        )  # fmt: skip
        try:
            saved = welcome.save_welcome(db.session, newsletter.id, data)
        except welcome.WelcomeError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            status = 422
        else:
            audit.record(db.session, "newsletter.welcome", target=newsletter,
                         detail={"enabled": saved.enabled, "delay_minutes": saved.delay_minutes})  # fmt: skip
            db.session.commit()
            flash(_("The welcome mail of “%(name)s” is saved.", name=newsletter.name), "success")
            return redirect(url_for(".welcome_edit", newsletter_id=newsletter.id))
    elif form.is_submitted():
        status = 422
    return render_template(
        "admin/newsletters/welcome.html", newsletter=newsletter, form=form, stored=stored,
        test_form=_test_form(), figures=welcome.welcome_figures(db.session, newsletter.id),
        links=welcome_clicks.link_clicks(db.session, newsletter.id),
        variants=VARIANTS, mail_lang=_mail_locale(), variant=_variant(), max_subject=welcome.MAX_SUBJECT,
    ), status  # fmt: skip


def _rendered(newsletter: Newsletter):
    return welcome.render_welcome(
        db.session, welcome_settings(db.session, newsletter.id), newsletter, locale=_mail_locale(),
        config=current_app.config, variant=_variant(),
    )  # fmt: skip


@bp.get("/newsletters/<int:newsletter_id>/welcome/preview")
def welcome_preview(newsletter_id: int):
    """The saved welcome as a reader of the chosen language and supporter state gets it."""
    newsletter = _newsletter(newsletter_id)
    try:
        rendered, error = _rendered(newsletter), None
    except RenderError as exc:
        rendered, error = None, str(exc)
    return render_template(
        "admin/newsletters/welcome_preview.html", newsletter=newsletter, rendered=rendered, error=error,
        variants=VARIANTS, mail_lang=_mail_locale(), variant=_variant(), test_form=_test_form(),
    ), 200 if error is None else 422  # fmt: skip


@bp.get("/newsletters/<int:newsletter_id>/welcome/preview/frame")
def welcome_preview_frame(newsletter_id: int):
    """The welcome's HTML alone for the sandboxed preview iframe, under its own strict policy."""
    newsletter = _newsletter(newsletter_id)
    try:
        rendered = _rendered(newsletter)
    except RenderError:
        abort(422)
    return sandboxed_html(rendered.html)


def _test_key() -> str:
    return f"welcome-test-send:{current_user.id}"


@bp.post("/newsletters/<int:newsletter_id>/welcome/test-send")
@limiter.limit("30 per hour", key_func=_test_key)
def welcome_test_send(newsletter_id: int):
    """Queue a test of the saved welcome, in the chosen language and supporter state, to the editor."""
    newsletter = _newsletter(newsletter_id)
    form = _test_form()
    if not form.validate_on_submit():
        abort(400)
    detail = {"to": current_user.email, "locale": form.locale.data, "variant": form.variant.data}
    audit.record(db.session, "newsletter.welcome_test", target=newsletter, detail=detail)
    db.session.flush()
    enqueue(WELCOME_TEST, newsletter.id, current_user.email, form.locale.data, form.variant.data)
    db.session.commit()
    flash(
        _("A test of the welcome mail to %(address)s is on its way.", address=current_user.email), "success"
    )
    return redirect(url_for(".welcome_preview", newsletter_id=newsletter.id, mail_lang=form.locale.data,
                            variant=form.variant.data))  # fmt: skip
