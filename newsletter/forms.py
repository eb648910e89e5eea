"""WTForms forms for the pages in this package. Labels and messages are lazily translated."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SubmitField
from wtforms.validators import DataRequired, Length


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField(_l("Stay signed in on this device"))
    submit = SubmitField(_l("Sign in"))


class ActionForm(FlaskForm):
    """A button that changes something: nothing but the CSRF token (sign out, send a test message)."""


# --- Editorial (issue 4) ------------------------------------------------------------------------------

from wtforms import (  # noqa: E402
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice  # noqa: E402
from wtforms.validators import NumberRange, Optional  # noqa: E402


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
