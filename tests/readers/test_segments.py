"""Segments and the reader list's filter terms: each term keeps a reader inside and one outside (the
supporter state computed from real donation rows, the days read in the newsroom's time zone), the list
counts what matches and exports it as CSV, and the segment forms check roles, CSRF and their input.
Bad input tried: an unknown supporter state, language or ask frequency, dates that are not dates, a range
that ends before it starts, a segment or newsletter that does not exist, forms without their token, an
editor on the admin-only export, a signed-out visitor; a segment an issue uses cannot be deleted."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from newsletter.platform.access import StaffRole
from newsletter.readers import segments
from newsletter.readers.models import AskFrequency, Segment
from tests.editorial.factories import make_issue
from tests.payments.factories import make_supporter
from tests.readers.factories import make_newsletter, make_reader
from tests.staff.factories import sign_in, sign_out
from tests.support.web import csrf_token, text_of

DAY = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
STATES = ("never", "one_time", "monthly", "lapsed", "failing")
DONORS = {"once", "monthly", "lapsed", "failing"}


@pytest.fixture
def people(db):
    """Readers who differ from the first ("never") in one term each, on the newsletter "ki-news"; one more
    on another newsletter."""
    ki = make_newsletter(db, "ki-news", "KI-News täglich", is_default=True)
    other = make_newsletter(db, "woche", "Wochenrückblick")
    plain = {"created_at": DAY, "confirmed_at": DAY, "locale": "de", "source": "web"}
    special = {
        "never": {},
        "once": {}, "monthly": {}, "lapsed": {}, "failing": {},
        "english": {"locale": "en"},
        "messe": {"source": "messe"},
        "early": {
            "created_at": datetime(2025, 1, 5, 9, tzinfo=UTC),
            "confirmed_at": datetime(2025, 1, 6, tzinfo=UTC),
        },
        "late": {"confirmed_at": datetime(2026, 4, 20, 8, tzinfo=UTC)},
        # 23:30 UTC on the 9th is 00:30 on the 10th in Berlin: signed up on the 10th.
        "midnight": {"created_at": datetime(2026, 3, 9, 23, 30, tzinfo=UTC)},
        "less": {"ask_frequency": AskFrequency.LESS},
    }  # fmt: skip
    for name, fields in special.items():
        make_reader(db, f"{name}@example.org", newsletters=[ki], **{**plain, **fields})
    make_reader(db, "elsewhere@example.org", newsletters=[other], **plain)
    now = datetime.now(UTC)
    for name, state in (
        ("once", "one_time"),
        ("monthly", "monthly"),
        ("lapsed", "lapsed"),
        ("failing", "failing"),
    ):
        make_supporter(db, f"{name}@example.org", state, now)
    # A donor with another case in the address is the same person.
    make_supporter(db, "Never-Again@Example.org", "never", now)
    db.session.commit()
    return {"ki": ki, "other": other, "names": set(special) | {"elsewhere"}}


def _listed(client, query: str) -> tuple[set[str], int | None]:
    response = client.get(f"/staff/subscribers?{query}")
    assert response.status_code == 200, text_of(response)
    page = text_of(response)
    names = set(re.findall(r">([a-z-]+)@example\.org</a>", page))
    total = re.search(r'data-total="(\d+)"', page)
    return names, int(total.group(1)) if total else None


@pytest.mark.parametrize(
    ("query", "inside"),
    [
        ("supporter_state=one_time", {"once"}),
        ("supporter_state=monthly", {"monthly"}),
        ("supporter_state=lapsed", {"lapsed"}),
        ("supporter_state=failing", {"failing"}),
        ("locale=en", {"english"}),
        ("source=messe", {"messe"}),
        ("ask_frequency=less", {"less"}),
        ("signed_up_to=2026-03-09", {"early"}),
        ("confirmed_from=2026-04-01", {"late"}),
        ("confirmed_to=2025-12-31", {"early"}),
        ("supporter_state=never&locale=en", {"english"}),
    ],
)
def test_each_term_keeps_its_readers_and_only_them(client, db, people, query, inside):
    sign_in(client, StaffRole.EDITOR)
    names, total = _listed(client, query)
    assert names == inside and total == len(inside)


@pytest.mark.parametrize(
    ("query", "outside"),
    [
        ("supporter_state=never", DONORS),
        ("locale=de", {"english"}),
        ("signed_up_from=2026-03-10", {"early"}),  # "midnight" signed up on the 10th, Berlin time
    ],
)
def test_terms_that_keep_most_readers_leave_out_the_others(client, db, people, query, outside):
    sign_in(client, StaffRole.EDITOR)
    names, total = _listed(client, query)
    assert names == people["names"] - outside and total == len(names)


def _segment_form(client, url: str, **fields):
    data = {"csrf_token": csrf_token(client, url), "name": "Förderer auf Englisch", **fields}
    return client.post(url, data=data)


def test_an_editor_saves_a_segment_and_the_list_shows_counts_and_exports_it(client, db, people):
    sign_in(client, StaffRole.EDITOR)
    terms = {"supporter_state": "never", "signed_up_from": "2026-03-10", "confirmed_to": "2026-03-31"}
    response = _segment_form(client, "/staff/segments/new", newsletter_id=str(people["ki"].id), **terms)
    assert response.status_code == 302
    segment = db.session.scalars(select(Segment)).one()
    expected = people["names"] - DONORS - {"early", "late", "elsewhere"}
    assert "ist gespeichert: 5 aktive Leser*innen" in text_of(client.get(response.headers["Location"]))
    assert f'data-segment-count="{segment.id}">5<' in text_of(client.get("/staff/segments"))
    names, total = _listed(client, f"segment={segment.id}")
    assert names == expected and total == 5
    # More terms on top of the segment narrow it further.
    assert _listed(client, f"segment={segment.id}&ask_frequency=less") == ({"less"}, 1)
    assert client.get(f"/staff/subscribers/export.csv?segment={segment.id}").status_code == 403  # admins only
    sign_out(client)
    sign_in(client, StaffRole.ADMIN)
    export = client.get(f"/staff/subscribers/export.csv?segment={segment.id}")
    rows = list(csv.DictReader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert {r["email"].split("@")[0] for r in rows} == expected


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"supporter_state": "rich"}, "einen Unterstützungsstand rich gibt es nicht"),
        ({"locale": "fr"}, "eine Sprache fr gibt es nicht"),
        ({"ask_frequency": "always"}, "eine Häufigkeit der Spendenbitte always gibt es nicht"),
        ({"signed_up_from": "gestern"}, "Angemeldet ab ist kein Datum (JJJJ-MM-TT): gestern"),
        ({"confirmed_to": "2026-02-30"}, "Bestätigt bis ist kein Datum"),
        (
            {"signed_up_from": "2026-03-10", "signed_up_to": "2026-03-01"},
            "ein Zeitraum endet, bevor er beginnt",
        ),
        ({"newsletter_id": "999999"}, "wählen Sie den Newsletter, zu dem das Segment gehört"),
        ({"name": "   "}, "ein Segment braucht einen Namen"),
    ],
)
def test_bad_segment_input_is_refused_with_its_reason_and_changes_nothing(client, db, people, fields, reason):
    sign_in(client, StaffRole.EDITOR)
    data = {"newsletter_id": str(people["ki"].id), **fields}
    response = _segment_form(client, "/staff/segments/new", **data)
    assert response.status_code == 422
    assert reason in text_of(response)
    assert db.session.scalar(select(func.count()).select_from(Segment)) == 0
    # Changing a saved segment with the same input leaves it as it was.
    saved = segments.save_segment(db.session, None, newsletter_id=people["ki"].id, name="Alle",
                                  terms=segments.SegmentTerms(locale="en"))  # fmt: skip
    db.session.commit()
    url = f"/staff/segments/{saved.id}"
    assert _segment_form(client, url, **data).status_code == 422
    db.session.expire_all()
    kept = db.session.get(Segment, saved.id)
    assert (kept.name, kept.locale, kept.supporter_state, kept.signed_up_from) == ("Alle", "en", None, None)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("supporter_state=rich", "einen Unterstützungsstand rich gibt es nicht"),
        ("signed_up_from=31.12.2025", "Angemeldet ab ist kein Datum"),
        ("segment=424242", "Dieses Segment gibt es nicht."),
        ("segment=abc", "Dieses Segment gibt es nicht."),
    ],
)
def test_the_reader_list_says_which_filter_term_it_cannot_read(client, db, people, query, reason):
    sign_in(client, StaffRole.ADMIN)
    response = client.get(f"/staff/subscribers?{query}")
    assert response.status_code == 422
    page = text_of(response)
    assert "Der Filter wurde nicht angewandt" in page and reason in page
    assert "never@example.org" not in page  # no readers the editor did not ask for
    assert client.get(f"/staff/subscribers/export.csv?{query}").status_code == 422


def test_segment_pages_need_a_staff_sign_in_and_their_forms_a_csrf_token(client, db, people):
    saved = segments.save_segment(db.session, None, newsletter_id=people["ki"].id, name="Englisch",
                                  terms=segments.SegmentTerms(locale="en"))  # fmt: skip
    db.session.commit()
    for path in ("/staff/segments", "/staff/segments/new", f"/staff/segments/{saved.id}"):
        response = client.get(path)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    response = client.post("/staff/segments/new", data={"name": "x", "newsletter_id": str(people["ki"].id)})
    assert response.status_code == 400  # no token (and nobody signed in): refused before anything
    sign_in(client, StaffRole.EDITOR)
    assert "Englisch" in text_of(client.get("/staff/segments"))
    no_token = client.post(
        "/staff/segments/new", data={"name": "Ohne", "newsletter_id": str(people["ki"].id)}
    )
    assert no_token.status_code == 400
    assert client.post(f"/staff/segments/{saved.id}", data={"name": "Umbenannt"}).status_code == 400
    assert client.post(f"/staff/segments/{saved.id}/delete", data={}).status_code == 400
    db.session.expire_all()
    assert [s.name for s in db.session.scalars(select(Segment))] == ["Englisch"]


def test_a_segment_an_issue_uses_is_not_deleted(client, db, people):
    used = segments.save_segment(db.session, None, newsletter_id=people["ki"].id, name="Benutzt",
                                 terms=segments.SegmentTerms(locale="en"))  # fmt: skip
    free = segments.save_segment(db.session, None, newsletter_id=people["ki"].id, name="Frei",
                                 terms=segments.SegmentTerms())  # fmt: skip
    make_issue(db, newsletters=[people["ki"]], segment=used)
    sign_in(client, StaffRole.EDITOR)
    url = f"/staff/segments/{used.id}"
    response = client.post(f"{url}/delete", data={"csrf_token": csrf_token(client, url)})
    assert "eine Ausgabe geht oder ging an dieses Segment" in text_of(
        client.get(response.headers["Location"])
    )
    url = f"/staff/segments/{free.id}"
    response = client.post(f"{url}/delete", data={"csrf_token": csrf_token(client, url)})
    assert "Das Segment „Frei“ ist gelöscht." in text_of(client.get(response.headers["Location"]))
    db.session.expire_all()
    assert [s.name for s in db.session.scalars(select(Segment))] == ["Benutzt"]
