"""Reader pages: subscribe (site form, embeddable page, JSON API), the confirmation link, the "send me my
link" form, the preference center and the one-click unsubscribe. Thin: parse input, call a service, answer.

Every sign-up answer is the same, and takes at least ``SUBSCRIBE_MIN_SECONDS``, whether the address is
new, pending, active or has left: nobody learns from it who reads us.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from wtforms.fields.choices import SelectChoice

from db import db
from newsletter.platform import bodies, extensions, headers, i18n, overload, tokens
from newsletter.platform.extensions import csrf, limiter
from newsletter.platform.forms import ActionForm, given
from newsletter.platform.i18n import LANGUAGES
from newsletter.readers import (
    addresses,
    errors,
    limits,
    links,
    reader_mails,
    sharing,
    signup,
    subscribers,
)
from newsletter.readers import newsletters as newsletter_service
from newsletter.readers.forms import (
    PreferencesLinkForm,
    SubscribeForm,
)
from newsletter.readers.models import Newsletter, Subscriber

bp = Blueprint("readers", __name__)

def _submitted_address() -> str:
    """The address a sign-up names, for its rate limit. The body was bounded before anything read it
    (``MAX_REQUEST_BYTES``, platform/bodies.py), and only the first 1,024 characters of the field are
    looked at."""
    if request.is_json:
        body = bodies.json_body()
        raw = body.get("email") if isinstance(body, dict) else None
    else:
        raw = given(request.form, "email")
    return raw[:1024].strip().lower()[:320] if isinstance(raw, str) else ""


# Per client address and per e-mail address, one Redis round trip for both (``limits``).
signup_limited = limits.limited(_submitted_address)


_SIGNUP_ENDPOINTS = frozenset({
    "readers.subscribe", "readers.api_subscribe", "readers.preferences_link",
    "readers.unsubscribe_settings_link",
})  # fmt: skip
# The two CSRF-exempt sign-up forms skip the extensions' app-wide hooks (``extensions.LEAN_ENDPOINTS``).
extensions.lean_endpoint("readers.subscribe")
extensions.lean_endpoint("readers.api_subscribe")


@limiter.request_filter
def _counted_by_signup_limits() -> bool:
    """Flask-Limiter has nothing to count on the sign-up forms: let it step aside before it looks."""
    return request.endpoint in _SIGNUP_ENDPOINTS


def _pad(started: float) -> None:
    """Answer no sooner than ``SUBSCRIBE_MIN_SECONDS`` after the request began."""
    remaining = current_app.config["SUBSCRIBE_MIN_SECONDS"] - (time.perf_counter() - started)
    if remaining > 0:
        time.sleep(remaining)


def _current_language() -> str:
    # The locale selector itself (a language on offer, always): Flask-Babel's get_locale would parse it
    # into a Locale first, which the sign-up answer does not need.
    return i18n.select_locale()


def subscribe_form(newsletters: list | None = None, formdata=None) -> SubscribeForm:
    """The sign-up form with today's choices; the default newsletters are ticked."""
    if newsletters is None:
        newsletters = newsletter_service.offered_newsletters(db.session)
    form = SubscribeForm(formdata=formdata) if formdata is not None else SubscribeForm()
    locale = _current_language()
    form.newsletters.choices = [SelectChoice(n.slug, n.name_for(locale)) for n in newsletters]
    form.language.choices = [SelectChoice(code, label) for code, label in LANGUAGES.items()]
    if formdata is None:
        form.newsletters.data = [n.slug for n in newsletters if n.is_default]
        form.language.data = _current_language()
        form.source.data = signup.clean_source(
            request.args.get("source") or request.args.get("utm_campaign")
        )
        form.form_token.data = tokens.make_token("subscribe-form", "s")
    return form


def _embed_ancestors() -> str:
    return " ".join(["'self'", *current_app.config["EMBED_ORIGINS"]])


def _signup_message() -> str:
    return _(
        "Thank you! If this address can receive our newsletter, a message is on its way to it now. "
        "Please open it and confirm with the button – only then do we write to you."
    )


