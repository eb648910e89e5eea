"""The forms of gifts by transfer. Amounts are checked by ``amounts.parse_amount`` (integer cents), not
here."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length, Optional


class ReferenceForm(FlaskForm):
    """The donor asks for the account and a personal reference."""

    amount = StringField(_l("Amount in euros (optional)"), validators=[Optional(), Length(max=20)])
    email = EmailField(
        _l("E-mail address for the receipt (optional)"), validators=[Optional(), Length(max=320), Email()]
    )
    issue = HiddenField()
    link = HiddenField()
    utm_source = HiddenField()
    utm_medium = HiddenField()
    utm_campaign = HiddenField()
    article = HiddenField()
    submit = SubmitField(_l("Show account and my reference"))


class UploadForm(FlaskForm):
    # The file is read from ``request.files`` in the view; the form carries the CSRF token.
    submit = SubmitField(_l("Upload"))


class AssignForm(FlaskForm):
    reference = StringField(_l("Reference"), validators=[Optional(), Length(max=40)])
    email = EmailField(_l("or the donor's e-mail address"), validators=[Optional(), Length(max=320), Email()])
    submit = SubmitField(_l("Record as donation"))


class HandForm(FlaskForm):
    booked_on = DateField(_l("Booked on"), validators=[DataRequired()])
    amount = StringField(_l("Amount in euros"), validators=[DataRequired(), Length(max=20)])
    payer_name = StringField(_l("From (name)"), validators=[Optional(), Length(max=200)])
    reference = StringField(_l("Reference"), validators=[Optional(), Length(max=40)])
    email = EmailField(_l("or the donor's e-mail address"), validators=[Optional(), Length(max=320), Email()])
    note = StringField(_l("Purpose or note"), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Record as donation"))
