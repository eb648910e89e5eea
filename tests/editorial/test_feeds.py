"""Feed import through the guarded fetch, against real HTTP servers on loopback addresses.
Bad inputs tried: file:, ftp: and javascript: feed URLs, a user:password URL; a loopback feed with the
default settings (by the name localhost: the editor is not told the address it resolves to); redirects
to 127.0.0.1, ::1, [::ffff:127.0.0.1], 10.0.0.1 and 169.254.169.254; a DNS name with one public and one
private answer; a 500 answer; a malformed feed; a huge feed (with and without Content-Length); a slow
feed; feed items with <script>, event handlers, javascript: links and style tricks; the same items
imported twice (updated, not doubled); a partner feed carrying the GUID and link of the newsroom's own
article and the GUID of another feed's item (its own new items; nothing else changes, the archive of a
sent issue neither)."""

from __future__ import annotations

import time

import pytest
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from newsletter.editorial import feeds
from newsletter.editorial.models import Article, Feed
from newsletter.platform.queues import get_queue
from tests.support.feedserver import Route, rss, rss_item
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs


@pytest.fixture
def loopback_allowed(app, monkeypatch):
    monkeypatch.setitem(app.config, "FEED_ALLOWED_LOOPBACK", ("127.0.0.1",))
    monkeypatch.setitem(app.config, "FEED_TIMEOUT", 1.0)
    monkeypatch.setitem(app.config, "FEED_MAX_BYTES", 50_000)


def _add_feed(client, url, interval="60"):
    token = csrf_token(client, "/staff/feeds")
    return client.post("/staff/feeds", data={"csrf_token": token, "url": url, "interval_minutes": interval})


def test_a_feed_becomes_articles_and_a_second_import_updates_them(
    app, client, db, editor, feed_server, loopback_allowed
):
    feed_server.routes["/feed.xml"] = Route(
        body=rss(rss_item("a-1", "Chips aus Europa"), rss_item("a-2", "Agenten im Büro"))
    )
    response = _add_feed(client, feed_server.url("/feed.xml"))
    assert response.status_code == 302
    run_jobs(app)
    titles = sorted(a.title for a in db.session.query(Article))
    assert titles == ["Agenten im Büro", "Chips aus Europa"]
    page = text_of(client.get("/staff/feeds"))
    assert "2 neu, 0 aktualisiert" in page and "KI-Kompass" in page
    # The schedule: the next import waits in RQ's scheduled registry, named after feed and slot.
    registry = ScheduledJobRegistry(queue=get_queue("default"))
    feed = db.session.query(Feed).one()
    [first_id] = registry.get_job_ids()
    slot = int(first_id.rsplit("-", 1)[1])
    assert first_id == f"feed-import-{feed.id}-at-{slot}" and slot % 3600 == 0 and slot > time.time()

    feed_server.routes["/feed.xml"].body = rss(
        rss_item("a-1", "Chips aus Europa: die Zahlen"),
        rss_item("a-2", "Agenten im Büro"),
        rss_item("a-3", "Neu: Open-Source-Modelle"),
    )
    # The scheduled run, made due now as RQ's scheduler would: out of the registry, into the queue.
    job = Job.fetch(first_id, connection=get_queue("default").connection)
    registry.remove(job)
    get_queue("default").enqueue_job(job)
    run_jobs(app)
    db.session.expire_all()
    titles = sorted(a.title for a in db.session.query(Article))
    assert titles == ["Agenten im Büro", "Chips aus Europa: die Zahlen", "Neu: Open-Source-Modelle"]
    # It queued its successor for the following slot; finishing did not touch the successor.
    [next_id] = registry.get_job_ids()
    assert next_id == f"feed-import-{feed.id}-at-{slot + 3600}"
    successor = Job.fetch(next_id, connection=get_queue("default").connection)
    assert successor.get_status() == "scheduled" and successor.kwargs["slot"] == slot + 3600
    assert "1 neu, 2 aktualisiert" in text_of(client.get("/staff/feeds"))


