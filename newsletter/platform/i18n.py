"""Languages: German by default, English on request; the reader's choice is kept in a cookie."""

from __future__ import annotations

from datetime import date

from babel import numbers
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import (
    format_date,
    format_datetime,
    format_decimal,
    format_number,
    get_locale,
    refresh,
)

from newsletter.platform.extensions import babel
from newsletter.platform.forms import given

LANGUAGES = {"de": "Deutsch", "en": "English"}
DEFAULT_LOCALE = "de"
COOKIE = "beitrag_lang"
COOKIE_MAX_AGE = 60 * 60 * 24 * 365


def select_locale() -> str:
    """A ``?lang=`` on the request wins, then the remembered choice, then the language of the reader a
    signed link names (:func:`speak_readers_language`), then German (also outside a request: jobs and
    commands write in the newsroom's language). The browser's Accept-Language is not consulted."""
    if not has_request_context():
        return DEFAULT_LOCALE
    asked = given(request.args, "lang")
    if asked in LANGUAGES:
        return asked
    remembered = given(request.cookies, COOKIE)
    if remembered in LANGUAGES:
        return remembered
    return g.get("reader_locale") or DEFAULT_LOCALE


def speak_readers_language(locale: str | None) -> None:
    """A page opened by a reader's signed link (confirmation, preferences, unsubscribe) answers in the
    language the reader chose, unless they switched language on the site themselves (``?lang=`` or the
    cookie it leaves). Called once the link is read; the locale Flask-Babel may have settled on earlier
    in the request is dropped."""
    if has_request_context() and locale in LANGUAGES:
        g.reader_locale = locale
        refresh()


def remember_locale(response, locale: str, secure: bool):
    response.set_cookie(COOKIE, locale, max_age=COOKIE_MAX_AGE, httponly=True, samesite="Lax", secure=secure)
    return response


def newsroom_zone() -> str:
    """The newsroom's time zone (``TIMEZONE``): periods, schedules and dates are read and shown in it."""
    return str(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Europe/Berlin")


def month_label(value: str) -> str:
    """``2026-01`` as the reader's language writes a month: "Jan. 2026", "Jan 2026"."""
    year, month = value.split("-")
    return format_date(date(int(year), int(month), 1), "MMM yyyy")


def percent(rate: float | None) -> str:
    """A rate (0.003) as the locale writes it, with the digits it has up to two decimals ("0,3 %",
    "12,5 %", "5 %"); "–" for None."""
    if rate is None:
        return "–"
    return numbers.format_percent(round(rate, 4), locale=get_locale(), decimal_quantization=False)


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(app.root_path + "/newsletter/translations"),
    )

    app.jinja_env.filters.update(
        format_date=format_date, format_datetime=format_datetime, format_number=format_number,
        format_decimal=format_decimal, month_label=month_label,
    )  # fmt: skip

    @app.context_processor
    def _languages():
        return {"languages": LANGUAGES, "current_locale": str(get_locale() or DEFAULT_LOCALE)}

    @app.after_request
    def _keep_asked_language(response):
        asked = given(request.args, "lang")
        if asked in LANGUAGES and request.cookies.get(COOKIE) != asked:
            remember_locale(response, asked, app.config["SESSION_COOKIE_SECURE"])
        return response
