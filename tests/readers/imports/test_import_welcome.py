"""Readers imported with recorded consent get a newsletter's welcome mail only when the import asks for
it; readers imported without consent get it when they confirm, like any sign-up. Bad input tried: the
welcome option ticked on an import without recorded consent."""

from __future__ import annotations

from sqlalchemy import func, select

from newsletter.readers.models import SubscriberImport, WelcomeMail
from newsletter.sending import welcome
from tests.readers.imports.pages import start, upload
from tests.support.worker import run_jobs

FILE = b"E-Mail;Sprache\nanna@example.org;de\nben@example.org;en\n"


def _turn_on(db, newsletter) -> None:
    data = welcome.WelcomeInput(enabled=True, subject="Willkommen!", subject_en="Welcome!", content="nothing")
    welcome.save_welcome(db.session, newsletter.id, data)
    db.session.commit()


def _import(app, db, editor, daily, **options) -> None:
    response = upload(editor, FILE)
    assert response.status_code == 302
    record = db.session.scalars(select(SubscriberImport)).one()
    response = start(editor, record.id, {0: "email", 1: "locale"}, newsletters=str(daily.id), **options)
    assert response.status_code == 302
    run_jobs(app)
    run_jobs(app)


def _welcomes(relay):
    return {m["To"]: m["Subject"] for m in relay.messages if m["List-Unsubscribe"]}


def test_an_import_with_consent_sends_no_welcome_unless_asked(app, db, editor, lists, relay):
    daily, _weekly = lists
    _turn_on(db, daily)
    _import(app, db, editor, daily, consent="recorded", consent_detail="Messe 2026")
    assert relay.messages == []
    assert db.session.scalar(select(func.count()).select_from(WelcomeMail)) == 0


def test_an_import_with_consent_that_asks_for_it_welcomes_each_reader_in_their_language(
    app, db, editor, lists, relay
):
    daily, _weekly = lists
    _turn_on(db, daily)
    _import(app, db, editor, daily, consent="recorded", consent_detail="Messe 2026", send_welcome="y")
    assert _welcomes(relay) == {"anna@example.org": "Willkommen!", "ben@example.org": "Welcome!"}
    run_jobs(app)  # a second run of everything sends nothing more
    assert len(relay.messages) == 2


def test_the_welcome_option_does_nothing_without_recorded_consent(app, db, editor, lists, relay):
    daily, _weekly = lists
    _turn_on(db, daily)
    _import(app, db, editor, daily, consent="none", send_welcome="y")
    assert _welcomes(relay) == {}  # only the opt-in mails: the welcome follows their confirmation
    assert db.session.scalars(select(SubscriberImport)).one().send_welcome is False
