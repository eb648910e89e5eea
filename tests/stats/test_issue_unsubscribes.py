"""Readers who leave from an issue's own mail are counted in that issue's statistics, once each: the
RFC 8058 one-click POST to the List-Unsubscribe URL (no cookies, no form token, as mail providers send
it) for one newsletter, and the button on the unsubscribe page the issue's footer link opens. The issue is
sent through the real send path (ledger, RQ worker, SMTP capture) and the links are read from the
captured mail.

Bad inputs tried: the same one-click POST repeated; a reader who left one newsletter and then leaves
everything from the same issue; a leave from an older issue's mail (counted for that issue, not the
newer one); a link whose issue number was changed (its MAC no longer fits: 400, nothing changes)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from newsletter.platform.access import StaffRole
from newsletter.readers import subscribers
from newsletter.readers.models import SubscriberStatus, Subscription
from newsletter.stats import figures
from newsletter.stats.periods import parse_period
from tests.editorial.factories import make_article, make_issue
from tests.readers.factories import make_newsletter
from tests.sending.factories import issue_with_readers, start_send
from tests.staff.factories import make_api_token
from tests.support.worker import run_jobs

URL = re.compile(r"<(?P<url>https?://[^>]+)>")
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def _send(app, db, relay, issue, count: int) -> dict[str, str]:
    """Send ``issue``; each recipient's one-click URL from their mail's List-Unsubscribe header."""
    start_send(db, issue)
    run_jobs(app)
    relay_messages = relay.wait_for(count)
    urls = {}
    for message in relay_messages[-count:]:
        urls[str(message["To"])] = URL.match(str(message["List-Unsubscribe"]))["url"]
    return urls


def _figures(db) -> dict[str, int]:
    db.session.expire_all()
    period = parse_period("this_month", None, None, zone="Europe/Berlin", now=datetime.now(UTC))
    rows = figures.issue_rows(db.session, period)
    assert rows == figures.issue_rows(db.session, period, from_ledger=True)  # the summaries agree
    return {row["subject"]: row["unsubscribed"] for row in rows}


def _path(url: str) -> str:
    return urlsplit(url).path


def test_one_click_and_page_leaves_count_once_per_reader_in_the_issues_statistics(app, db, relay):
    readers = ("eins@example.org", "alles@example.org", "bleibt@example.org")
    issue = issue_with_readers(db, readers=readers, subject="Die KI-Woche")
    weekly = make_newsletter(db, slug="wochenbrief", name="Der Wochenbrief")
    eins = subscribers.find_subscriber(db.session, "eins@example.org")
    db.session.add(Subscription(subscriber_id=eins.id, newsletter_id=weekly.id))
    db.session.commit()
    urls = _send(app, db, relay, issue, 3)
    assert _figures(db) == {"Die KI-Woche": 0}

    # A mail provider's one-click POST: a fresh client without cookies; eins leaves "ki-news" only.
    provider = app.test_client(use_cookies=False)
    one_click = _path(urls["eins@example.org"])
    assert provider.post(one_click, data=ONE_CLICK).status_code == 200
    # alles opens the footer link (the same signed address) and presses the page's button: everything.
    reader = app.test_client()
    page = _path(urls["alles@example.org"])
    assert reader.get(page).status_code == 200
    assert reader.post(page, data=ONE_CLICK).status_code == 200

    db.session.expire_all()
    assert {s.newsletter.slug for s in subscribers.find_subscriber(db.session, "eins@example.org")
            .subscriptions} == {"wochenbrief"}  # fmt: skip
    alles = subscribers.find_subscriber(db.session, "alles@example.org")
    assert alles.status is SubscriberStatus.UNSUBSCRIBED
    assert _figures(db) == {"Die KI-Woche": 2}

    # Repeated POSTs (providers retry), and eins leaving the rest from the same issue: still 2.
    assert provider.post(one_click, data=ONE_CLICK).status_code == 200
    assert provider.post(page, data=ONE_CLICK).status_code == 200
    eins = subscribers.find_subscriber(db.session, "eins@example.org")
    subscribers.leave_newsletter(db.session, eins, weekly.id, via="one-click", issue_id=issue.id)
    db.session.commit()
    assert subscribers.find_subscriber(db.session, "eins@example.org").status is SubscriberStatus.UNSUBSCRIBED
    assert _figures(db) == {"Die KI-Woche": 2}

    # A link whose issue number was changed is refused and changes nothing.
    token = one_click.rsplit("/", 1)[1]
    payload, mac = token.split(".")
    forged = one_click.replace(token, payload.rsplit("-", 1)[0] + "-999." + mac)
    assert provider.post(forged, data=ONE_CLICK).status_code == 400
    assert _figures(db) == {"Die KI-Woche": 2}

    # The staff API shows the same number.
    api_token = make_api_token(db, "chefin@example.org", StaffRole.EDITOR)
    api = app.test_client().get("/api/staff/stats?period=this_month",
                                headers={"Authorization": f"Bearer {api_token}"})  # fmt: skip
    assert api.status_code == 200
    assert [i["unsubscribed"] for i in api.get_json()["issues"]] == [2]


def test_a_leave_from_an_older_issue_counts_for_that_issue(app, db, relay):
    issue = issue_with_readers(db, readers=("alt@example.org", "neu@example.org"), subject="Erste Ausgabe")
    first_urls = _send(app, db, relay, issue, 2)
    article = make_article(db, "Zweiter Text", teaser="Noch mehr", body="Text")
    second = make_issue(db, articles=[article], newsletters=issue.newsletters, subject="Zweite Ausgabe")
    db.session.commit()
    second_urls = _send(app, db, relay, second, 2)
    provider = app.test_client(use_cookies=False)
    # alt leaves from the first issue's mail, neu from the second's.
    assert provider.post(_path(first_urls["alt@example.org"]), data=ONE_CLICK).status_code == 200
    assert provider.post(_path(second_urls["neu@example.org"]), data=ONE_CLICK).status_code == 200
    assert _figures(db) == {"Erste Ausgabe": 1, "Zweite Ausgabe": 1}
