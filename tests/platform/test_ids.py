"""Ids from outside are whole numbers from 1 to 2**31 - 1, PostgreSQL's ``integer`` (newsletter/platform/
ids.py): anything else in a URL's path leads nowhere (404), on SQLite and on PostgreSQL, and in a query
string it is ignored.

Every route of the app with an ``int`` part is walked (a new route is walked without being listed here),
signed in as an admin, with every method it takes. Bad inputs tried in the path: 10**25, 2**63, 2**63 - 1,
2**31 (one past PostgreSQL's ``integer``: "integer out of range" before), 0, -1, an Arabic-Indic digit
(٣), 5,000 nines; in range but no such row: 2**31 - 1. In query strings: ``after`` and ``newsletter`` of
10**25, 2**63, 2**31, ², -1, 0, 5,000 nines and text; donor filter days 0001-01-01 and 9999-12-31;
statistics periods at the end of the calendar; an article id of 10**25 or 2**31 posted to an issue; and
all of these at once on every page without path arguments."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

from newsletter.editorial.models import IssueArticle
from newsletter.platform.access import StaffRole
from newsletter.platform.ids import MAX_ID, IdConverter, id_from
from tests.editorial.factories import make_issue
from tests.readers.factories import make_newsletter, make_reader
from tests.staff.factories import make_api_token, sign_in
from tests.support.web import csrf_token, text_of

OUT_OF_RANGE = [str(10**25), str(2**63), str(2**63 - 1), str(2**31), "0", "-1", "\u0663", "9" * 5000]
IN_RANGE_MISSING = [str(MAX_ID)]
_PART = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_SAMPLES = {"name": "1700000000000000000-" + "0" * 32 + ".eml"}


def _int_rules(app):
    return [rule for rule in app.url_map.iter_rules()
            if any(isinstance(c, IntegerConverter) for c in rule._converters.values())]  # fmt: skip


def _path(rule, bad_arg: str, value: str) -> str:
    def fill(match: re.Match) -> str:
        converter, name = match.group(1), match.group(2)
        if name == bad_arg:
            return value
        return "1" if converter == "int" else _SAMPLES.get(name, "x")

    return _PART.sub(fill, rule.rule)


def _methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


@pytest.fixture
def admin(client, db):
    sign_in(client, StaffRole.ADMIN)
    return client


def test_every_route_with_an_int_part_uses_the_bounded_converter(app):
    rules = _int_rules(app)
    assert len(rules) >= 30
    assert all(isinstance(c, IdConverter) for r in rules for c in r._converters.values()
               if isinstance(c, IntegerConverter)), "an int route without the bounds"  # fmt: skip


def test_out_of_range_ids_lead_nowhere_on_every_route(app, admin):
    token = csrf_token(admin, "/staff/")
    failures = []
    for rule in _int_rules(app):
        ints = [name for converter, name in _PART.findall(rule.rule) if converter == "int"]
        for name in ints:
            for value in OUT_OF_RANGE:
                path = _path(rule, name, value)
                for method in _methods(rule):
                    data = {"csrf_token": token} if method == "POST" else None
                    response = admin.open(path, method=method, data=data)
                    if response.status_code != 404 or "Seite nicht gefunden" not in text_of(response):
                        failures.append(f"{method} {path[:80]}: {response.status_code}")
    assert not failures, failures[:20]


def test_ids_in_range_without_a_row_are_not_found_and_never_a_server_error(app, admin):
    token = csrf_token(admin, "/staff/")
    failures = []
    for rule in _int_rules(app):
        ints = [name for converter, name in _PART.findall(rule.rule) if converter == "int"]
        for name in ints:
            for value in IN_RANGE_MISSING:
                path = _path(rule, name, value)
                for method in _methods(rule):
                    data = {"csrf_token": token} if method == "POST" else None
                    response = admin.open(path, method=method, data=data)
                    # A GET finds nothing; a POST may be refused for its form first (400), never a 500.
                    if response.status_code >= 500 or (method == "GET" and response.status_code != 404):
                        failures.append(f"{method} {path}: {response.status_code}")
    assert not failures, failures[:20]


NOT_IDS = ["", "abc", "0", "-1", "\u00b2", "\u0663", str(2**31), str(2**63), str(10**25), "9" * 99]


@pytest.mark.parametrize("value", NOT_IDS)
def test_id_from_takes_only_ids(value):
    assert id_from(value) is None


def test_id_from_takes_the_whole_range():
    assert [id_from(v) for v in ("1", "42", str(MAX_ID))] == [1, 42, MAX_ID]


BAD_ARGUMENTS = [str(10**25), str(2**63), str(2**31), "\u00b2", "-1", "0", "9" * 5000, "abc"]


@pytest.mark.parametrize("value", BAD_ARGUMENTS)
def test_a_bad_after_or_newsletter_argument_is_ignored(admin, db, value):
    make_reader(db, "leserin@example.org")
    db.session.commit()
    for url in (f"/staff/subscribers?after={value}", f"/staff/subscribers?newsletter={value}",
                f"/staff/subscribers/export.csv?after={value}&newsletter={value}"):  # fmt: skip
        response = admin.get(url)
        assert response.status_code == 200, url
        assert "leserin@example.org" in text_of(response), url  # the first page, unfiltered
    assert admin.get(f"/staff/donations/donors?after={value}").status_code == 200


def test_days_at_the_ends_of_the_calendar_do_not_break_the_filters(admin, db):
    for query in ("from=0001-01-01&to=9999-12-31", "from=9999-12-31", "to=9999-12-31", "from=1-1-1"):
        assert admin.get(f"/staff/donations/donors?{query}").status_code == 200, query
    bearer = {"Authorization": f"Bearer {make_api_token(db, 'api@example.org', StaffRole.ADMIN)}"}
    for query in ("period=custom&from=9999-12-30&to=9999-12-31", "from=0001-01-01&to=0001-01-02"):
        for url in ("/staff/stats/", "/staff/stats/issues", "/api/staff/stats"):
            response = admin.get(f"{url}?{query}", headers=bearer)
            assert response.status_code in (200, 400), (url, query, response.status_code)


def test_an_article_id_out_of_range_posted_to_an_issue_is_refused(admin, db):
    issue = make_issue(db, newsletters=[make_newsletter(db)])
    url = f"/staff/issues/{issue.id}/articles"
    for value in (str(10**25), str(2**63), str(2**31), "0", "-1"):
        response = admin.post(url, data={"csrf_token": csrf_token(admin, f"/staff/issues/{issue.id}"),
                                         "article_id": value})  # fmt: skip
        assert response.status_code == 400, value
    assert db.session.scalar(select(func.count()).select_from(IssueArticle)) == 0


HOSTILE_QUERY = {
    "after": str(10**25), "newsletter": str(2**63), "id": "9" * 5000, "page": "-1", "from": "9999-12-31",
    "to": "0001-01-01", "period": "custom", "status": "\u0663", "min": "1e400", "max": "-0", "q": "%" * 500,
    "session_id": "x" * 500, "ref": "\u00b2", "variant": "../../x", "lang": "xx", "next": "//evil.example",
}  # fmt: skip


def test_every_page_without_path_arguments_survives_hostile_query_strings(app, admin):
    query = urlencode(HOSTILE_QUERY)
    failures = []
    for rule in app.url_map.iter_rules():
        if rule.arguments or "GET" not in rule.methods:
            continue
        response = admin.get(f"{rule.rule}?{query}")
        if response.status_code >= 500:
            failures.append(f"{rule.rule}: {response.status_code}")
    assert not failures, failures
