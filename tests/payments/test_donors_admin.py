"""Donors for admins: the list finds donors by the beginning of their address (any case), filters by
supporter state, total given and first gift, and pages by id; the donor page shows every gift and payment
with refunds, disputes and failures, the state, the total (net of refunds and lost disputes) and the
reader record. Bad input tried: editors and signed-out visitors, an unknown donor, amounts and dates that
are not amounts or dates, a LIKE wildcard in the search, a forged page cursor."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from db import utcnow
from newsletter.platform.access import StaffRole
from payments.models import Donation, Donor
from payments.supporters import donors, states
from tests.editorial.factories import make_issue
from tests.payments.factories import make_donation, make_donor, make_payment
from tests.readers.factories import make_reader
from tests.staff.factories import sign_in, staff_user
from tests.support.web import text_of


@pytest.fixture
def known(db):
    """Eight donors: every supporter state and the edge cases around them; totals in cents."""
    now = utcnow()
    reader = make_reader(db, "mara@example.org")
    people = {}
    # Monthly, running: 3 x 5.00 paid.
    mara = people["mara"] = make_donor(db, "Mara@Example.org", subscriber_id=reader.id)
    start = now - timedelta(days=70)
    gift = make_donation(db, mara, "monthly", 500, start, "active", subscription_status="active")
    for months in (2, 1, 0):
        make_payment(db, gift, 500, now - timedelta(days=30 * months + 5))
    # One-time this year: 20.00 with 5.00 refunded, and 10.00 lost in a dispute: 15.00 given.
    jonas = people["jonas"] = make_donor(db, "jonas@example.org")
    first = make_donation(db, jonas, "one_time", 2000, now - timedelta(days=100), "paid")
    make_payment(db, first, 2000, now - timedelta(days=100), refunded=500)
    second = make_donation(db, jonas, "one_time", 1000, now - timedelta(days=20), "paid")
    make_payment(db, second, 1000, now - timedelta(days=20), dispute="lost")
    # Monthly, failing: paid once, the next payment failed.
    lea = people["lea"] = make_donor(db, "lea@example.org")
    start = now - timedelta(days=40)
    gift = make_donation(db, lea, "monthly", 1000, start, "active", subscription_status="past_due")
    make_payment(db, gift, 1000, now - timedelta(days=40))
    make_payment(db, gift, 1000, now - timedelta(days=10), status="failed", failures=2)
    # Lapsed: 50.00 two years ago.
    old = people["old"] = make_donor(db, "old_friend@example.org")
    make_payment(db, make_donation(db, old, "one_time", 5000, now - timedelta(days=730), "paid"), 5000,
              now - timedelta(days=730))  # fmt: skip
    # Never: the only gift failed (SEPA).
    none = people["none"] = make_donor(db, "oldest@example.org")
    make_payment(db, make_donation(db, none, "one_time", 300, now - timedelta(days=5), "failed"), 300,
              now - timedelta(days=5), status="failed")  # fmt: skip
    # Refunded in full last month: gave nothing that counts, state "never" (as on the preference page).
    back = people["back"] = make_donor(db, "back@example.org")
    make_payment(db, make_donation(db, back, "one_time", 2500, now - timedelta(days=30), "refunded"), 2500,
              now - timedelta(days=30), status="refunded", refunded=2500)  # fmt: skip
    # Monthly, its Stripe status still "active", but the latest payment failed: failing.
    kai = people["kai"] = make_donor(db, "kai@example.org")
    start = now - timedelta(days=40)
    gift = make_donation(db, kai, "monthly", 1000, start, "active", subscription_status="active")
    make_payment(db, gift, 1000, now - timedelta(days=40))
    make_payment(db, gift, 1000, now - timedelta(days=10), status="failed", failures=1)
    # Monthly with a failure that a later payment made good: monthly.
    ben = people["ben"] = make_donor(db, "ben@example.org")
    start = now - timedelta(days=45)
    gift = make_donation(db, ben, "monthly", 700, start, "active", subscription_status="active")
    make_payment(db, gift, 700, now - timedelta(days=45))
    make_payment(db, gift, 700, now - timedelta(days=15), status="failed", failures=1)
    make_payment(db, gift, 700, now - timedelta(days=12))
    db.session.commit()
    return {name: person.id for name, person in people.items()}


EXPECTED = {
    "mara": ("monthly", 1500),
    "jonas": ("one_time", 1500),
    "lea": ("failing", 1000),
    "old": ("lapsed", 5000),
    "none": ("never", 0),
    "back": ("never", 0),
    "kai": ("failing", 1000),
    "ben": ("monthly", 1400),
}


def _visible(page: str) -> str:
    """The page's text as a reader sees it: no tags, attributes, styles or scripts."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _admin(client, db):
    sign_in(client, staff_user(db, "chefin@example.org", role=StaffRole.ADMIN))  # checks the 302


