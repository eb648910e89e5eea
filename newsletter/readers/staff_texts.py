"""What the readers' staff pages say: a service's refusal in the editor's words, and readable, translated
names for the states, fields and history lines they show."""

from __future__ import annotations

from flask_babel import gettext as _

from newsletter.readers import errors


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
        return _("This is not a valid e-mail address: %(reason)s", reason=text)
    if text.startswith("the column “"):
        return _(
            "The column %(name)s holds no e-mail addresses in the first rows.", name=text[11:].split("”")[0]
        )
    if text.startswith("the file is larger than"):
        return _("The file is too large.")
    return _messages().get(text, text)


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
        }.get(kind, kind)

    return {
        "status_label": status_label,
        "import_state_label": import_state_label,
        "field_label": field_label,
        "event_label": event_label,
    }
