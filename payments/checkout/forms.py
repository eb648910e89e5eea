"""The donate form. The amount is checked by ``amounts.parse_amount`` (integer cents, bounds), not here."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import Email, Length, Optional


class DonateForm(FlaskForm):
    kind = RadioField(_l("How often"), choices=[], default="one_time")
    preset = RadioField(_l("Amount"), choices=[], default="")
    custom_amount = StringField(_l("Another amount in euros"), validators=[Optional(), Length(max=20)])
    email = EmailField(
        _l("E-mail address for the receipt (optional)"), validators=[Optional(), Length(max=320), Email()]
    )
    message = TextAreaField(
        _l("A message to the newsroom (optional)"), validators=[Optional(), Length(max=500)]
    )
    cover_fee = BooleanField(_l("I cover the payment fee"))
    # The fee the page showed for the chosen amount, in cents (filled in by the page's script): when given,
    # it must be the fee the server computes, so nobody pays a figure they did not see.
    fee_cents = HiddenField()
    show_publicly = BooleanField(_l("Show my name on the supporter wall"))
    public_name = StringField(_l("Name for the supporter wall"), validators=[Optional(), Length(max=100)])
    issue = HiddenField()
    link = HiddenField()
    utm_source = HiddenField()
    utm_medium = HiddenField()
    utm_campaign = HiddenField()
    article = HiddenField()
    submit = SubmitField(_l("Continue to payment"))