def test_only_admins_see_donors(app, client, db, known):
    """Signed out: to the login; an editor: 403; an admin: the pages."""
    for path in ("/staff/donations/donors", f"/staff/donations/donors/{known['mara']}"):
        response = client.get(path)
        assert response.status_code == 302 and "/staff/login" in response.headers["Location"]
    sign_in(client, StaffRole.EDITOR)
    for path in ("/staff/donations/donors", f"/staff/donations/donors/{known['mara']}"):
        assert client.get(path).status_code == 403
        assert "Mara@Example.org" not in text_of(client.get(path))
    client.post("/staff/logout", data={})
    client.delete_cookie("beitrag_session")
    _admin(client, db)
    assert client.get("/staff/donations/donors").status_code == 200
    assert client.get(f"/staff/donations/donors/{known['mara']}").status_code == 200
    assert client.get("/staff/donations/donors/999999").status_code == 404


def test_state_in_sql_agrees_with_the_preference_page(db, known):
    page = donors.list_donors(db.session, donors.DonorFilter(), limit=100)
    by_id = {row.id: row for row in page.rows}
    for name, donor_id in known.items():
        gifts = list(db.session.get(Donor, donor_id).donations)
        assert by_id[donor_id].state == states.state_of_donations(gifts), name
        assert (by_id[donor_id].state, by_id[donor_id].total_cents) == EXPECTED[name], name


def _emails(client, query: str) -> list[str]:
    page = text_of(client.get(f"/staff/donations/donors?{query}"))
    everyone = ("Mara@Example.org", "jonas@example.org", "lea@example.org", "old_friend@example.org",
                "oldest@example.org", "back@example.org", "kai@example.org", "ben@example.org")  # fmt: skip
    return sorted(e for e in everyone if f">{e}<" in page)


def test_list_search_and_filters(client, db, known):
    """Filters as an admin uses them; nonsense in a field is ignored rather than failing the page."""
    _admin(client, db)
    page = text_of(client.get("/staff/donations/donors"))
    assert "gibt monatlich" in page or "gives monthly" in page
    assert "15,00" in page and "50,00" in page  # totals shown in euros
    assert _emails(client, "q=MARA") == ["Mara@Example.org"]  # prefix, any case
    assert _emails(client, "q=old") == ["old_friend@example.org", "oldest@example.org"]
    assert _emails(client, "q=old_") == ["old_friend@example.org"]  # "_" is a letter here, not a wildcard
    assert _emails(client, "q=%25") == []
    assert _emails(client, "state=monthly") == ["Mara@Example.org", "ben@example.org"]
    assert _emails(client, "state=failing") == ["kai@example.org", "lea@example.org"]
    assert _emails(client, "state=one_time") == ["jonas@example.org"]
    assert _emails(client, "state=lapsed") == ["old_friend@example.org"]
    assert _emails(client, "state=never") == ["back@example.org", "oldest@example.org"]
    assert _emails(client, "min=15&max=15,00") == ["Mara@Example.org", "jonas@example.org"]
    assert _emails(client, "min=20") == ["old_friend@example.org"]
    assert _emails(client, "max=0") == ["back@example.org", "oldest@example.org"]
    first_from = (utcnow() - timedelta(days=120)).date().isoformat()
    first_to = (utcnow() - timedelta(days=50)).date().isoformat()
    assert _emails(client, f"from={first_from}&to={first_to}") == ["Mara@Example.org", "jonas@example.org"]
    assert _emails(client, f"to={first_to}&state=lapsed") == ["old_friend@example.org"]
    everyone = _emails(client, "")
    assert _emails(client, "min=abc&from=gestern&state=rich&after=xyz") == everyone


def test_pages_continue_by_id_without_gaps_or_repeats(client, db, known):
    seen, after = [], None
    while True:
        page = donors.list_donors(db.session, donors.DonorFilter(), after=after, limit=2)
        seen += [row.id for row in page.rows]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == sorted(known.values(), reverse=True)
    # The same through the page's "next" link.
    _admin(client, db)
    first = text_of(client.get("/staff/donations/donors?state=never"))
    assert 'rel="next"' not in first  # two donors fit one page
    second = text_of(client.get(f"/staff/donations/donors?after={known['lea']}"))
    assert ">Mara@Example.org<" in second and ">back@example.org<" not in second


