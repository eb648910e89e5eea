"""Where a gift came from, end to end: the donate link on an article page and in an issue, the donate form,
Stripe Checkout's metadata (the local stand-in), the signed webhook, then the admin statistics (page and
CSV) and the donor page. Bad inputs tried: an editor and a signed-out visitor on the new tables, metadata
that names no issue of ours or carries markup, a webhook whose metadata disagrees with the donation row."""

from __future__ import annotations

import csv
import io
import re
import time

from sqlalchemy import select

from newsletter.platform.access import StaffRole
from payments.models import Donation, DonationKind, DonationStatus, Donor
from tests.editorial.factories import make_article, make_issue
from tests.payments.factories import open_donation
from tests.readers.factories import make_newsletter, make_reader
from tests.staff.factories import sign_in, staff_user
from tests.support import stripe_api as s
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs

_HIDDEN = re.compile(
    r'name="(issue|link|article|utm_source|utm_medium|utm_campaign)" type="hidden" value="([^"]*)"'
)


def _donate_from(client, db, url: str) -> Donation:
    """A reader opens the donate link ``url``, keeps the form's hidden fields and gives 5 €."""
    page = text_of(client.get(url))
    hidden = dict(_HIDDEN.findall(page))
    token = csrf_token(client, url)
    response = client.post(
        "/spenden", data={"csrf_token": token, "kind": "one_time", "preset": "500", **hidden}
    )
    assert response.status_code == 303
    return db.session.scalars(select(Donation).order_by(Donation.id.desc())).first()


def _metadata_sent(stripe_api) -> dict[str, str]:
    """The Checkout Session's metadata as the SDK sent it to the stand-in (the last session made)."""
    call = stripe_api.calls("POST", "/v1/checkout/sessions")[-1]
    return {k[len("metadata[") : -1]: v for k, v in call.params.items() if k.startswith("metadata[")}


def _paid_with(client, donation: Donation, metadata: dict[str, str]) -> None:
    """Stripe reports the session paid; its metadata is what Checkout was given."""
    session = {**s.completed_session(donation), "metadata": metadata}
    assert s.post_event(client, s.event("checkout.session.completed", session)).status_code == 200


def _admin(client, db):
    sign_in(client, staff_user(db, "admin-attribution@example.org", role=StaffRole.ADMIN))


def _csv(client, name: str) -> list[dict]:
    response = client.get(f"/staff/stats/export/{name}.csv?period=last_30_days")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_a_gift_from_an_article_page_carries_the_article_to_stripe_the_stats_and_the_donor(
    app, client, db, stripe_api
):
    article = make_article(db, "KI und Recht", body="Was gilt?")
    db.session.commit()
    page = text_of(client.get(f"/artikel/{article.slug}"))
    donate_url = re.search(r'href="(/spenden\?[^"]+)"', page).group(1).replace("&amp;", "&")
    donation = _donate_from(client, db, donate_url)
    assert (donation.article_slug, donation.source_link) == (article.slug, "article")
    metadata = _metadata_sent(stripe_api)
    assert metadata["article"] == article.slug and metadata["link"] == "article"
    assert metadata["donation_id"] == str(donation.id)  # beside our ids, which make the session ours
    _paid_with(client, donation, metadata)
    db.session.expire_all()
    assert db.session.get(Donation, donation.id).status is DonationStatus.PAID

    _admin(client, db)
    stats = text_of(client.get("/staff/stats/?period=last_30_days"))
    assert "Spenden je Artikel" in stats and "KI und Recht" in stats
    assert "Spenden je Link" in stats and "Artikelseite" in stats
    assert _csv(client, "article-donations") == [
        {
            "article": article.slug,
            "title": "KI und Recht",
            "donations": "1",
            "monthly": "0",
            "amount_cents": "500",
        }
    ]
    assert _csv(client, "link-donations") == [
        {"link": "article", "donations": "1", "monthly": "0", "amount_cents": "500"}
    ]
    donor = db.session.scalars(select(Donor)).one()
    shown = text_of(client.get(f"/staff/donations/donors/{donor.id}"))
    assert f"Artikel: {article.slug}" in shown and "Artikelseite" in shown


