"""What the readers' staff pages say: a service's refusal in the editor's words, and readable, translated
names for the states, fields and history lines they show."""

from __future__ import annotations

import re
from collections.abc import Callable

from babel.numbers import format_decimal
from flask_babel import get_locale, get_translations
from flask_babel import gettext as _

from newsletter.readers import errors
from newsletter.readers.imports.settle_sql import DUPLICATE, EXISTING, SUPPRESSED


def _messages() -> dict[str, str]:
    """Service messages (English, for logs and tests) mapped to what the editor reads."""
    return {
        "the newsletter needs a name": _("The newsletter needs a name."),
        "the short name may hold only lower-case letters, digits and hyphens": _(
            "The short name may hold only lower-case letters, digits and hyphens."
        ),
        "another newsletter already has this short name": _(
            "Another newsletter already has this short name."
        ),
        "a reader with this address already exists": _("A reader with this address already exists."),
        "unknown language": _("Unknown language."),
        "say where and when the reader gave consent": _("Say where and when the reader gave consent."),
        "the file is empty": _("The file is empty."),
        "this is not a CSV file: it holds binary data": _("This is not a CSV file: it holds binary data."),
        "this is not a CSV file: it does not read as text": _(
            "This is not a CSV file: it does not read as text."
        ),
        "no e-mail address in the first lines of the file: is this the right file?": _(
            "There is no e-mail address in the first lines of the file. Is this the right file?"
        ),
        "the first line of the file is too long: is this a CSV file?": _(
            "The first line of the file is too long. Is this a CSV file?"
        ),
        "this import has already started": _("This import has already started."),
        "the column map names a column or a field that does not exist": _(
            "The column map names a column or a field that does not exist."
        ),
        "choose exactly one column that holds the e-mail addresses": _(
            "Choose exactly one column that holds the e-mail addresses."
        ),
        "each field can come from one column only": _("Each field can come from one column only."),
        "say where and when the readers gave their consent": _(
            "Say where and when the readers gave their consent."
        ),
    }


def explain(exc: errors.SubscriberError) -> str:
    text = str(exc)
    if isinstance(exc, errors.Suppressed):
        return _(
            "This address is on the suppression list (it left, bounced, complained or was erased). "
            "Only the reader can subscribe it again, from their own mailbox."
        )
    if isinstance(exc, errors.InvalidEmail):
        return _("This is not a valid e-mail address: %(reason)s", reason=email_problem(text))
    if text.startswith("the column “"):
        return _(
            "The column %(name)s holds no e-mail addresses in the first rows.", name=text[11:].split("”")[0]
        )
    if text.startswith("the file is larger than"):
        return _("The file is too large.")
    return _messages().get(text, text)


# email-validator explains in English and in detail; the editor gets one of a few named problems. The
# first pattern that matches the explanation wins, so the narrow ones come first.
_EMAIL_PROBLEMS = (
    (re.compile(r"must have an @-sign|instead of a regular at-sign", re.I), "no_at"),
    (re.compile(r"something before the @-sign", re.I), "no_local"),
    (re.compile(r"something after the @-sign", re.I), "no_domain"),
    (re.compile(r"too long|longer than", re.I), "too_long"),
    (re.compile(r"character|not valid ASCII|line break|NUL", re.I), "characters"),
    (re.compile(r"after the @-sign|domain|IDNA", re.I), "bad_domain"),
)


def email_problem(explanation: str, _: Callable[..., str] = _) -> str:
    """What is wrong with an address, in a few translated words, from the validator's explanation."""
    kind = next((kind for pattern, kind in _EMAIL_PROBLEMS if pattern.search(explanation)), None)
    return {
        "no_at": _("the @ sign is missing"),
        "no_local": _("nothing before the @ sign"),
        "no_domain": _("the domain is missing"),
        "too_long": _("the address is too long"),
        "characters": _("characters an address may not hold"),
        "bad_domain": _("invalid domain"),
    }.get(kind, _("invalid address"))


_QUOTED = re.compile(r"“(.*)”")
_NUMBERS = re.compile(r"\d[\d,]*")


