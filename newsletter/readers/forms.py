"""Forms of the reader pages and of the staff pages for readers, newsletters and imports."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from newsletter.platform.forms import LANGUAGE_CHOICES, MultiCheckboxField, wtforms_messages
from newsletter.readers import newsletters
from newsletter.readers.models import AskFrequency


class StatementForm(FlaskForm):
    """A giving statement: the year, chosen from the reader's own years (the view sets the choices). A
    newsroom that is a charity sends tax receipts instead, which state the donor's name and address."""

    year = SelectField(_l("Year"), validators=[DataRequired()])
    name = StringField(_l("Full name"), validators=[Optional(), Length(max=200)])
    address = TextAreaField(_l("Postal address"), validators=[Optional(), Length(max=500)])


class SubscribeForm(FlaskForm):
    """The sign-up form on the home page and on the embeddable ``/subscribe`` page.

    It lives inside other sites' pages, where the browser does not send our session cookie, so its
    anti-forgery token is not bound to a session: ``form_token`` is a signed, expiring token (see
    ``readers.views``). ``website`` is a honeypot: hidden from people, filled in by bots."""

    class Meta:
        csrf = False

        def get_translations(self, form):
            return wtforms_messages

    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])
    newsletters = MultiCheckboxField(_l("Newsletters"), choices=[])
    language = SelectField(_l("Language of the newsletter"), choices=[])
    source = HiddenField()
    ref = HiddenField()  # a reader's share code (readers.sharing), when the form came from their link
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


class NewsletterForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        _l("Short name (in links and import files)"), validators=[DataRequired(), Length(max=80)]
    )
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)])
    # Optional: readers who chose English see these; empty ones fall back to the German.
    name_en = StringField(_l("Name in English"), validators=[Length(max=200)])
    description_en = TextAreaField(_l("Description in English"), validators=[Length(max=2000)])
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
    send_welcome = BooleanField(
        _l("Send the newsletters' welcome mail to readers imported with recorded consent")
    )
    submit = SubmitField(_l("Start import"))


# How often a reader wants to be asked for a donation, as the preference center offers it.
ASK_CHOICES = (
    (AskFrequency.NORMAL.value, _l("Now and then, as for every reader")),
    (AskFrequency.LESS.value, _l("Less often")),
    (AskFrequency.NEVER.value, _l("Never")),
)


def newsletter_choices(session) -> list[SelectChoice]:
    """Every newsletter, for the staff forms that choose some."""
    return [SelectChoice(n.id, n.name) for n in newsletters.list_newsletters(session)]
