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