def import_report_wording() -> tuple[Callable[[str], str], Callable[[str | None], str]]:
    """How the import report words a row's outcome (``refused``, ``existing``, ``read``) and reason, in the
    request's language. The import stores its reasons in English (logs, counts by prefix). The report is
    written after the view returned, outside the request, so the language is taken now and the words
    are looked up in it as the rows come."""
    translations, locale = get_translations(), get_locale()

    def _(text: str, **values) -> str:
        worded = translations.gettext(text)
        return worded % values if values else worded

    def outcome_text(outcome: str) -> str:
        return {"refused": _("refused"), "existing": _("already a reader"), "read": _("imported")}.get(
            outcome, outcome
        )

    def reason_text(reason: str | None) -> str:
        if not reason:
            return ""
        fixed = {
            SUPPRESSED: _("on the suppression list (left, bounced, complained or erased)"),
            EXISTING: _("already a reader; left unchanged"),
            DUPLICATE: _("duplicate of an earlier line"),
            "no e-mail address in this row": _("no e-mail address in this row"),
            "the source contains a line break or a control character": _(
                "the source contains a line break or a control character"
            ),
            "the line is not valid UTF-8 (saved in another encoding?)": _(
                "the line is not valid UTF-8 (saved in another encoding?)"
            ),
        }
        if reason in fixed:
            return fixed[reason]
        quoted = _QUOTED.search(reason)
        numbers = [format_decimal(int(n.replace(",", "")), locale=locale) for n in _NUMBERS.findall(reason)]
        if reason.startswith("invalid e-mail address: "):
            problem = email_problem(reason.partition(": ")[2], _)
            return _("invalid e-mail address: %(problem)s", problem=problem)
        if reason.startswith("unknown language") and quoted:
            return _("unknown language “%(value)s” (de or en)", value=quoted.group(1))
        if reason.startswith("unknown newsletter") and quoted:
            return _("unknown newsletter “%(name)s”", name=quoted.group(1))
        if reason.startswith("the line cannot be read as CSV"):
            return _("the line cannot be read as CSV (a stray quote?)")
        if reason.startswith("the line is longer than") and numbers:
            return _("the line is longer than %(limit)s bytes and was skipped", limit=numbers[0])
        if reason.startswith("the line starts a row longer than") and len(numbers) >= 3:
            return _(
                "the line starts a row longer than %(limit)s bytes (a quote that is never closed?): lines "
                "%(first)s to %(last)s were skipped",
                limit=numbers[0], first=numbers[1], last=numbers[2],
            )  # fmt: skip
        return reason

    return outcome_text, reason_text


def labels() -> dict:
    """Readable, translated names for the states and fields shown on these pages."""
    def status_label(value: str) -> str:
        return {
            "pending": _("awaiting confirmation"),
            "active": _("active"),
            "unsubscribed": _("unsubscribed"),
            "bounced": _("bounced"),
            "complained": _("complained"),
        }.get(value, value)

    def import_state_label(value: str) -> str:
        return {
            "uploaded": _("columns to map"),
            "queued": _("waiting for a worker"),
            "running": _("running"),
            "done": _("done"),
            "failed": _("failed"),
        }.get(value, value)

    def field_label(value: str) -> str:
        return {
            "email": _("e-mail address"),
            "locale": _("language"),
            "newsletters": _("newsletters"),
            "source": _("source"),
        }.get(value, value)

    def event_label(kind: str) -> str:
        return {
            "added_by_staff": _("added by staff"),
            "changed_by_staff": _("changed by staff"),
            "imported": _("imported"),
            "confirmation_sent": _("confirmation mail sent"),
            "confirmed": _("confirmed"),
            "unsubscribed": _("unsubscribed"),
            "bounced": _("hard bounce, address suppressed"),
            "complained": _("spam complaint, address suppressed"),
            "soft_bounce": _("soft bounce (temporary delivery failure)"),
            "subscribed": _("signed up"),
            "preferences_changed": _("changed their settings"),
            "preferences_link_sent": _("settings link sent"),
            "left_newsletter": _("left one newsletter"),
            "mail_held_back": _("mail held back"),
        }.get(kind, kind)

    def event_detail(detail: dict) -> str:
        """A history line's details ("via: relay") as "how: mail server"; values Beitrag wrote itself
        (ways, yes and no, the ask frequency) in words, the rest (sources, addresses) as stored."""
        keys = {
            "via": _("how"), "staff": _("by"), "consent": _("consent recorded"), "source": _("source"),
            "newsletters": _("newsletters"), "newsletter_id": _("newsletter no."), "mail": _("mail"),
            "issue_id": _("from issue no."), "reason": _("reason"), "detail": _("report"),
            "locale": _("language"), "paused_until": _("paused until"), "ask_frequency": _("donation asks"),
        }  # fmt: skip
        words = {
            "one-click": _("one click in the mail program"), "confirmation link": _("confirmation link"),
            "mailbox": _("bounce mailbox"), "api": "API", "preference center": _("settings page"),
            "mail": _("e-mail to the unsubscribe address"),
            "relay": _("mail server"), "ses": _("mail service report"), "staff": _("staff"),
            "web": _("website"), "daily limit reached": _("daily limit reached"),
            "confirm": _("confirmation mail"), "preferences": _("settings link"),
            "normal": _("as for every reader"), "less": _("less often"), "never": _("never"),
            True: _("yes"), False: _("no"), None: "–",
        }  # fmt: skip

        def shown(key: str, value) -> str:
            if isinstance(value, list):
                return ", ".join(str(v) for v in value) or "–"
            if key in ("source", "staff", "detail", "newsletter_id", "issue_id", "paused_until"):
                return str(value) if value is not None else "–"
            if key == "locale":
                return {"de": "Deutsch", "en": "English"}.get(value, str(value))
            return str(words.get(value, value)) if isinstance(value, str | bool | None) else str(value)

        return "; ".join(f"{keys.get(key, key)}: {shown(key, value)}" for key, value in detail.items())

    def consent_label(value: str) -> str:
        return {
            "double_opt_in": _("confirmed by the reader (double opt-in)"),
            "recorded": _("recorded elsewhere, as staff stated"),
        }.get(value, value)

    return {
        "consent_label": consent_label,
        "status_label": status_label,
        "import_state_label": import_state_label,
        "field_label": field_label,
        "event_label": event_label,
        "event_detail": event_detail,
    }