def _feed(db, url: str) -> Feed:
    feed = Feed(url=url)
    db.session.add(feed)
    db.session.commit()
    return feed


def _import(feed: Feed) -> str:
    from newsletter.editorial import tasks as editorial_tasks

    return editorial_tasks.import_feed(feed.id)


def test_an_item_under_a_new_guid_is_found_by_its_link_within_its_own_feed(
    app, db, feed_server, loopback_allowed
):
    from tests.editorial.factories import make_article

    link = "https://ki-kompass.example/artikel/x"
    own = make_article(db, "Eigener Text der Redaktion", canonical_url=link)  # the same link, not a feed's
    feed_server.routes["/f"] = Route(body=rss(rss_item("urn:x", "Alter Titel", link=link)))
    feed = _feed(db, feed_server.url("/f"))
    assert _import(feed) == "1 new, 0 updated"
    feed_server.routes["/f"].body = rss(rss_item("urn:x-neu", "Neuer Titel", link=link))
    assert _import(feed) == "0 new, 1 updated"
    db.session.expire_all()
    assert sorted(a.title for a in db.session.query(Article)) == ["Eigener Text der Redaktion", "Neuer Titel"]
    assert db.session.get(Article, own.id).feed_id is None


def test_a_partner_feed_cannot_rewrite_the_newsrooms_articles_or_another_feeds_items(
    app, client, db, feed_server, loopback_allowed
):
    # The attack: a partner's feed carries the GUID and link of the newsroom's own article (already in a
    # sent issue) and the GUID of an item of the newsroom's feed, with new titles and bodies.
    from newsletter.sending import ledger
    from tests.editorial.factories import make_article, make_issue
    from tests.readers.factories import make_newsletter

    url = "https://ki-kompass.example/artikel/chips-aus-europa"
    article = make_article(db, "Chips aus Europa", teaser="Die Fabrik in Sachsen.", body="Unser Text.",
                           canonical_url=url)  # fmt: skip
    article.guid = url  # as the newsroom's own site names it in its feed (and as the demo data does)
    db.session.commit()
    issue = make_issue(db, articles=[article], newsletters=[make_newsletter(db, is_default=True)])
    ledger.prepare_send(db.session, issue)
    db.session.commit()
    ledger.finish_if_done(db.session, issue.id)

    feed_server.routes["/own.xml"] = Route(body=rss(rss_item("own-1", "Agenten im Büro", "Was sie können.")))
    own = _feed(db, feed_server.url("/own.xml"))
    assert _import(own) == "1 new, 0 updated"
    feed_server.routes["/partner.xml"] = Route(body=rss(
        rss_item(url, "Gekapert: Chips", "<p>Falsche Zahlen</p>", link=url),
        rss_item("own-1", "Gekapert: Agenten", "Falsch."),
        title="Partner",
    ))  # fmt: skip
    partner = _feed(db, feed_server.url("/partner.xml"))
    assert _import(partner) == "2 new, 0 updated"
    assert _import(partner) == "0 new, 2 updated"  # its own items, found again, and nothing else

    db.session.expire_all()
    newsroom = db.session.get(Article, article.id)
    assert (newsroom.title, newsroom.teaser, newsroom.body) == ("Chips aus Europa", "Die Fabrik in Sachsen.",
                                                                "Unser Text.")  # fmt: skip
    assert newsroom.feed_id is None
    [own_item] = db.session.query(Article).filter(Article.feed_id == own.id).all()
    assert (own_item.title, own_item.teaser) == ("Agenten im Büro", "Was sie können.")
    partners = db.session.query(Article).filter(Article.feed_id == partner.id).order_by(Article.title).all()
    assert [a.title for a in partners] == ["Gekapert: Agenten", "Gekapert: Chips"]
    # The newsroom's feed still knows its item as its own, beside the partner's copy of its GUID.
    assert _import(own) == "0 new, 1 updated"
    page = text_of(client.get(f"/archive/{issue.id}"))
    assert "Chips aus Europa" in page and "Die Fabrik in Sachsen." in page and "Gekapert" not in page


