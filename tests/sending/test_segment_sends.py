"""An issue sent to a segment: the editor picks the segment on the issue form (only one of the issue's own
newsletters' segments), the confirmation page names it and counts its readers, and the ledger holds exactly
those readers and says which segment they were sent as. Every supporter state gets its own ask, chosen in
the statement that writes the ledger, shown in the preview and counted per ask on the issue's page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from db import utcnow
from newsletter.editorial.models import Issue, IssueState
from newsletter.readers import segments
from newsletter.readers.models import AskFrequency, Subscriber
from newsletter.sending import ledger
from newsletter.sending.models import Delivery
from payments.models import Donation, Donor
from payments.supporters import donors, states
from tests.editorial.factories import make_article, make_issue
from tests.payments.factories import make_donation, make_donor, make_payment, make_supporter
from tests.readers.factories import make_newsletter, make_reader
from tests.sending.factories import start_send
from tests.staff.factories import sign_in, staff_user
from tests.support.web import csrf_token, text_of

STATES = ("never", "one_time", "monthly", "lapsed", "failing")


@pytest.fixture
def newsroom(db):
    """Two newsletters; on "ki-news" one reader per supporter state in German and the same in English, a
    German reader who asked never to be asked, and one who chose "less often"; on "woche" one reader."""
    ki = make_newsletter(db, "ki-news", "KI-News täglich", is_default=True)
    weekly = make_newsletter(db, "woche", "Wochenrückblick")
    now = datetime.now(UTC)
    for state in STATES:
        for locale in ("de", "en"):
            email = f"{state.replace('_', '-')}-{locale}@example.org"
            make_reader(db, email, newsletters=[ki], locale=locale)
            make_supporter(db, email, state, now)
    make_reader(db, "quiet@example.org", newsletters=[ki], ask_frequency=AskFrequency.NEVER)
    make_reader(db, "thanks-quiet@example.org", newsletters=[ki], ask_frequency=AskFrequency.NEVER)
    make_supporter(db, "thanks-quiet@example.org", "monthly", now)  # thanked even so: it is not an ask
    make_reader(db, "woche@example.org", newsletters=[weekly])
    article = make_article(db, "Sprachmodelle erklärt", teaser="Was steckt dahinter?", body="Text")
    issue = make_issue(db, articles=[article], newsletters=[ki, weekly])
    never_en = segments.SegmentTerms(locale="en", supporter_state="never")
    english = segments.save_segment(db.session, None, newsletter_id=ki.id, name="Englisch, nie gespendet",
                                    terms=never_en)  # fmt: skip
    donors_en = segments.save_segment(db.session, None, newsletter_id=ki.id, name="Förderer",
                                      terms=segments.SegmentTerms(supporter_state="monthly"))  # fmt: skip
    on_weekly = segments.save_segment(db.session, None, newsletter_id=weekly.id, name="Woche alle",
                                      terms=segments.SegmentTerms())  # fmt: skip
    db.session.commit()
    return {"ki": ki, "weekly": weekly, "issue": issue, "english": english, "monthly": donors_en,
            "on_weekly": on_weekly}  # fmt: skip


def _issue_form(client, url, **fields):
    data = {
        "csrf_token": csrf_token(client, url), "subject": "KI-News am Dienstag", "layout": "digest",
        "sender_name": "KI-Kompass", "sender_address": "redaktion@ki-kompass.example", **fields,
    }  # fmt: skip
    return client.post(url, data=data)


def _ledger(db, issue_id: int) -> dict[str, tuple[str, int | None]]:
    rows = db.session.execute(
        select(Subscriber.email, Delivery.variant, Delivery.segment_id)
        .join(Delivery, Delivery.subscriber_id == Subscriber.id)
        .where(Delivery.issue_id == issue_id)
    )
    return {email: (variant, segment_id) for email, variant, segment_id in rows}


def test_an_issue_sent_to_a_segment_reaches_exactly_its_readers_and_says_so(client, db, newsroom):
    sign_in(client, staff_user(db, "eda@example.org"))
    issue, segment = newsroom["issue"], newsroom["english"]
    url = f"/staff/issues/{issue.id}"
    ids = [str(newsroom["ki"].id), str(newsroom["weekly"].id)]
    assert _issue_form(client, url, newsletters=ids, segment=str(segment.id)).status_code == 302
    page = text_of(client.get(url))
    assert "Diese Ausgabe jetzt an die Leser*innen des Segments „Englisch, nie gespendet“ senden" in page

    confirm = text_of(client.get(f"{url}/send"))
    assert "Diese Ausgabe geht an 1 Leser*in des Segments „Englisch, nie gespendet“ aus:" in confirm
    assert "Jetzt an 1 Leser*in senden" in confirm
    assert (
        client.post(f"{url}/send", data={"csrf_token": csrf_token(client, f"{url}/send")}).status_code == 302
    )
    assert _ledger(db, issue.id) == {"never-en@example.org": ("never_gave", segment.id)}

    page = text_of(client.get(url))
    assert "An das Segment „Englisch, nie gespendet“ gesendet." in page
    assert 'data-variant-count="never_gave">1<' in page
    # Written for a segment: not in the public archive unless an editor puts it there (the box is unticked).
    db.session.expire_all()
    assert db.session.get(Issue, issue.id).public_archive is False
    assert re.search(r'<input id="public_archive" name="public_archive" type="checkbox" value="y">', page)
    # The segment stays as long as an issue names it.
    page_url = f"/staff/segments/{segment.id}"
    response = client.post(f"{page_url}/delete", data={"csrf_token": csrf_token(client, page_url)})
    assert "eine Ausgabe geht oder ging an dieses Segment" in text_of(
        client.get(response.headers["Location"])
    )


@pytest.mark.parametrize(
    ("choice", "reason"),
    [
        ("on_weekly", "das Segment „Woche alle“ gehört zu einem Newsletter, an den die Ausgabe nicht geht"),
        ("999999", "das gewählte Segment gibt es nicht"),
        ("drei", "das gewählte Segment gibt es nicht"),
    ],
)
def test_a_segment_of_another_newsletter_or_none_at_all_is_refused(client, db, newsroom, choice, reason):
    sign_in(client, staff_user(db, "eda@example.org"))
    issue = newsroom["issue"]
    url = f"/staff/issues/{issue.id}"
    chosen = str(newsroom[choice].id) if choice in newsroom else choice
    response = _issue_form(client, url, newsletters=[str(newsroom["ki"].id)], segment=chosen,
                           subject="Geändert")  # fmt: skip
    assert response.status_code == 400 and reason in text_of(response)
    db.session.expire_all()
    kept = db.session.get(Issue, issue.id)
    assert kept.segment_id is None and kept.subject == "Die KI-Woche"
    assert [n.slug for n in kept.newsletters] == ["ki-news", "woche"]


def test_every_supporter_state_gets_its_ask_when_the_ledger_is_written(client, db, newsroom):
    issue = newsroom["issue"]
    issue.id % 3 or pytest.skip("an issue whose number is a multiple of 3 asks 'less often' readers too")
    make_reader(db, "less@example.org", newsletters=[newsroom["ki"]], ask_frequency=AskFrequency.LESS)
    db.session.commit()
    start_send(db, db.session.get(Issue, issue.id))
    got = {email: variant for email, (variant, _segment) in _ledger(db, issue.id).items()}
    expected = {"never": "never_gave", "one_time": "one_time", "monthly": "monthly", "lapsed": "lapsed",
                "failing": "failing"}  # fmt: skip
    for state, variant in expected.items():
        for locale in ("de", "en"):
            assert got.pop(f"{state.replace('_', '-')}-{locale}@example.org") == variant, state
    assert got == {"quiet@example.org": "no_ask", "thanks-quiet@example.org": "monthly",
                   "less@example.org": "no_ask", "woche@example.org": "never_gave"}  # fmt: skip
    assert ledger.count_by_variant(db.session, issue.id) == {
        "never_gave": 3, "one_time": 2, "monthly": 3, "lapsed": 2, "failing": 2, "no_ask": 2,
    }  # fmt: skip
    sign_in(client, staff_user(db, "eda@example.org"))
    page = text_of(client.get(f"/staff/issues/{issue.id}"))
    counted = dict(re.findall(r'data-variant-count="([a-z_]+)">(\d+)<', page))
    assert counted == {"never_gave": "3", "one_time": "2", "monthly": "3", "lapsed": "2", "failing": "2",
                       "no_ask": "2"}  # fmt: skip
    assert "Unterstützung eingeschlafen" in page and "Hat noch nie gegeben" in page


def test_a_segment_send_counts_its_asks_and_a_monthly_segment_is_thanked(db, newsroom):
    issue = newsroom["issue"]
    issue.segment = newsroom["monthly"]
    db.session.commit()
    prepared = start_send(db, issue)
    assert prepared.added == 3
    assert _ledger(db, issue.id) == {
        "monthly-de@example.org": ("monthly", newsroom["monthly"].id),
        "monthly-en@example.org": ("monthly", newsroom["monthly"].id),
        "thanks-quiet@example.org": ("monthly", newsroom["monthly"].id),
    }
    assert db.session.get(Issue, issue.id).state is IssueState.SENDING


def test_every_variant_is_previewable_and_says_its_own_ask(client, db, newsroom):
    sign_in(client, staff_user(db, "eda@example.org"))
    base = f"/staff/issues/{newsroom['issue'].id}/preview"
    asks = {
        "never_gave": "Unser Journalismus bleibt frei",
        "one_time": "Danke für Ihre Spende",
        "monthly": "Danke, dass Sie uns regelmäßig unterstützen",
        "lapsed": "Sie haben uns schon einmal unterstützt",
        "failing": "Ihr letzter Beitrag hat nicht geklappt",
    }
    for variant, words in asks.items():
        page = text_of(client.get(f"{base}?variant={variant}"))
        text_part = page.split('class="mail-text">', 1)[1]
        assert words in text_part, variant
        assert all(other not in text_part for key, other in asks.items() if other != words), variant
    assert "Sie haben uns schon einmal unterstützt" not in text_of(client.get(f"{base}?variant=no_ask"))


def test_the_states_in_sql_agree_with_the_states_the_reader_sees(db, newsroom):
    """The SELECT the ledger and the filters join is the preference page's rule, address by address."""
    found = dict(db.session.execute(donors.states_by_address()).all())
    for person in db.session.scalars(select(Donor)):
        gifts = list(db.session.scalars(select(Donation).where(Donation.donor_id == person.id)))
        assert found[person.email.lower()] == states.state_of_donations(gifts), person.email


