"""The preference center: a reader's own page, opened by the signed link in every mail (or sent on
request, ``views.preferences_link``): newsletters, language, a pause, how often to be asked, a giving
statement, the data as JSON, leaving and erasure. Thin: parse input, call a service, answer."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from db import db
from newsletter.platform import audit, i18n, tokens
from newsletter.platform.forms import ActionForm
from newsletter.platform.i18n import LANGUAGES
from newsletter.ports import (
    request_giving_statement,
    send_supporter_mails,
    supporter_details,
    supporter_statement_years,
)
from newsletter.readers import errors, links, preference_center, sharing, subscribers
from newsletter.readers import newsletters as newsletter_service
from newsletter.readers.forms import ASK_CHOICES, EraseForm, PreferencesForm, StatementForm
from newsletter.readers.models import AskFrequency, Subscriber

bp = Blueprint("readers_preference", __name__)


class _BadLink(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@bp.errorhandler(_BadLink)
def _bad_link(error: _BadLink):
    return render_template("newsletter/link_invalid.html", message=error.message), 400


def _reader_from_preferences_token(token: str) -> Subscriber:
    try:
        subscriber_id = links.read_preferences_token(current_app.config["SECRET_KEY"], token)
    except tokens.TokenError as exc:
        raise _BadLink(
            _("This link has expired. Ask for a new one below; it comes by e-mail.")
            if exc.expired
            else _("This link is not valid. Please copy the whole link from the e-mail.")
        ) from None
    reader = db.session.get(Subscriber, subscriber_id)
    if reader is None:
        raise _BadLink(_("We hold no data for this link any more."))
    i18n.speak_readers_language(reader.locale)
    return reader


def _preferences_form(reader: Subscriber, formdata=None) -> PreferencesForm:
    offered = newsletter_service.public_newsletters(db.session)
    mine = [s.newsletter for s in reader.subscriptions]
    choices = offered + [n for n in mine if n not in offered]  # hidden ones the reader is on
    form = PreferencesForm(formdata=formdata) if formdata is not None else PreferencesForm()
    locale = i18n.select_locale()
    form.newsletters.choices = [SelectChoice(n.slug, n.name_for(locale)) for n in choices]
    form.language.choices = [SelectChoice(code, label) for code, label in LANGUAGES.items()]
    form.ask_frequency.choices = [SelectChoice(value, str(label)) for value, label in ASK_CHOICES]
    if formdata is None:
        form.newsletters.data = [n.slug for n in mine]
        form.language.data = reader.locale
        form.paused_until.data = reader.paused_until.date() if reader.paused_until else None
        form.ask_frequency.data = reader.ask_frequency.value
    form.available = {n.slug: n for n in choices}
    return form


def _statement_form(reader: Subscriber) -> StatementForm:
    """The giving statement's form, offering only the years of this reader's own gifts."""
    form = StatementForm()
    form.year.choices = [SelectChoice(str(y), str(y)) for y in supporter_statement_years(db.session, reader)]
    return form


def _render_preferences(token: str, reader: Subscriber, form: PreferencesForm, status: int = 200, **extra):
    return render_template(
        "newsletter/preferences.html", token=token, reader=reader, form=form,
        action_form=ActionForm(), erase_form=EraseForm(), support=supporter_details(db.session, reader),
        statement_form=extra.pop("statement_form", None) or _statement_form(reader),
        share_url=sharing.share_url(current_app.config["BASE_URL"], current_app.config["SECRET_KEY"],
                                    reader.id, "preferences"),
        readers_brought=sharing.readers_brought(db.session, reader.id), **extra,
    ), status  # fmt: skip


@bp.route("/preferences/<token>", methods=["GET", "POST"])
def preferences(token: str):
    reader = _reader_from_preferences_token(token)
    if request.method == "GET":
        return _render_preferences(token, reader, _preferences_form(reader))
    form = _preferences_form(reader, formdata=request.form)
    if not form.validate():
        return _render_preferences(token, reader, form, 400)
    try:
        paused = preference_center.parse_pause(form.paused_until.data)
    except errors.SubscriberError:
        form.paused_until.errors.append(_("Choose a day in the future, at most a year from now."))
        return _render_preferences(token, reader, form, 400)
    preference_center.update_preferences(
        db.session, reader, newsletters=[form.available[s] for s in form.newsletters.data or []],
        locale=form.language.data, paused_until=paused, ask_frequency=AskFrequency(form.ask_frequency.data),
    )  # fmt: skip
    db.session.commit()
    i18n.speak_readers_language(reader.locale)  # the page answers in the language just chosen
    return _render_preferences(token, reader, _preferences_form(reader), saved=True)


@bp.post("/preferences/<token>/statement")
def giving_statement(token: str):
    """Mail the reader's giving statement for a year of their own gifts to their address (one a day)."""
    reader = _reader_from_preferences_token(token)
    form = _statement_form(reader)
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return _render_preferences(
            token, reader, _preferences_form(reader), 400,
            statement_message=_("Please choose one of the years listed."),
        )  # fmt: skip
    year = int(form.year.data)
    outcome = request_giving_statement(db.session, reader, year, reader.locale, name=form.name.data or "",
                                       address=form.address.data or "")  # fmt: skip
    if outcome != "written":
        db.session.rollback()
        message = {
            "already_today": _(
                "The statement for %(year)s is already on its way today. Please check your inbox.", year=year
            ),
            "needs_address": _("A tax receipt states your name and postal address: please fill them in."),
        }.get(outcome) or _("Please choose one of the years listed.")
        return _render_preferences(
            token, reader, _preferences_form(reader), 429 if outcome == "already_today" else 400,
            statement_message=message,
        )  # fmt: skip
    db.session.commit()
    try:
        send_supporter_mails(db.session)
    except Exception as exc:  # stored: the next sweep of donor mails sends it
        db.session.rollback()
        current_app.logger.warning("giving statement not queued yet: %s", exc)
    receipts = (supporter_details(db.session, reader) or {}).get("tax_receipts")
    address = reader.email
    sent = (
        _("Your tax receipt for %(year)s is on its way to %(address)s.", year=year, address=address)
        if receipts
        else _("Your giving statement for %(year)s is on its way to %(address)s.", year=year, address=address)
    )
    return _render_preferences(
        token, reader, _preferences_form(reader), statement_message=sent, statement_sent=True,
    )  # fmt: skip


@bp.post("/preferences/<token>/leave")
def leave(token: str):
    reader = _reader_from_preferences_token(token)
    if not ActionForm().validate_on_submit():
        abort(400)
    subscribers.unsubscribe(db.session, reader, via="preference center")
    db.session.commit()
    return render_template("newsletter/left.html", reader=reader, token=token)


@bp.post("/preferences/<token>/export")
def export(token: str):
    reader = _reader_from_preferences_token(token)
    if not ActionForm().validate_on_submit():
        abort(400)
    data = preference_center.export_data(db.session, reader)
    audit.record(db.session, "reader.export_data", actor=audit.READER, target=reader)
    db.session.commit()
    response = Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="beitrag-my-data.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/preferences/<token>/erase")
def erase(token: str):
    reader = _reader_from_preferences_token(token)
    form = EraseForm()
    if not form.validate_on_submit():
        return _render_preferences(token, reader, _preferences_form(reader), 400, erase_error=True)
    audit.record(db.session, "reader.erase", actor=audit.READER, target=reader,
                 detail={"via": "preference center"})  # fmt: skip
    subscribers.erase(db.session, reader, via="preference center")
    db.session.commit()
    return render_template("newsletter/erased.html")