def test_donor_page_shows_gifts_payments_state_total_and_reader(client, db, known):
    _admin(client, db)
    page = text_of(client.get(f"/staff/donations/donors/{known['jonas']}"))
    assert "15,00" in page  # 20.00 - 5.00 refunded + 10.00 lost in a dispute (counts 0)
    assert "5,00" in page and "Rückbuchung verloren" in page  # the refund and the lost dispute
    assert "bezahlt" in page  # states in German, not the stored codes
    for code in (">lost<", ">paid<", ">refunded<", " paid ", "one_time"):
        assert code not in page
    assert "kein Leser" in page or "No reader record" in page
    page = text_of(client.get(f"/staff/donations/donors/{known['lea']}"))
    assert "fehlgeschlagen" in page and ("Zahlung scheitert" in page or "payment failing" in page)
    assert ">failed<" not in page
    mara = text_of(client.get(f"/staff/donations/donors/{known['mara']}"))
    reader_id = db.session.get(Donor, known["mara"]).subscriber_id
    assert f"/staff/subscribers/{reader_id}" in mara
    assert mara.count("<tr>") >= 4  # three payments and the header
    assert db.session.query(Donation).count() == 9  # viewing changed nothing


def test_a_rare_filter_searches_window_by_window_and_finds_every_match(db, known):
    """With a window of three donors, "never" (two donors far apart) takes several pages; some say they
    searched without filling a page, and following them finds both, each once."""
    found, after, partial = [], None, 0
    for _ in range(20):
        never = donors.DonorFilter(state="never")
        page = donors.list_donors(db.session, never, after=after, limit=50, window=3)
        found += [row.id for row in page.rows]
        partial += page.searched_to is not None
        if page.next_after is None:
            break
        after = page.next_after
    assert sorted(found) == sorted([known["none"], known["back"]])
    assert partial >= 2
    whole = donors.list_donors(db.session, donors.DonorFilter(state="never"))
    assert [row.id for row in whole.rows] == sorted(found, reverse=True) and whole.next_after is None


def test_the_donations_list_names_states_reasons_and_sources_in_german(client, db):
    """Each stored code (``start_failed``, ``active``, Stripe's ``cancellation_requested``, the link
    ``ask``) is shown in the staff's words; where a gift came from reads as named parts."""
    issue = make_issue(db)
    now = utcnow()
    person = make_donor(db, "rosa@example.org")
    make_donation(db, person, "one_time", 1500, now, "start_failed")
    make_donation(db, person, "one_time", 700, now, "open")
    running = make_donation(db, person, "monthly", 500, now, "active", issue_id=issue.id, source_link="ask",
                            utm_source="website", utm_campaign="herbst")  # fmt: skip
    make_payment(db, running, 500, now)
    make_donation(db, person, "monthly", 900, now - timedelta(days=90), "ended",
                  cancel_reason="cancellation_requested")  # fmt: skip
    db.session.commit()
    _admin(client, db)
    page = text_of(client.get("/staff/donations/"))
    for german in ("Zahlung konnte nicht starten, nichts abgebucht", "zur Zahlung weitergeleitet", "läuft",
                   "beendet (auf Wunsch gekündigt)", "bezahlt",
                   f"Ausgabe {issue.id} · Spendenaufruf · Quelle: website · Kampagne: herbst"):  # fmt: skip
        assert german in page
    shown = _visible(page)  # the option values are codes, as the filter sends them; the words are German
    for code in ("start_failed", "open", "active", "cancellation_requested", "ask", "paid"):
        assert re.search(rf"\b{code}\b", shown) is None, code
    # The state filter offers the same words and still filters by the code.
    assert '<option value="start_failed" >Zahlung konnte nicht starten, nichts abgebucht</option>' in page
    ended_only = text_of(client.get("/staff/donations/?status=ended"))
    assert "auf Wunsch gekündigt" in ended_only and "Spendenaufruf" not in ended_only
    donor_page = text_of(client.get(f"/staff/donations/donors/{person.id}"))
    assert f"Kam über: Ausgabe {issue.id} · Spendenaufruf · Quelle: website" in donor_page
    assert "läuft" in donor_page and "active" not in _visible(donor_page)
    english = text_of(client.get("/staff/donations/?lang=en"))
    assert "checkout could not start, nothing charged" in english and "cancelled on request" in english