def _busy_message() -> str:
    return _(
        "Right now very many people are signing up at the same time, and we could not take yours. "
        "Nothing was saved. Please send the form again in a moment."
    )


def _busy_page() -> str:
    """The answer to a sign-up shed under overload: rendered once per language and layout and kept, so
    that shedding costs little while the machine has none to spare."""
    pages = current_app.extensions.setdefault("beitrag.signup_busy_pages", {})
    embed = given(request.args, "embed") == "1"
    key = (_current_language(), embed)
    page = pages.get(key)
    if page is None:
        page = render_template("newsletter/signup_busy.html", embed=embed, message=_busy_message())
        if not current_app.jinja_env.auto_reload:
            pages[key] = page
    return page


def _busy_json() -> Response:
    return _cors(Response(json.dumps({"error": "overloaded", "message": _busy_message()}),
                          mimetype="application/json"))  # fmt: skip


class _SignupError(errors.SubscriberError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def _run_signup(
    email: str, slugs: list[str] | None, language: str, source: str | None, honeypot: str,
    available: list[Any] | None = None, *, ref: str | None = None,
):  # fmt: skip
    """Shared by the form and the API. Raises SubscriberError with a message for the reader."""
    if language not in LANGUAGES:
        raise _SignupError("invalid_language", _("Please choose one of the offered languages."))
    try:
        address = addresses.normalize_email(email)
    except errors.InvalidEmail:
        raise _SignupError(
            "invalid_email",
            _("This e-mail address is not valid. Please check it (for example name@example.org)."),
        ) from None
    try:
        if available is None:
            available = newsletter_service.offered_newsletters(db.engine)
        chosen = newsletter_service.choose_newsletters(db.session, slugs, available)
    except errors.SubscriberError:
        raise _SignupError("invalid_newsletters", _("Please choose among the newsletters offered.")) from None
    if honeypot:
        return None  # a bot: the same answer, nothing stored, nothing sent
    engine = db.engine
    try:
        outcome = signup.subscribe(
            engine if engine.dialect.name == "postgresql" else db.session,  # PostgreSQL needs no session
            address, newsletters=chosen, locale=language, source=source,
            via="web" if not request.is_json else "api",
            ip=request.remote_addr,
        )  # fmt: skip
    except errors.SubscriberError:  # the address changed under us (erased in the same moment)
        raise _SignupError(
            "try_again", _("Something changed at the same moment. Please send it again.")
        ) from None
    if ref and outcome.action == "created":  # a new address through a reader's share link
        via = (source or "").removeprefix(sharing.SOURCE_PREFIX)
        sharer = sharing.read_share_code(_secret_keys(), ref)
        sharing.record_referral(db.session, outcome.subscriber_id, sharer, via)
    # SQLite's sign-up, and a share link's referral on either database, wrote in the request's session
    if db.session.registry.has() and db.session().in_transaction():
        db.session.commit()
    return outcome


@bp.route("/subscribe", methods=["GET", "POST"])
@csrf.exempt  # the form carries its own signed form_token (see SubscribeForm)
@limiter.exempt
@overload.sheddable(_busy_page)  # before the limits: a shed sign-up is not counted against anyone
@signup_limited
def subscribe():
    started = time.perf_counter()
    headers.loosen(frame_ancestors=_embed_ancestors())
    embed = given(request.args, "embed") == "1"
    if request.method == "GET":
        return render_template("newsletter/subscribe.html", form=subscribe_form(), embed=embed)
    sent = request.form
    offered = newsletter_service.offered_newsletters(db.engine)
    fields = _fields_as_sent(sent, offered)
    form = None if fields is not None else subscribe_form(offered, formdata=sent)
    error = None
    try:
        tokens.read_token("subscribe-form", given(sent, "form_token") or "")
    except tokens.TokenError:
        error = _("The form has expired. Please reload the page and send it again.")
    if error is None and form is not None:  # something looked off: the form checks it and says what
        if form.validate():
            fields = (
                form.email.data, form.newsletters.data or None, form.language.data, form.source.data,
                form.website.data or "",
            )  # fmt: skip
        else:
            error = _("Please check the highlighted fields.")
    if error is None:
        try:
            _run_signup(*fields, offered, ref=given(sent, "ref"))
        except _SignupError as exc:
            db.session.rollback()
            error = str(exc)
    if error is not None:
        form = form or subscribe_form(offered, formdata=sent)
        form.form_token.data = tokens.make_token("subscribe-form", "s")
        return render_template("newsletter/subscribe.html", form=form, embed=embed, error=error), 400
    _pad(started)
    return _signup_done_page(embed)


def _secret_keys() -> list[str]:
    """The key links are signed with now, then the earlier ones still honoured."""
    return [current_app.config["SECRET_KEY"], *(current_app.config.get("SECRET_KEY_FALLBACKS") or ())]


@bp.get("/share/<code>")
def share(code: str):
    """A reader's share link: the sign-up form, carrying the link's code and place. A forged or broken
    code shows the same form without them; nothing about the sharer is shown or stored in the browser."""
    form = subscribe_form()
    shared = sharing.read_share_code(_secret_keys(), code[:64]) is not None
    if shared:
        form.ref.data = code
        form.source.data = sharing.SOURCE_PREFIX + sharing.place(request.args.get("via"))
    return render_template("newsletter/subscribe.html", form=form, embed=False, shared=shared)


def _fields_as_sent(formdata, offered: list) -> tuple | None:
    """The sign-up form's fields as :class:`SubscribeForm` would accept them (e-mail present and at most
    320 characters, an offered language, only offered newsletters), read without building the form: the
    busiest public form skips WTForms when nothing is wrong. None when anything is off; the form then
    checks the request and says what."""
    email, language = given(formdata, "email"), given(formdata, "language")
    slugs = formdata.getlist("newsletters")
    if not email or not email.strip() or len(email) > 320 or language not in LANGUAGES:
        return None
    if slugs and not set(slugs) <= {n.slug for n in offered}:
        return None
    return email, slugs or None, language, given(formdata, "source"), given(formdata, "website") or ""


def _signup_done_page(embed: bool) -> str:
    """The answer to an accepted sign-up: one page for everyone, so it is rendered once per language and
    layout and then kept by the process (outside development, where templates change while it runs)."""
    pages = current_app.extensions.setdefault("beitrag.signup_done_pages", {})
    key = (_current_language(), embed)
    page = pages.get(key)
    if page is None:
        page = render_template("newsletter/subscribe.html", form=None, embed=embed, message=_signup_message())
        if not current_app.jinja_env.auto_reload:
            pages[key] = page
    return page


def _cors(response: Response) -> Response:
    origin = request.headers.get("Origin")
    if origin and origin in current_app.config["EMBED_ORIGINS"]:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Methods"] = "POST"
        response.headers["Access-Control-Allow-Headers"] = "Content-Type"
        response.headers["Access-Control-Max-Age"] = "600"
    response.headers.add("Vary", "Origin")
    return response


def _api_error(code: str, message: str, status: int = 400) -> Response:
    return _cors(
        Response(json.dumps({"error": code, "message": message}), status, mimetype="application/json")
    )


@bp.route("/api/subscribe", methods=["POST", "OPTIONS"])
@csrf.exempt  # no cookies are involved; abuse is held by the rate limits and the daily mail cap
@limiter.exempt
@overload.sheddable(_busy_json)
@signup_limited
def api_subscribe():
    """JSON: ``{"email": ..., "newsletters": [slug, ...], "language": "de", "source": ..., "ref": ...}``
    (``ref``: the code of a reader's share link, which the newsroom's own form carried along).
    202 with the same answer for every address; 400 with ``{"error", "message"}`` for bad input; 503 with
    ``Retry-After`` and ``{"error": "overloaded", ...}`` when the server is past its capacity."""
    if request.method == "OPTIONS":
        return _cors(Response(status=204))
    started = time.perf_counter()
    if not request.is_json:
        return _api_error("unsupported_media_type", _("Send the request as JSON (application/json)."), 415)
    body = bodies.json_body()
    if not isinstance(body, dict):
        return _api_error("invalid_json", _("The request body is not a JSON object."))
    email, slugs = body.get("email"), body.get("newsletters")
    language, source = body.get("language", "de"), body.get("source")
    if not isinstance(email, str) or not email.strip():
        return _api_error("invalid_email", _("The field 'email' is missing."))
    if slugs is not None and (not isinstance(slugs, list) or not all(isinstance(s, str) for s in slugs)):
        return _api_error("invalid_newsletters", _("'newsletters' must be a list of newsletter names."))
    if source is not None and not isinstance(source, str):
        return _api_error("invalid_source", _("'source' must be text."))
    ref = body.get("ref")
    if ref is not None and not isinstance(ref, str):
        return _api_error("invalid_ref", _("'ref' must be the code of a reader's share link."))
    if not isinstance(language, str):
        return _api_error("invalid_language", _("Please choose one of the offered languages."))
    try:
        _run_signup(email, slugs or None, language, source, str(body.get("website") or ""), ref=ref)
    except _SignupError as exc:
        db.session.rollback()
        return _api_error(exc.code, str(exc))
    _pad(started)
    return _cors(
        Response(
            json.dumps({"status": "accepted", "message": _signup_message()}), 202, mimetype="application/json"
        )
    )


@bp.route("/preferences", methods=["GET", "POST"])
@limiter.exempt
@signup_limited
def preferences_link():
    """ "Send me my link": the same answer for every address; known readers get a mail (capped)."""
    started = time.perf_counter()
    form = PreferencesLinkForm()
    if not form.validate_on_submit():
        status = 400 if request.method == "POST" else 200
        return render_template("newsletter/preferences_link.html", form=form), status
    if not form.website.data:
        try:
            address = addresses.normalize_email(form.email.data)
        except errors.InvalidEmail:
            form.email.errors.append(_("This e-mail address is not valid. Please check it."))
            return render_template("newsletter/preferences_link.html", form=form), 400
        reader = subscribers.find_subscriber(db.session, address)
        if reader is not None:
            reader_mails.request_preferences_link(db.session, reader)
            db.session.commit()
    _pad(started)
    message = _(
        "If we know this address, a link to your settings is on its way to it now. It is valid for 30 days."
    )
    return render_template("newsletter/preferences_link.html", form=None, message=message)


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm_subscription(token: str):
    """GET shows a button and changes nothing (mail scanners open every link); POST confirms."""
    try:
        subscriber = subscribers.subscriber_for_confirmation(db.session, token)
    except tokens.TokenError as exc:
        message = (
            _("This confirmation link has expired. Please sign up again; it only takes a moment.")
            if exc.expired
            else _("This confirmation link is not valid. Please copy the whole link from the e-mail.")
        )
        return render_template("newsletter/confirm.html", state="invalid", message=message), 400
    i18n.speak_readers_language(subscriber.locale)
    form = ActionForm()
    if form.validate_on_submit():
        subscribers.confirm(db.session, subscriber, via="confirmation link")
        db.session.commit()
        return render_template("newsletter/confirm.html", state="done", subscriber=subscriber)
    return render_template("newsletter/confirm.html", state="ask", form=form, subscriber=subscriber)


def _unsubscribe_target(token: str) -> tuple[Subscriber | None, int | None, Newsletter | None]:
    """The reader, newsletter id and newsletter an unsubscribe link names (reader or newsletter None when
    gone since); :class:`tokens.TokenError` for a forged or broken link."""
    subscriber_id, newsletter_id = links.read_unsubscribe_token(current_app.config["SECRET_KEY"], token)
    reader = db.session.get(Subscriber, subscriber_id)
    newsletter = db.session.get(Newsletter, newsletter_id) if newsletter_id else None
    if reader is not None:
        i18n.speak_readers_language(reader.locale)
    return reader, newsletter_id, newsletter


def _test_link_page(token: str):
    """The answer to a link from an editor's test send (``links.test_reader_token``), in the test's
    language, or None for a reader's link. Such a link names no reader: it changes nothing and says so,
    with the same page for every test token, so it tells nobody whether an address reads us."""
    if not links.is_test_reader_token(token):
        return None
    try:
        locale = links.read_test_reader_token(current_app.config["SECRET_KEY"], token)
    except tokens.TokenError:
        return _bad_unsubscribe_link()
    with force_locale(locale):
        return render_template("newsletter/unsubscribe.html", state="test")


def _bad_unsubscribe_link():
    message = _("This link is not valid. Please copy the whole link from the e-mail.")
    return render_template("newsletter/link_invalid.html", message=message), 400


# An unsubscribe link travels in every issue, in its headers and its footer, and never expires: whoever
# holds a forwarded issue holds it. So it only ever unsubscribes. The pages behind it name no address and
# hand out no preference link; they offer to mail that link to the address on file, where only the
# reader reads it.


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: mail providers POST without cookies or form tokens; the signed URL is the key
def unsubscribe(token: str):
    """GET shows a button and changes nothing; a POST whose body holds ``List-Unsubscribe=One-Click``
    (urlencoded or multipart) unsubscribes at once and answers 200, every time it is repeated."""
    if (test_page := _test_link_page(token)) is not None:
        return test_page
    try:
        reader, newsletter_id, newsletter = _unsubscribe_target(token)
    except tokens.TokenError:
        return _bad_unsubscribe_link()
    if request.method == "GET":
        return render_template(
            "newsletter/unsubscribe.html", state="ask", reader=reader, newsletter=newsletter,
            link_form=ActionForm(),
        )  # fmt: skip
    if request.form.get("List-Unsubscribe") != "One-Click":
        message = _("This request does not say what to do. Please use the button on the page.")
        return render_template("newsletter/link_invalid.html", message=message), 400
    if reader is not None:
        issue_id = links.read_unsubscribe_link(current_app.config["SECRET_KEY"], token)[2]  # counted for it
        subscribers.leave_newsletter(db.session, reader, newsletter_id, via="one-click", issue_id=issue_id)
        db.session.commit()
    return render_template(
        "newsletter/unsubscribe.html", state="done", reader=reader, newsletter=newsletter,
        link_form=ActionForm(),
    )  # fmt: skip


@bp.get("/unsubscribe/<token>/settings")
def unsubscribe_settings(token: str):
    """Where an issue's "Change settings" link leads: a forwarded issue must not open its reader's settings
    (address, export, erasure), so this page only offers to mail the settings link to the address on
    file. It changes nothing."""
    if (test_page := _test_link_page(token)) is not None:
        return test_page
    try:
        reader, _newsletter_id, newsletter = _unsubscribe_target(token)
    except tokens.TokenError:
        return _bad_unsubscribe_link()
    return render_template(
        "newsletter/unsubscribe.html", state="settings", reader=reader, newsletter=newsletter,
        link_form=ActionForm(),
    )  # fmt: skip


@bp.post("/unsubscribe/<token>/settings-link")
@limiter.exempt  # counted by the sign-up limits below, per client and per address
def unsubscribe_settings_link(token: str):
    """The button on the unsubscribe page: mail a preference link to the address the newsletter went to
    (the reader-mail outbox, in the reader's language, at most three a day). The page says only that."""
    if (test_page := _test_link_page(token)) is not None:
        return test_page
    try:
        reader, _newsletter_id, newsletter = _unsubscribe_target(token)
    except tokens.TokenError:
        return _bad_unsubscribe_link()
    if not ActionForm().validate_on_submit():  # CSRFProtect answers first; this is its second line
        abort(400)
    limits.hit(request.remote_addr or "127.0.0.1", reader.email.lower() if reader is not None else "")
    if reader is not None:
        reader_mails.request_preferences_link(db.session, reader)
        db.session.commit()
    return render_template(
        "newsletter/unsubscribe.html", state="link_sent", reader=reader, newsletter=newsletter
    )