def test_a_gift_from_an_issue_link_carries_the_issue_and_link(app, client, db, stripe_api):
    issue = make_issue(db, newsletters=[make_newsletter(db)])
    db.session.commit()
    donation = _donate_from(client, db, f"/spenden?issue={issue.id}&link=ask&utm_source=newsletter")
    metadata = _metadata_sent(stripe_api)
    assert (metadata["issue_id"], metadata["link"]) == (str(issue.id), "ask") and "article" not in metadata
    _paid_with(client, donation, metadata)
    _admin(client, db)
    assert _csv(client, "link-donations") == [
        {"link": "ask", "donations": "1", "monthly": "0", "amount_cents": "500"}
    ]
    assert _csv(client, "article-donations") == []
    stats = text_of(client.get("/staff/stats/?period=last_30_days"))
    assert "Spendenaufruf" in stats
    donor = db.session.scalars(select(Donor)).one()
    shown = text_of(client.get(f"/staff/donations/donors/{donor.id}"))
    assert f"Ausgabe {issue.id} · Spendenaufruf" in shown


def test_the_webhook_fills_what_the_donation_row_lacks_from_the_metadata_and_checks_it(
    app, client, db, stripe_api
):
    issue = make_issue(db)
    db.session.commit()
    bare = open_donation(db, DonationKind.ONE_TIME)  # started without attribution
    told = {"issue_id": str(issue.id), "link": "ask<b>", "article": "ki-und-recht"}
    _paid_with(client, bare, {"donation_id": str(bare.id), "donation_reference": bare.reference, **told})
    db.session.expire_all()
    row = db.session.get(Donation, bare.id)
    assert (row.issue_id, row.source_link, row.article_slug) == (issue.id, "askb", "ki-und-recht")
    # Metadata naming an issue we do not have, on a row that knows its own source: the row stays.
    other = open_donation(db, DonationKind.ONE_TIME)
    db.session.get(Donation, other.id).source_link = "banner"
    db.session.commit()
    _paid_with(client, other, {"donation_id": str(other.id), "donation_reference": other.reference,
                               "issue_id": "987654", "link": "ask"})  # fmt: skip
    db.session.expire_all()
    row = db.session.get(Donation, other.id)
    assert (row.issue_id, row.source_link) == (None, "banner")


def test_only_admins_get_the_new_money_tables(client, db):
    for name in ("article-donations", "link-donations", "shares"):
        response = client.get(f"/staff/stats/export/{name}.csv")
        assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
    sign_in(client, staff_user(db, "editor-attribution@example.org", role=StaffRole.EDITOR))
    assert client.get("/staff/stats/export/article-donations.csv").status_code == 403
    assert client.get("/staff/stats/export/link-donations.csv").status_code == 403
    assert client.get("/staff/stats/export/shares.csv").status_code == 200  # no money: editors too


def test_a_monthly_supporters_receipt_carries_their_share_link(app, client, db, stripe_api, relay):
    make_reader(db, "leser@example.org")  # the donor's reader record: the link is theirs
    db.session.commit()
    token = csrf_token(client, "/spenden")
    client.post("/spenden", data={"csrf_token": token, "kind": "monthly", "preset": "500"})
    donation = db.session.scalars(select(Donation)).one()
    t0 = int(time.time())
    s.post_event(client, s.event("checkout.session.completed", s.completed_session(donation), created=t0))
    s.post_event(client, s.event("invoice.paid", s.invoice(donation, "in_1", created=t0), created=t0))
    run_jobs(app)
    (receipt,) = relay.wait_for(1)
    text = receipt.get_body(("plain",)).get_content()
    assert "Erzählen Sie Freunden von uns" in text
    path = re.search(r"http://localhost(/share/[\w-]+\?via=supporters)", text).group(1)
    assert 'name="ref" type="hidden"' in text_of(client.get(path))  # the supporter's own, valid link
