"""Staff sign-in, two-factor sign-in, staff accounts and API tokens."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from newsletter.platform.forms import LANGUAGE_CHOICES
from newsletter.staff.accounts import MIN_PASSWORD_LENGTH

ROLE_CHOICES = [SelectChoice("editor", _l("Editor")), SelectChoice("admin", _l("Admin"))]


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField(_l("Stay signed in on this device"))
    submit = SubmitField(_l("Sign in"))


class CodeForm(FlaskForm):
    """The second step of signing in, and the confirmation of a new authenticator app."""

    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=40)])


class ProofForm(FlaskForm):
    """Asked before two-factor sign-in is turned off or the recovery codes are made anew."""

    proof = PasswordField(
        _l("Your password or a current code"), validators=[DataRequired(), Length(max=1024)]
    )


class ApiTokenForm(FlaskForm):
    """A new staff API token: for whom, and what it is for."""

    staff_user_id = SelectField(_l("Staff member"), coerce=int, validators=[DataRequired()])
    name = StringField(_l("What it is for"), validators=[Optional(), Length(max=100)])


class InviteForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="editor")
    language = SelectField(_l("Language of the invitation"), choices=LANGUAGE_CHOICES)


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)


class RequireTwoFactorForm(FlaskForm):
    require = BooleanField(_l("Every staff member must sign in with a second factor"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("E-mail address"), validators=[DataRequired(), Length(max=320)])


_LONG_ENOUGH = Length(
    min=MIN_PASSWORD_LENGTH, max=1024, message=_l("Please choose at least 12 characters.")
)


class NewPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), _LONG_ENOUGH])
    confirm = PasswordField(
        _l("The new password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two passwords are not the same."))],
    )


class AcceptInvitationForm(NewPasswordForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=200)])
