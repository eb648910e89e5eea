"""WTForms forms for the pages in this package. Labels and messages are lazily translated."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField(_l("Stay signed in on this device"))
    submit = SubmitField(_l("Sign in"))


class ActionForm(FlaskForm):
    """A button that changes something: nothing but the CSRF token (sign out, send a test message)."""


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class SubscribeForm(FlaskForm):
    """The sign-up form on the home page and on the embeddable ``/subscribe`` page.

    It lives inside other sites' pages, where the browser does not send our session cookie, so its
    anti-forgery token is not bound to a session: ``form_token`` is a signed, expiring token (see
    ``reader_views``). ``website`` is a honeypot: hidden from people, filled in by bots."""

    class Meta:
        csrf = False

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
