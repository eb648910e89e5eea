"""Forms of the editor's desk."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from newsletter.platform.forms import LANGUAGE_CHOICES, MultiCheckboxField
from newsletter.platform.ids import MAX_ID


class ArticleForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=300)])
    teaser = TextAreaField(_l("Teaser"), validators=[Length(max=2000)])
    body = TextAreaField(_l("Text (Markdown)"), validators=[Length(max=200_000)])
    author = StringField(_l("Author"), validators=[Length(max=200)])
    image_url = URLField(_l("Image URL"), validators=[Optional(), Length(max=2000)])
    image_alt = StringField(
        _l("Image description (alt text)"),
        description=_l("What the image shows, for readers who cannot see it. Empty: the title is used."),
        validators=[Length(max=500)],
    )
    image_credit = StringField(_l("Image credit"), validators=[Length(max=300)])
    canonical_url = URLField(
        _l("Article URL"),
        description=_l("Only for an article published elsewhere. Empty: it is read on its own page here."),
        validators=[Optional(), Length(max=2000)],
    )
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


class FeedEditForm(FlaskForm):
    url = URLField(_l("Feed URL (RSS or Atom)"), validators=[DataRequired(), Length(max=2000)])
    title = StringField(_l("Name on this page"), validators=[Length(max=300)])
    interval_minutes = IntegerField(
        _l("Import every … minutes"), validators=[DataRequired(), NumberRange(5, 10080)]
    )
    submit = SubmitField(_l("Save feed"))


class MarkdownPreviewForm(FlaskForm):
    """The text of the live preview: as long as the longest Markdown field (an article's text)."""

    text = TextAreaField(validators=[Length(max=200_000)])


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
    newsletters = MultiCheckboxField(_l("Newsletters"), coerce=int, validate_choice=True)
    # Checked by the service (``issues._segment_of``), which says what is wrong with a choice.
    segment = SelectField(_l("Readers"), default="", validate_choice=False)
    sender_name = StringField(_l("Sender name"), validators=[DataRequired(), Length(max=200)])
    sender_address = StringField(_l("Sender address"), validators=[DataRequired(), Length(max=320)])
    show_goal = BooleanField(_l("Show the regular supporter goal under the ask"))
    # The English version: readers who chose English get it; an empty field falls back to the German one.
    subject_en = StringField(_l("Subject in English"), validators=[Length(max=200)])
    preheader_en = StringField(_l("Preheader in English"), validators=[Length(max=300)])
    intro_en = TextAreaField(_l("Editorial in English (Markdown)"), validators=[Length(max=50_000)])
    submit = SubmitField(_l("Save issue"))


class RecentIssueForm(FlaskForm):
    days = IntegerField(
        _l("Articles of the last … days"), default=7, validators=[DataRequired(), NumberRange(1, 90)]
    )
    submit = SubmitField(_l("Start a new issue"))


class AddArticleForm(FlaskForm):
    article_id = IntegerField(_l("Article"), validators=[DataRequired(), NumberRange(1, MAX_ID)])
    submit = SubmitField(_l("Add"))


class TestSendForm(FlaskForm):
    """A test send: the reader variant and language, and who gets it (the editor when nobody is ticked)."""

    __test__ = False  # not a pytest test class, whatever its name

    variant = SelectField(_l("Variant"), default="default")
    locale = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="de")
    to_me = BooleanField(_l("My own address"), default=True)
    # Ids of test readers removed since the page was shown are ignored, not refused.
    test_readers = MultiCheckboxField(_l("Test addresses"), coerce=int, choices=[], validate_choice=False)
    submit = SubmitField(_l("Send test"))


class TestReaderForm(FlaskForm):
    __test__ = False  # not a pytest test class, whatever its name

    email = StringField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])
    label = StringField(_l("Label (optional)"), validators=[Length(max=100)])
    submit = SubmitField(_l("Add test address"))


class ScheduleForm(FlaskForm):
    """When to send an issue, in the editor's time zone (Europe/Berlin unless TIMEZONE says otherwise)."""

    send_at = DateTimeLocalField(_l("Send at"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])


class ArchiveForm(FlaskForm):
    """Whether the public archive and its Atom feed show an issue (any state, also once it is sent)."""

    public_archive = BooleanField(_l("Show in the public archive"))
    submit = SubmitField(_l("Save archive choice"))


WEEKDAY_CHOICES = [
    SelectChoice("1", _l("Monday")), SelectChoice("2", _l("Tuesday")), SelectChoice("3", _l("Wednesday")),
    SelectChoice("4", _l("Thursday")), SelectChoice("5", _l("Friday")), SelectChoice("6", _l("Saturday")),
    SelectChoice("7", _l("Sunday")),
]  # fmt: skip


class DigestForm(FlaskForm):
    """An automatic digest. Weekdays, time and zone are checked by the service (``editorial.digests``),
    which says what is wrong in words an editor knows."""

    newsletter = SelectField(_l("Newsletter"), coerce=int, validate_choice=False)
    subject = StringField(
        _l("Subject"), description=_l("The date of each issue is added to it."),
        validators=[DataRequired(), Length(max=150)],
    )  # fmt: skip
    weekdays = MultiCheckboxField(_l("Weekdays"), choices=WEEKDAY_CHOICES, validate_choice=False)
    time_of_day = StringField(_l("Time of day (HH:MM)"), validators=[Length(max=20)])
    timezone = StringField(_l("Time zone"), validators=[Length(max=64)])
    layout = SelectField(
        _l("Layout"),
        choices=[
            SelectChoice("digest", _l("Digest: every article with its teaser")),
            SelectChoice("feature", _l("Feature: one lead story, then links")),
        ],
        validate_choice=False,
    )
    mode = SelectField(
        _l("When the issue is built"),
        choices=[
            SelectChoice("draft", _l("Leave it as a draft and mail the editors")),
            SelectChoice("send", _l("Send it to the newsletter's readers")),
        ],
        validate_choice=False,
    )
    tags = StringField(
        _l("Only articles with one of these tags (separated by commas)"),
        description=_l("Empty: every article."), validators=[Length(max=500)],
    )  # fmt: skip
    feeds = MultiCheckboxField(_l("Only articles from"), coerce=int, choices=[], validate_choice=False)
    sender_name = StringField(_l("Sender name"), validators=[DataRequired(), Length(max=200)])
    sender_address = StringField(_l("Sender address"), validators=[DataRequired(), Length(max=320)])
    active = BooleanField(_l("Active"), default=True)
    submit = SubmitField(_l("Save digest"))