def test_hostile_feed_items_are_cleaned(app, db, feed_server, loopback_allowed):
    from newsletter.editorial import tasks as editorial_tasks

    hostile = (
        '<p onclick="x()">Text</p><script>alert(1)</script><a href="javascript:alert(2)">a</a>'
        '<div style="position:fixed">b</div><img src="https://i.example/x.png" onerror="alert(3)">'
    )
    feed_server.routes["/f"] = Route(body=rss(rss_item("h-1", "<b>Fett</b> und <script>x</script>", hostile)))
    feed = Feed(url=feed_server.url("/f"))
    db.session.add(feed)
    db.session.commit()
    editorial_tasks.import_feed(feed.id)
    article = db.session.query(Article).one()
    assert article.title == "Fett und"
    stored = (article.body + article.teaser).lower()
    for forbidden in ("<script", "onclick", "javascript:", "onerror", "style="):
        assert forbidden not in stored, forbidden
    assert "Text" in article.teaser and "alert" not in article.teaser


def test_loopback_is_refused_with_the_default_settings(app, client, db, editor, feed_server, caplog):
    feed_server.routes["/feed.xml"] = Route(body=rss(rss_item("a-1", "Geheim")))
    # By name: the editor learns that the address is not public, not which internal address the name
    # resolves to; the log keeps that.
    url = feed_server.url("/feed.xml").replace("127.0.0.1", "localhost")
    assert _add_feed(client, url).status_code == 302
    run_jobs(app)
    assert feed_server.requests == []  # never contacted
    assert db.session.query(Article).count() == 0
    page = text_of(client.get("/staff/feeds"))
    assert "diese Adresse ist nicht öffentlich" in page and "localhost" in page
    assert "127.0.0.1" not in page and "::1" not in page
    assert "(host localhost) resolves to" in caplog.text
    assert "127.0.0.1" in caplog.text or "::1" in caplog.text


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://ki-kompass.example/feed",
        "javascript:alert(1)",
        "http://user:pw@ki-kompass.example/feed",
    ],
)
def test_feed_urls_other_than_plain_http_are_refused_in_the_form(client, db, editor, url):
    response = _add_feed(client, url)
    assert response.status_code == 400
    assert db.session.query(Feed).count() == 0


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret",
        "http://[::1]:{port}/secret",
        "http://[::ffff:127.0.0.1]:{port}/secret",
        "http://10.0.0.1/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/x",
    ],
)
def test_redirects_to_internal_addresses_are_refused(app, second_server, feed_server, target):
    # The first hop (127.0.0.2) is allowed for this test only; its redirect target is not.
    second_server.routes["/feed"] = Route(
        status=302, headers={"Location": target.format(port=feed_server.port)}
    )
    feed_server.routes["/secret"] = Route(body=b"internal")
    policy = feeds.FetchPolicy(timeout=1.0, allowed_loopback=frozenset({"127.0.0.2"}))
    with pytest.raises(feeds.FetchRefused, match="diese Adresse ist nicht öffentlich"):
        feeds.fetch(second_server.url("/feed"), policy)
    assert second_server.requests == ["/feed"]
    assert feed_server.requests == []


def test_every_dns_answer_is_checked_not_just_the_first(caplog):
    # A resolver standing in for DNS: the first answer public, the second private. Nothing is contacted.
    with pytest.raises(feeds.FetchRefused, match="this address is not public") as refused:
        feeds.fetch("http://feed.example/rss", resolve=lambda host, port: ["93.184.216.34", "10.1.2.3"])
    assert "10.1.2.3" not in str(refused.value)  # what the editor sees
    assert "(host feed.example) resolves to 10.1.2.3" in caplog.text  # what the log keeps


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.0.0.8",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.1.1",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 (an address to refuse, not one to bind)
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:10.0.0.1",
        "::ffff:127.0.0.1",
        "224.0.0.1",
    ],
)
def test_non_public_addresses_are_refused(address):
    with pytest.raises(feeds.FetchRefused):
        feeds.check_address(address)


