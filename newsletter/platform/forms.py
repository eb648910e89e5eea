"""What every form shares: the bare CSRF-checked action, multi-checkboxes, WTForms' own messages in the
reader's language, and reading a submitted value that may be absent."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from babel import support
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.i18n import messages_path
from wtforms.widgets import CheckboxInput, ListWidget


def given(values: Mapping[str, Any], name: str) -> Any:
    """The first value of ``name`` in a form, query string or cookie jar (werkzeug's ``MultiDict``), None
    when it is absent. ``values.get(name)`` answers the same, but werkzeug finds an absent key by raising
    and catching an HTTP exception, a cost the sign-up form paid on every request for each field nobody
    fills in (the honeypot, ``?embed=``, ``?lang=``, the language cookie)."""
    return values[name] if name in values else None  # noqa: SIM401 (get is what this avoids)


class ActionForm(FlaskForm):
    """A button that changes something: nothing but the CSRF token (sign out, send a test message)."""


class MultiCheckboxField(SelectMultipleField):
    """A choice of several as a list of checkboxes: each one reached with Tab and ticked with Space,
    unlike a multiple select, which needs Ctrl-click."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


@cache
def _wtforms_catalogue(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _WTFormsMessages:
    """WTForms' own messages ("This field is required.") in the request's language, each catalogue read
    once per process (Flask-WTF reads it again for every request: a cost on the busiest public form)."""

    def gettext(self, string: str) -> str:
        return _wtforms_catalogue(str(get_locale() or "de")).ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalogue(str(get_locale() or "de")).ungettext(singular, plural, n)


wtforms_messages = _WTFormsMessages()


LANGUAGE_CHOICES = [SelectChoice("de", _l("German")), SelectChoice("en", _l("English"))]
