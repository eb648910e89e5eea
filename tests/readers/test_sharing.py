"""Readers' share links (newsletter/readers/sharing.py): every reader has one, in the preference center and
at the foot of every issue they receive; a new reader who signs up through it and confirms is counted for
the sharer, once. Everything through the real pages, the mail queue and the SMTP fixture.

Bad inputs and abuse tried: a sign-up through the link that is never confirmed, the same new reader through
the link twice, the sharer signing up with their own link, forged, altered and foreign codes (another
installation's key), a code from before a key rotation (honoured while the old key is listed as a fallback,
refused after), a flood of sign-ups through one link (the sign-up limits still hold), an altered code
and a number as ``ref`` through the JSON API."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from newsletter.readers import links, sharing
from newsletter.readers.models import Referral, Subscriber, SubscriberStatus
from tests.readers.web import sign_up
from tests.sending.factories import issue_with_readers, start_send
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs

_HIDDEN = r'name="{}" type="hidden" value="([^"]*)"'


def _preferences(client, app, reader_id: int) -> str:
    page = client.get(links.preferences_url("", app.config["SECRET_KEY"], reader_id))
    assert page.status_code == 200
    return text_of(page)


def _share_path_in_preferences(client, app, reader_id: int) -> str:
    html = _preferences(client, app, reader_id)
    return re.search(r'value="http://localhost(/share/[\w-]+\?via=preferences)"', html).group(1)


def _sign_up_through(client, path: str, email: str, ip: str = "198.51.100.7"):
    """What a visitor does with a share link: opens it, fills in the form it shows, sends it."""
    page = text_of(client.get(path))
    fields = {name: (m.group(1) if (m := re.search(_HIDDEN.format(name), page)) else "")
              for name in ("form_token", "source", "ref")}  # fmt: skip
    token = fields.pop("form_token")
    return sign_up(client, email, token=token, ip=ip, **{k: v for k, v in fields.items() if v})


def _confirm(client, relay, email: str) -> None:
    run_jobs(client.application)
    [mail] = [m for m in relay.messages if m["To"] == email]
    text = mail.get_body(preferencelist=("plain",)).get_content()
    path = re.search(r"http://localhost(/confirm/\S+)", text).group(1)
    done = client.post(path, data={"csrf_token": csrf_token(client, path)})
    assert "Sie sind angemeldet" in text_of(done)


def _referrals(db) -> list[tuple[str, str, bool]]:
    db.session.expire_all()
    rows = db.session.execute(select(Referral)).scalars().all()
    email = lambda i: db.session.get(Subscriber, i).email  # noqa: E731
    return sorted((email(r.sharer_id), email(r.referred_id), r.confirmed_at is not None) for r in rows)


@pytest.fixture
def sharer(db, newsletters):
    from tests.readers.factories import make_reader

    reader = make_reader(db, "teilerin@example.org", newsletters=[newsletters["ki-news"]])
    db.session.commit()
    return reader


def test_the_preference_center_shows_the_link_without_the_readers_id_or_address(app, client, db, sharer):
    html = _preferences(client, app, sharer.id)
    assert "Weiterempfehlen" in html and "Über Ihren Link ist noch niemand dazugekommen." in html
    path = _share_path_in_preferences(client, app, sharer.id)
    code = path.split("/")[2].split("?")[0]
    assert len(code) == 22 and str(sharer.id) not in code and "teilerin" not in path
    # The same link every time the page is opened (it can be passed on and still count).
    assert _share_path_in_preferences(client, app, sharer.id) == path


def test_a_signup_through_the_link_counts_once_the_new_reader_confirms(app, client, db, sharer, relay):
    path = _share_path_in_preferences(client, app, sharer.id)
    page = client.get(path)
    assert "Ein*e Leser*in von uns empfiehlt Ihnen diesen Newsletter." in text_of(page)
    assert "teilerin" not in text_of(page)  # nothing about the sharer is shown
    assert _sign_up_through(client, path, "freundin@example.org").status_code == 200
    # Double opt-in: nothing counts before the new reader confirms.
    assert _referrals(db) == [("teilerin@example.org", "freundin@example.org", False)]
    assert "Über Ihren Link ist noch niemand dazugekommen." in _preferences(client, app, sharer.id)
    assert db.session.scalar(select(Subscriber.source).where(Subscriber.email == "freundin@example.org")) == (
        "share:preferences"
    )
    _confirm(client, relay, "freundin@example.org")
    assert _referrals(db) == [("teilerin@example.org", "freundin@example.org", True)]
    assert "1 Leser*in kam über Sie zu uns. Danke!" in _preferences(client, app, sharer.id)
    # The same reader through the link again (now active): still one.
    assert _sign_up_through(client, path, "freundin@example.org").status_code == 200
    run_jobs(app)
    assert _referrals(db) == [("teilerin@example.org", "freundin@example.org", True)]
    assert "1 Leser*in kam über Sie zu uns." in _preferences(client, app, sharer.id)


def test_a_pending_reader_signing_up_again_is_not_counted_twice(app, client, db, sharer, relay):
    path = _share_path_in_preferences(client, app, sharer.id)
    _sign_up_through(client, path, "zweimal@example.org")
    _sign_up_through(client, path, "zweimal@example.org", ip="198.51.100.8")
    run_jobs(app)
    assert _referrals(db) == [("teilerin@example.org", "zweimal@example.org", False)]



def test_the_json_api_takes_the_share_code_the_newsrooms_own_form_carried(app, client, db, sharer, relay):
    code = sharing.share_code(app.config["SECRET_KEY"], sharer.id)

    def api(email: str, ref, ip: str):
        body = {"email": email, "language": "de", "source": "share:issue", "ref": ref}
        return client.post("/api/subscribe", json=body, environ_base={"REMOTE_ADDR": ip})

    assert api("nachbar@example.org", code, "198.51.100.21").status_code == 202
    assert _referrals(db) == [("teilerin@example.org", "nachbar@example.org", False)]
    _confirm(client, relay, "nachbar@example.org")
    assert _referrals(db) == [("teilerin@example.org", "nachbar@example.org", True)]
    # An altered code gets the same answer and counts nothing; a code that is not text is refused.
    altered = code[:-2] + ("AA" if code[-2:] != "AA" else "BB")
    assert api("kollegin@example.org", altered, "198.51.100.22").status_code == 202
    refused = api("kollege@example.org", 4711, "198.51.100.23")
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_ref"
    assert _referrals(db) == [("teilerin@example.org", "nachbar@example.org", True)]
    assert db.session.scalar(select(func.count()).where(Subscriber.email == "kollege@example.org")) == 0

def test_the_sharer_signing_up_through_their_own_link_counts_nothing(app, client, db, sharer, relay):
    path = _share_path_in_preferences(client, app, sharer.id)
    assert _sign_up_through(client, path, "Teilerin@Example.org").status_code == 200
    assert _referrals(db) == []
    assert sharing.record_referral(db.session, sharer.id, sharer.id, "issue") is False  # the rule itself


@pytest.mark.parametrize(
    "forge",
    [
        lambda code, key: code[:-2] + ("AA" if not code.endswith("AA") else "BB"),  # altered
        lambda code, key: "A" * 22,  # made up
        lambda code, key: sharing.share_code("someone else's installation key " * 2, 1),  # foreign key
        lambda code, key: code + "A",  # broken
    ],
)
def test_forged_codes_show_the_plain_form_and_count_nothing(app, client, db, sharer, relay, forge):
    code = sharing.share_code(app.config["SECRET_KEY"], sharer.id)
    forged = forge(code, app.config["SECRET_KEY"])
    page = text_of(client.get(f"/share/{forged}?via=issue"))
    assert 'name="email"' in page and 'name="ref" type="hidden"' not in page and "empfiehlt" not in page
    # Even posted by hand, a forged code is an ordinary sign-up.
    token = re.search(_HIDDEN.format("form_token"), page).group(1)
    answer = sign_up(client, "neu@example.org", token=token, ref=forged, source="share:issue")
    assert answer.status_code == 200
    _confirm(client, relay, "neu@example.org")
    assert _referrals(db) == []


def test_codes_survive_a_key_rotation_while_the_old_key_is_a_fallback(app, client, db, sharer, relay):
    old_key = app.config["SECRET_KEY"]
    path = f"/share/{sharing.share_code(old_key, sharer.id)}?via=issue"
    app.config["SECRET_KEY"] = "a new key for this installation, long enough"
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    try:
        _sign_up_through(client, path, "nach-wechsel@example.org")
        assert _referrals(db) == [("teilerin@example.org", "nach-wechsel@example.org", False)]
        app.config["SECRET_KEY_FALLBACKS"] = []  # the old key retired: its codes are void
        assert 'name="ref" type="hidden"' not in text_of(client.get(path))
    finally:
        app.config["SECRET_KEY"] = old_key
        app.config.pop("SECRET_KEY_FALLBACKS", None)


def test_the_signup_limits_hold_for_share_links(app, client, db, sharer, relay):
    path = _share_path_in_preferences(client, app, sharer.id)
    answers = [_sign_up_through(client, path, f"flut{i}@example.org", ip="198.51.100.30").status_code
               for i in range(12)]  # fmt: skip
    assert answers[:10] == [200] * 10 and answers[10:] == [429, 429]
    assert len(_referrals(db)) == 10  # nothing stored for the refused ones
    flood = select(func.count()).select_from(Subscriber).where(Subscriber.email.like("flut%"))
    assert db.session.scalar(flood) == 10


def test_each_issue_carries_the_readers_own_link_and_a_signup_through_it_counts(app, client, db, relay):
    issue = issue_with_readers(db, ("leserin@example.org", "leser@example.org"))
    start_send(db, issue)
    run_jobs(app)
    messages = {m["To"]: m for m in relay.wait_for(2)}
    found = {}
    for address, message in messages.items():
        text = message.get_body(preferencelist=("plain",)).get_content()
        html = message.get_body(preferencelist=("html",)).get_content()
        assert "Kennen Sie jemanden, dem dieser Newsletter gefällt?" in text
        path = re.search(r"http://localhost(/share/[\w-]+\?via=issue)", text).group(1)
        assert f'href="http://localhost{path}"' in html
        found[address] = path
    assert found["leserin@example.org"] != found["leser@example.org"]  # each reader's own
    reader = db.session.scalar(select(Subscriber).where(Subscriber.email == "leserin@example.org"))
    code = found["leserin@example.org"].split("/")[2].split("?")[0]
    assert code == sharing.share_code(app.config["SECRET_KEY"], reader.id)  # the preference center's too

    # A friend the issue was forwarded to follows the link.
    _sign_up_through(client, found["leserin@example.org"], "weitergeleitet@example.org")
    _confirm(client, relay, "weitergeleitet@example.org")
    assert _referrals(db) == [("leserin@example.org", "weitergeleitet@example.org", True)]
    db.session.expire_all()
    friend = db.session.scalar(select(Subscriber.id).where(Subscriber.email == "weitergeleitet@example.org"))
    assert db.session.get(Referral, friend).via == "issue"
    assert (
        db.session.scalar(select(Subscriber.status).where(Subscriber.email == "weitergeleitet@example.org"))
        is SubscriberStatus.ACTIVE
    )


def test_the_issue_statistics_show_signups_per_share_source_on_the_page_and_in_csv(
    app, client, db, sharer, relay
):
    from newsletter.platform.access import StaffRole
    from tests.staff.factories import sign_in, staff_user

    code = sharing.share_code(app.config["SECRET_KEY"], sharer.id)
    _sign_up_through(client, f"/share/{code}?via=issue", "eins@example.org", ip="198.51.100.41")
    _sign_up_through(client, f"/share/{code}?via=issue", "zwei@example.org", ip="198.51.100.42")
    _sign_up_through(client, f"/share/{code}?via=preferences", "drei@example.org", ip="198.51.100.43")
    _sign_up_through(client, f"/share/{code}?via=<script>", "vier@example.org", ip="198.51.100.44")
    _confirm(client, relay, "eins@example.org")
    url = "/staff/stats/issues?period=last_30_days"
    assert client.get(url).headers["Location"].startswith("/staff/login")  # signed out
    sign_in(client, staff_user(db, "editor-shares@example.org", role=StaffRole.EDITOR))
    page = text_of(client.get(url))
    assert "Anmeldungen über Empfehlungslinks von Leser*innen" in page
    rows = re.findall(
        r'<tr><th scope="row">([^<]+)</th><td class="num">(\d+)</td><td class="num">(\d+)</td></tr>', page
    )
    assert ("Empfehlungszeile in einer Ausgabe", "2", "1") in rows
    assert ("Einstellungsseite", "1", "0") in rows and ("anderer Link", "1", "0") in rows
    assert "<script>" not in page.split("Anmeldungen über Empfehlungslinks")[1]
    answer = client.get("/staff/stats/export/shares.csv?period=last_30_days")
    assert answer.status_code == 200
    lines = answer.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert lines == ["share_source,signups,confirmed", "issue,2,1", "link,1,0", "preferences,1,0"]


def test_erasing_either_reader_erases_the_referral(app, client, db, sharer, relay):
    from newsletter.readers import subscribers

    code = sharing.share_code(app.config["SECRET_KEY"], sharer.id)
    _sign_up_through(client, f"/share/{code}?via=issue", "freund@example.org")
    _sign_up_through(client, f"/share/{code}?via=issue", "freundin@example.org", ip="198.51.100.9")
    assert len(_referrals(db)) == 2
    friend = db.session.scalar(select(Subscriber).where(Subscriber.email == "freund@example.org"))
    subscribers.erase(db.session, friend, via="test")
    db.session.commit()
    assert _referrals(db) == [("teilerin@example.org", "freundin@example.org", False)]
    subscribers.erase(db.session, db.session.get(Subscriber, sharer.id), via="test")
    db.session.commit()
    assert _referrals(db) == []  # nothing left that names who shared with whom
