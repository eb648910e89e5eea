"""Staff sign-in and API tokens."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField(_l("Stay signed in on this device"))
    submit = SubmitField(_l("Sign in"))


class ApiTokenForm(FlaskForm):
    """A new staff API token: for whom, and what it is for."""

    staff_user_id = SelectField(_l("Staff member"), coerce=int, validators=[DataRequired()])
    name = StringField(_l("What it is for"), validators=[Optional(), Length(max=100)])