def test_public_addresses_pass_and_the_exemption_is_for_listed_loopback_only():
    feeds.check_address("93.184.216.34")
    feeds.check_address("2a00:1450:4001:80b::200e")
    feeds.check_address("127.0.0.1", allowed_loopback={"127.0.0.1"})
    with pytest.raises(feeds.FetchRefused):
        feeds.check_address("10.0.0.1", allowed_loopback={"10.0.0.1"})
    with pytest.raises(feeds.FetchRefused):
        feeds.check_address("127.0.0.2", allowed_loopback={"127.0.0.1"})


@pytest.mark.parametrize(
    ("route", "message"),
    [
        ({"status": 500, "body": b"boom"}, "antwortete 500"),
        ({"body": b"<html><body>Das ist kein Feed <<<"}, "kein lesbarer RSS- oder Atom-Feed"),
        ({"body": b"x" * 60_000}, "größer als 48 KB"),
        ({"body": b"<rss>" + b"x" * 60_000, "chunked": True}, "größer als 48 KB"),
        ({"body": rss(), "delay": 2.5}, "zu lange nicht geantwortet"),
    ],
    ids=["500", "malformed", "huge", "huge-without-length", "slow"],
)
def test_broken_feeds_are_reported_and_import_nothing(
    app, client, db, editor, feed_server, loopback_allowed, route, message
):
    from newsletter.editorial import tasks as editorial_tasks

    feed_server.routes["/f"] = Route(**route)
    feed = Feed(url=feed_server.url("/f"))
    db.session.add(feed)
    db.session.commit()
    outcome = editorial_tasks.import_feed(feed.id)
    assert message in outcome
    db.session.expire_all()
    assert db.session.query(Article).count() == 0
    assert message in db.session.get(Feed, feed.id).last_error
    assert message in text_of(client.get("/staff/feeds"))


def test_schedule_feeds_command_queues_each_active_feed_once(app, db, runner):
    db.session.add_all([Feed(url="https://a.example/feed"), Feed(url="https://b.example/feed", active=False)])
    db.session.commit()
    for _ in range(2):  # twice: still one schedule per feed
        result = runner.invoke(args=["newsletter", "schedule-feeds"])
        assert result.exit_code == 0 and "Scheduled 1 feeds." in result.output
    registry = ScheduledJobRegistry(queue=get_queue("default"))
    [job_id] = registry.get_job_ids()
    assert job_id.startswith("feed-import-1-at-")


def test_feed_slots_are_multiples_of_the_interval_and_strictly_later():
    from newsletter.editorial.tasks import next_feed_slot

    assert next_feed_slot(60, 7200) == 10800  # exactly on a slot: the next one, never the same
    assert next_feed_slot(60, 7201) == 10800
    assert next_feed_slot(15, 7199) == 7200


def test_redirects_to_other_schemes_and_endless_redirects_are_refused(app, second_server):
    second_server.routes["/to-file"] = Route(status=301, headers={"Location": "file:///etc/passwd"})
    second_server.routes["/loop"] = Route(status=302, headers={"Location": "/loop"})
    policy = feeds.FetchPolicy(timeout=2.0, max_redirects=3, allowed_loopback=frozenset({"127.0.0.2"}))
    with pytest.raises(feeds.FetchRefused, match="nur http- und https-Adressen"):
        feeds.fetch(second_server.url("/to-file"), policy)
    with pytest.raises(feeds.FetchRefused, match="mehr als 3-mal umgeleitet"):
        feeds.fetch(second_server.url("/loop"), policy)
    assert second_server.requests.count("/loop") == 4  # the first request and three redirects, then stop
