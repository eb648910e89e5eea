"""WTForms forms for the pages in this package. Labels and messages are lazily translated."""

from __future__ import annotations

from functools import cache

from babel import support
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import messages_path
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField(_l("Stay signed in on this device"))
    submit = SubmitField(_l("Sign in"))


class ActionForm(FlaskForm):
    """A button that changes something: nothing but the CSRF token (sign out, send a test message)."""


class StatementForm(FlaskForm):
    """A giving statement: the year, chosen from the reader's own years (the view sets the choices)."""

    year = SelectField(_l("Year"), validators=[DataRequired()])


class ApiTokenForm(FlaskForm):
    """A new staff API token: for whom, and what it is for."""

    staff_user_id = SelectField(_l("Staff member"), coerce=int, validators=[DataRequired()])
    name = StringField(_l("What it is for"), validators=[Optional(), Length(max=100)])


class ScheduleForm(FlaskForm):
    """When to send an issue, in the editor's time zone (Europe/Berlin unless TIMEZONE says otherwise)."""

    send_at = DateTimeLocalField(_l("Send at"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


@cache
def _wtforms_catalogue(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _WTFormsMessages:
    """WTForms' own messages ("This field is required.") in the request's language, each catalogue read
    once per process (Flask-WTF reads it again for every request: a cost on the busiest public form)."""

    def gettext(self, string: str) -> str:
        return _wtforms_catalogue(str(get_locale() or "de")).ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalogue(str(get_locale() or "de")).ungettext(singular, plural, n)


_wtforms_messages = _WTFormsMessages()


class SubscribeForm(FlaskForm):
    """The sign-up form on the home page and on the embeddable ``/subscribe`` page.

    It lives inside other sites' pages, where the browser does not send our session cookie, so its
    anti-forgery token is not bound to a session: ``form_token`` is a signed, expiring token (see
    ``reader_views``). ``website`` is a honeypot: hidden from people, filled in by bots."""

    class Meta:
        csrf = False

        def get_translations(self, form):
            return _wtforms_messages

    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])
    newsletters = MultiCheckboxField(_l("Newsletters"), choices=[])
    language = SelectField(_l("Language of the newsletter"), choices=[])
    source = HiddenField()
    website = StringField(_l("Leave this field empty"))
    form_token = HiddenField()
    submit = SubmitField(_l("Subscribe"))


class PreferencesLinkForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])
    website = StringField(_l("Leave this field empty"))
    submit = SubmitField(_l("Send me my link"))


class PreferencesForm(FlaskForm):
    newsletters = MultiCheckboxField(_l("Newsletters"), choices=[])
    language = SelectField(_l("Language of the newsletter"), choices=[])
    paused_until = DateField(_l("Pause all newsletters until"), validators=[Optional()])
    ask_frequency = RadioField(_l("Asks for a donation"), choices=[])
    submit = SubmitField(_l("Save my choice"))


class EraseForm(FlaskForm):
    confirm = BooleanField(_l("Yes, delete everything you hold about me"), validators=[DataRequired()])
    submit = SubmitField(_l("Erase my data"))


# -- staff: newsletters, readers, imports -----------------------------------------------------------

LANGUAGE_CHOICES = [SelectChoice("de", _l("German")), SelectChoice("en", _l("English"))]


class NewsletterForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        _l("Short name (in links and import files)"), validators=[DataRequired(), Length(max=80)]
    )
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)])
    is_public = BooleanField(_l("Public: readers can choose it on the subscribe form"))
    is_default = BooleanField(_l("Default for new readers"))
    position = IntegerField(_l("Order"), default=0, validators=[Optional(), NumberRange(min=0, max=10000)])
    submit = SubmitField(_l("Save"))


class AddSubscriberForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="de")
    newsletters = MultiCheckboxField(_l("Newsletters"), coerce=int)
    source = StringField(_l("Source"), validators=[Optional(), Length(max=255)])
    consent = RadioField(
        _l("Consent"),
        choices=[
            SelectChoice("none", _l("No recorded consent: send the confirmation mail (double opt-in)")),
            SelectChoice("recorded", _l("The reader's consent is recorded elsewhere: active at once")),
        ],
        default="none",
    )
    consent_detail = StringField(_l("Where and when was consent given?"), validators=[Length(max=400)])
    submit = SubmitField(_l("Add reader"))


class EditSubscriberForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES)
    newsletters = MultiCheckboxField(_l("Newsletters"), coerce=int)
    submit = SubmitField(_l("Save changes"))


class ImportUploadForm(FlaskForm):
    # The file is read from ``request.files`` in the view; the form carries the CSRF token.
    submit = SubmitField(_l("Upload"))


class ImportMapForm(FlaskForm):
    newsletters = MultiCheckboxField(_l("Add every reader to these newsletters"), coerce=int)
    consent = RadioField(
        _l("Consent"),
        choices=[
            SelectChoice(
                "none", _l("No recorded consent: readers are pending and each gets a confirmation mail")
            ),
            SelectChoice("recorded", _l("Consent is recorded elsewhere: readers are active at once")),
        ],
        default="none",
    )
    consent_detail = StringField(_l("Where and when was consent given?"), validators=[Length(max=400)])
    submit = SubmitField(_l("Start import"))


# -- editorial: articles, feeds, issues -------------------------------------------------------------


class ArticleForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    teaser = TextAreaField(_l("Teaser"), validators=[Length(max=2000)])
    body = TextAreaField(_l("Text (Markdown)"), validators=[Length(max=200_000)])
    author = StringField(_l("Author"), validators=[Length(max=200)])
    image_url = URLField(_l("Image URL"), validators=[Optional(), Length(max=2000)])
    image_credit = StringField(_l("Image credit"), validators=[Length(max=300)])
    canonical_url = URLField(_l("Article URL"), validators=[Optional(), Length(max=2000)])
    tags = StringField(_l("Tags (separated by commas)"), validators=[Length(max=500)])
    published_at = DateTimeLocalField(_l("Published"), format="%Y-%m-%dT%H:%M", validators=[Optional()])
    sponsored = BooleanField(_l("Advertisement (sponsored content, marked as such)"))
    submit = SubmitField(_l("Save article"))


class FeedForm(FlaskForm):
    url = URLField(_l("Feed URL (RSS or Atom)"), validators=[DataRequired(), Length(max=2000)])
    interval_minutes = IntegerField(
        _l("Import every … minutes"), default=60, validators=[DataRequired(), NumberRange(5, 10080)]
    )
    submit = SubmitField(_l("Add feed and import"))


class IssueForm(FlaskForm):
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=200)])
    preheader = StringField(_l("Preheader (preview line)"), validators=[Length(max=300)])
    intro = TextAreaField(_l("Editorial (Markdown)"), validators=[Length(max=50_000)])
    layout = SelectField(
        _l("Layout"),
        choices=[
            SelectChoice("digest", _l("Digest: every article with its teaser")),
            SelectChoice("feature", _l("Feature: one lead story, then links")),
        ],
    )
    newsletters = SelectMultipleField(_l("Newsletters"), coerce=int, validate_choice=True)
    sender_name = StringField(_l("Sender name"), validators=[DataRequired(), Length(max=200)])
    sender_address = StringField(_l("Sender address"), validators=[DataRequired(), Length(max=320)])
    show_goal = BooleanField(_l("Show the monthly supporter goal under the ask"))
    submit = SubmitField(_l("Save issue"))


class RecentIssueForm(FlaskForm):
    days = IntegerField(
        _l("Articles of the last … days"), default=7, validators=[DataRequired(), NumberRange(1, 90)]
    )
    submit = SubmitField(_l("Start a new issue"))


class AddArticleForm(FlaskForm):
    article_id = IntegerField(_l("Article"), validators=[DataRequired()])
    submit = SubmitField(_l("Add"))


class TestSendForm(FlaskForm):
    variant = SelectField(_l("Variant"), default="default")
    submit = SubmitField(_l("Send a test to me"))