def test_a_monthly_supporter_who_stopped_is_lapsed_not_thanked_for_a_gift(db):
    """The issue's rule: lapsed is "gave before, nothing in the last 12 months, or a monthly donation that
    ended". A monthly donation that ended last month, paid until then, is lapsed (in Python and in SQL);
    the same history with a one-time gift since is one-time."""
    now = utcnow()
    stopped = make_donor(db, "stopped@example.org")
    gift = make_donation(db, stopped, "monthly", 500, now - timedelta(days=70), "ended")
    for days in (70, 40):
        make_payment(db, gift, 500, now - timedelta(days=days))
    back = make_donor(db, "back@example.org")
    old = make_donation(db, back, "monthly", 500, now - timedelta(days=70), "ended")
    make_payment(db, old, 500, now - timedelta(days=70))
    make_payment(db, make_donation(db, back, "one_time", 2000, now - timedelta(days=5), "paid"), 2000,
                 now - timedelta(days=5))  # fmt: skip
    db.session.commit()
    found = dict(db.session.execute(donors.states_by_address()).all())
    for person, expected in ((stopped, "lapsed"), (back, "one_time")):
        gifts = list(db.session.scalars(select(Donation).where(Donation.donor_id == person.id)))
        assert states.state_of_donations(gifts) == expected, person.email
        assert found[person.email] == expected, person.email
