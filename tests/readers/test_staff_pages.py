"""Staff pages for newsletters and readers: list, search, filters, keyset pages, add, edit, unsubscribe,
erase, export; and who may open which page.
Bad inputs tried: a suppressed address added with "consent recorded", an address already known in
another case, CR/LF in the address, recorded consent without a statement, a second default newsletter,
a clashing or malformed short name, an erase confirmed with the wrong address, formula cells (= + - @
tab CR) in exported fields, a cursor that is not a number, editors on admin routes, signed-out visitors
and missing CSRF tokens."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import func, select

from newsletter.platform.access import StaffRole
from newsletter.readers import addresses, subscribers
from newsletter.readers.models import (
    Newsletter,
    Subscriber,
    SubscriberStatus,
    Suppression,
    SuppressionReason,
)
from tests.readers.factories import make_reader
from tests.staff.factories import sign_in, staff_user
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


def post_form(client, url: str, data: dict, form_url: str | None = None):
    return client.post(url, data={"csrf_token": csrf_token(client, form_url or url), **data})


def test_newsletters_have_exactly_one_default_and_show_counts(db, editor, lists):
    _daily, weekly = lists
    make_reader(db, "leser@example.org", newsletters=[weekly])
    db.session.commit()
    response = post_form(editor, f"/staff/newsletters/{weekly.id}", {
        "name": "Wochenrückblick", "slug": "woche", "description": "Jeden Freitag", "is_public": "y",
        "is_default": "y", "position": "0",
    })  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    assert [n.slug for n in db.session.scalars(select(Newsletter).where(Newsletter.is_default))] == ["woche"]
    # The only default cannot give up the mark.
    post_form(editor, f"/staff/newsletters/{weekly.id}", {"name": "Wochenrückblick", "slug": "woche",
                                                          "position": "0"})  # fmt: skip
    db.session.expire_all()
    assert db.session.get(Newsletter, weekly.id).is_default
    assert not db.session.get(Newsletter, weekly.id).is_public
    page = text_of(editor.get("/staff/newsletters"))
    assert page.index("Wochenrückblick") < page.index("KI-News täglich")  # ordered by position
    assert '<td class="num" data-count="active">1</td>' in page
    for slug, message in [
        ("ki-taeglich", "hat bereits diesen Kurznamen"),
        ("Böse Slug", "nur Kleinbuchstaben"),
    ]:
        response = post_form(editor, "/staff/newsletters/new", {"name": "Neu", "slug": slug, "position": "3"})
        assert response.status_code == 422 and message in text_of(response)
    assert db.session.scalar(select(func.count()).select_from(Newsletter)) == 2


def test_list_pages_by_keyset_and_filters(db, editor, lists):
    _daily, weekly = lists
    for i in range(120):
        make_reader(db, f"leser{i:03d}@example.org", source="messe")
    make_reader(db, "Zora@Example.org", status=SubscriberStatus.PENDING, source="web", newsletters=[weekly])
    db.session.commit()
    first = text_of(editor.get("/staff/subscribers"))
    assert "Zora@example.org" in first.replace("Example", "example") and "leser119@example.org" in first
    assert "leser069@example.org" not in first
    nxt = first.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "offset" not in nxt and "after=" in nxt
    second = text_of(editor.get(nxt))
    assert "leser069@example.org" in second and "leser119@example.org" not in second
    third = text_of(editor.get(second.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&")))
    assert "leser000@example.org" in third and 'rel="next"' not in third
    assert "leser000" not in text_of(editor.get("/staff/subscribers?q=ZORA"))
    assert "Zora" in text_of(editor.get("/staff/subscribers?q=ZORA"))
    assert "leser05" in text_of(editor.get("/staff/subscribers?q=leser05"))
    assert "leser06" not in text_of(editor.get("/staff/subscribers?q=leser05"))
    assert "Niemand passt" in text_of(editor.get("/staff/subscribers?q=%25"))
    pending = text_of(editor.get("/staff/subscribers?status=pending"))
    assert "Zora" in pending and "leser0" not in pending
    by_list = text_of(editor.get(f"/staff/subscribers?newsletter={weekly.id}"))
    assert "Zora" in by_list and "leser0" not in by_list
    by_source = text_of(editor.get("/staff/subscribers?source=web"))
    assert "Zora" in by_source and "leser0" not in by_source
    assert editor.get("/staff/subscribers?after=abc&status=nonsense").status_code == 200


def test_adding_a_reader_with_and_without_recorded_consent(app, db, editor, lists, smtp, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", smtp.url)
    daily, _weekly = lists
    url = "/staff/subscribers/new"
    data = {"email": "Aktiv@Example.org", "locale": "en", "newsletters": str(daily.id), "consent": "recorded"}
    response = post_form(editor, url, {**data, "consent_detail": "Papierformular"})
    assert response.status_code == 302
    active = subscribers.find_subscriber(db.session, "aktiv@example.org")
    assert active.status is SubscriberStatus.ACTIVE and active.locale == "en"
    assert "Papierformular" in active.consent_detail and "editor@example.org" in active.consent_detail
    shown = text_of(editor.get(f"/staff/subscribers/{active.id}"))
    assert "<dd>anderswo dokumentiert, laut Redaktion: Papierformular" in shown
    assert "<dd>recorded" not in shown
    assert "<dd>English</dd>" in shown  # the language by name, not its code
    refused = post_form(editor, url, {**data, "email": "kaputt", "consent_detail": "Papierformular"})
    assert refused.status_code == 422  # the validator's English reason comes as a named problem
    assert "Das ist keine gültige E-Mail-Adresse: @-Zeichen fehlt" in text_of(refused)
    assert "must have" not in text_of(refused)
    response = post_form(editor, url, {"email": "neu@example.org", "locale": "de", "consent": "none"})
    assert response.status_code == 302
    run_jobs(app)
    messages = smtp.wait_for(1)
    assert [m["To"] for m in messages] == ["neu@example.org"]
    assert subscribers.find_subscriber(db.session, "neu@example.org").status is SubscriberStatus.PENDING
    shown = text_of(editor.get(response.headers["Location"]))
    assert "Bestätigungsmail gesendet" in shown and "von der Redaktion hinzugefügt" in shown
    # The history's details in words too, not the stored keys and values.
    assert "von: editor@example.org; Einwilligung dokumentiert: nein" in shown
    assert "consent: False" not in shown and "staff:" not in shown


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "weg@example.org", "consent": "recorded", "consent_detail": "sagt die Redaktion"},
         "Sperrliste"),
        ({"email": "AKTIV@example.org", "consent": "none"}, "existiert bereits"),
        ({"email": "neu@example.org\r\nBcc: opfer@example.org", "consent": "none"}, "keine gültige"),
        ({"email": "neu@example.org", "consent": "recorded", "consent_detail": ""}, "Zustimmung"),
    ],
)  # fmt: skip
def test_bad_additions_change_nothing_and_send_nothing(
    app, db, editor, lists, smtp, monkeypatch, data, message
):
    monkeypatch.setitem(app.config, "SMTP_URL", smtp.url)
    make_reader(db, "aktiv@example.org")
    addresses.suppress(db.session, "weg@example.org", SuppressionReason.ERASED)
    db.session.commit()
    response = post_form(editor, "/staff/subscribers/new", {"locale": "de", **data})
    assert response.status_code == 422
    assert message in text_of(response)
    run_jobs(app)
    assert smtp.messages == []
    assert db.session.scalar(select(func.count()).select_from(Subscriber)) == 1


def test_edit_unsubscribe_and_erase(app, db, client, lists):
    daily, weekly = lists
    sign_in(client, StaffRole.ADMIN)
    reader = make_reader(db, "leser@example.org", newsletters=[daily])
    db.session.commit()
    reader_id = reader.id
    url = f"/staff/subscribers/{reader_id}"
    response = post_form(client, url, {"newsletters": [str(weekly.id)], "locale": "en"})
    assert response.status_code == 302
    db.session.expire_all()
    reader = db.session.get(Subscriber, reader_id)
    assert [s.newsletter_id for s in reader.subscriptions] == [weekly.id] and reader.locale == "en"
    assert "von der Redaktion geändert" in text_of(client.get(url))
    assert post_form(client, f"{url}/unsubscribe", {}, form_url=url).status_code == 302
    db.session.expire_all()
    assert db.session.get(Subscriber, reader_id).status is SubscriberStatus.UNSUBSCRIBED
    assert addresses.is_suppressed(db.session, "leser@example.org")
    response = post_form(client, f"{url}/erase", {"confirm_email": "falsch@example.org"})
    assert response.status_code == 422 and db.session.get(Subscriber, reader_id) is not None
    response = post_form(client, f"{url}/erase", {"confirm_email": "LESER@example.org"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Subscriber, reader_id) is None
    assert db.session.scalars(select(Suppression.reason)).one() is SuppressionReason.ERASED
    assert client.get(url).status_code == 404


def test_export_streams_the_filtered_view_with_formulas_neutralized(db, admin, lists):
    daily, _ = lists
    for i, source in enumerate(["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", "normal"]):
        make_reader(db, f"leser{i}@example.org", source=source, newsletters=[daily])
    make_reader(db, "offen@example.org", status=SubscriberStatus.PENDING)
    db.session.commit()
    response = admin.get("/staff/subscribers/export.csv?status=active")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(text_of(response).lstrip("\ufeff"))))
    assert rows[0][0] == "email" and len(rows) == 8
    sources = {r[0]: r[3] for r in rows[1:]}
    assert "offen@example.org" not in sources
    assert sources["leser0@example.org"] == "'=1+1" and sources["leser1@example.org"] == "'+cmd"
    assert sources["leser2@example.org"] == "'-2" and sources["leser3@example.org"] == "'@SUM(A1)"
    assert sources["leser4@example.org"] == "'\tx" and sources["leser5@example.org"] == "'\rx"
    assert sources["leser6@example.org"] == "normal"
    assert rows[1][4] == "ki-taeglich"


ADMIN_ONLY = ["/staff/subscribers/export.csv", "/staff/subscribers/{id}/erase"]
EDITOR_PAGES = [
    "/staff/newsletters", "/staff/newsletters/new", "/staff/newsletters/{nid}", "/staff/subscribers",
    "/staff/subscribers/new", "/staff/subscribers/{id}", "/staff/imports", "/staff/imports/{iid}",
    "/staff/imports/{iid}/progress.json", "/staff/imports/{iid}/report.csv",
]  # fmt: skip


@pytest.mark.parametrize(("role", "admin_status"), [(StaffRole.EDITOR, 403), (StaffRole.ADMIN, 200)])
def test_roles_on_every_page(app, db, client, lists, role, admin_status):
    from newsletter.readers.imports.files import save_upload

    someone = staff_user(db, "someone@example.org", role=role)
    reader = make_reader(db, "leser@example.org")
    record = save_upload(db.session, io.BytesIO(b"email\na@example.org\n"), "a.csv",
                         app.instance_path + "/imports", staff_user_id=None, max_bytes=10**6)  # fmt: skip
    db.session.commit()
    ids = {"id": reader.id, "nid": lists[0].id, "iid": record.id}
    for url in EDITOR_PAGES + ADMIN_ONLY:
        assert client.get(url.format(**ids)).status_code == 302  # signed out: to the login
    sign_in(client, someone)
    for url in EDITOR_PAGES:
        assert client.get(url.format(**ids)).status_code == 200, url
    for url in ADMIN_ONLY:
        assert client.get(url.format(**ids)).status_code == admin_status, url
    # Erasing is for admins: an editor's POST, even with a valid token and the right address, is refused.
    reader_id = reader.id
    erase_url = f"/staff/subscribers/{reader_id}/erase"
    token = csrf_token(client, f"/staff/subscribers/{reader_id}")
    response = client.post(erase_url, data={"csrf_token": token, "confirm_email": "leser@example.org"})
    assert response.status_code == (403 if role is StaffRole.EDITOR else 302)
    db.session.expire_all()
    if role is StaffRole.ADMIN:
        assert db.session.get(Subscriber, reader_id) is None
        return
    assert db.session.get(Subscriber, reader_id) is not None
    # A POST without the CSRF token changes nothing.
    assert client.post(f"/staff/subscribers/{reader.id}/unsubscribe").status_code == 400
    assert client.post(f"/staff/subscribers/{reader.id}", data={"locale": "en"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(Subscriber, reader.id).status is SubscriberStatus.ACTIVE
    assert db.session.get(Subscriber, reader.id).locale == "de"


def test_newsletters_page_offers_the_embed_snippet(app, client, db, monkeypatch):
    monkeypatch.setitem(app.config, "EMBED_ORIGINS", ("https://ki-kompass.example",))
    sign_in(client, staff_user(db, "eda@example.org"))
    page = text_of(client.get("/staff/newsletters"))
    assert '&lt;iframe src="http://localhost/subscribe?embed=1&amp;utm_campaign=website"' in page
    assert "https://ki-kompass.example" in page
    assert "http://localhost/api/subscribe" in page
