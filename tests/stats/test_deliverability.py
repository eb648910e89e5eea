"""The admins' deliverability page: the records to publish, computed from the settings; the DNS check
against a real (local) name server; the bounce and complaint rates per issue and per receiving domain
after a real send and reports applied through the bounce path.

Bad inputs tried: an editor (403), the check without CSRF token (400), a published DKIM key that is not
ours, two SPF records, a DMARC record without rua, a name server that never answers (the page comes back
with "not reachable" within the check's time budget, no exception), no name server at all, a relay on
this machine, a relay given as an address.
"""

from __future__ import annotations

import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from newsletter.mail import dns_lookup, dns_records, signing
from newsletter.mail.return_paths import read_return_path
from newsletter.platform.access import StaffRole
from newsletter.sending import bounces
from newsletter.stats import deliverability
from tests.sending.factories import issue_with_readers, start_send
from tests.staff.factories import sign_in
from tests.support.dns_server import DNSServer
from tests.support.web import csrf_token, text_of
from tests.support.worker import run_jobs

PAGE = "/staff/deliverability"


def _key(selector="beitrag2026", domain="ki-kompass.example") -> signing.DKIMKey:
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return signing.load_key(pem.decode(), selector, domain)


@pytest.fixture
def settings(app, monkeypatch):
    key = _key()
    monkeypatch.setitem(app.config, "MAIL_FROM", "redaktion@news.ki-kompass.example")
    monkeypatch.setitem(app.config, "BOUNCE_DOMAIN", "bounces.ki-kompass.example")
    monkeypatch.setitem(app.config, "DKIM_KEY", key)
    monkeypatch.setitem(app.config, "SMTP_URL", "smtp+starttls://u:p@email-smtp.eu-central-1.amazonaws.com:587")
    return key


def test_the_records_follow_the_settings(app, settings):
    spf, dkim, dmarc = dns_records.expected(app.config)
    assert (spf.name, spf.value) == ("bounces.ki-kompass.example", "v=spf1 include:amazonses.com ~all")
    assert dkim.name == "beitrag2026._domainkey.ki-kompass.example"
    assert dkim.value == settings.public_record() and dkim.value.startswith("v=DKIM1; k=rsa; p=MII")
    assert dmarc.name == "_dmarc.ki-kompass.example"
    assert dmarc.value == "v=DMARC1; p=none; rua=mailto:dmarc-reports@ki-kompass.example; adkim=r; aspf=r"
    assert dns_records.spf_mechanism("127.0.0.1") == (None, True)
    assert dns_records.spf_mechanism("localhost") == (None, True)
    assert dns_records.spf_mechanism("192.0.2.7") == (None, True)  # documentation range: not public
    assert dns_records.spf_mechanism("198.51.100.300")[0] == "a:198.51.100.300"  # not an address
    assert dns_records.spf_mechanism("8.8.4.4") == ("ip4:8.8.4.4", False)
    assert dns_records.spf_mechanism("mail.example.org") == ("a:mail.example.org", False)


def test_an_editor_is_refused_and_the_check_needs_its_token(client, db, settings):
    sign_in(client, StaffRole.EDITOR)
    assert client.get(PAGE).status_code == 403
    assert client.post(f"{PAGE}/check").status_code in (400, 403)
    client.post("/staff/logout", data={"csrf_token": csrf_token(client, "/staff/")})
    sign_in(client, StaffRole.ADMIN)
    assert client.post(f"{PAGE}/check").status_code == 400


def test_the_check_tells_match_differs_and_missing(app, client, db, settings, monkeypatch):
    published = {
        "bounces.ki-kompass.example": ["v=spf1 include:amazonses.com -all", "google-site-verification=x"],
        "beitrag2026._domainkey.ki-kompass.example": [_key().public_record()],  # another key
    }
    sign_in(client, StaffRole.ADMIN)
    html = text_of(client.get(PAGE))
    assert "v=spf1 include:amazonses.com ~all" in html and settings.public_record() in html
    assert "Einträge im DNS prüfen" in html and "gefunden und stimmt" not in html  # nothing asked yet
    with DNSServer(published) as server:
        monkeypatch.setitem(app.config, "DNS_NAMESERVERS", (server.address,))
        html = text_of(client.post(f"{PAGE}/check", data={"csrf_token": csrf_token(client, PAGE)}))
    assert 'data-check="match"' in html
    assert 'data-check="differs"' in html and 'data-check="missing"' in html
    assert "gefunden und stimmt" in html and "gefunden, weicht ab" in html and "fehlt" in html
    assert server.queries == ["bounces.ki-kompass.example", "beitrag2026._domainkey.ki-kompass.example",
                              "_dmarc.ki-kompass.example"]  # fmt: skip

    # Fixed in DNS: all three match.
    published["beitrag2026._domainkey.ki-kompass.example"] = [settings.public_record()]
    published["_dmarc.ki-kompass.example"] = ["v=DMARC1; p=quarantine; rua=mailto:d@ki-kompass.example"]
    with DNSServer(published) as server:
        monkeypatch.setitem(app.config, "DNS_NAMESERVERS", (server.address,))
        html = text_of(client.post(f"{PAGE}/check", data={"csrf_token": csrf_token(client, PAGE)}))
    assert html.count('data-check="match"') == 3


def test_an_ed25519_key_adds_its_own_record_and_the_check_reads_both(app, client, db, settings, monkeypatch):
    """With an Ed25519 key beside the RSA one (RFC 8463), the page names both DKIM records and checks each
    against its own key type: the RSA record published under the Ed25519 name does not count."""
    from cryptography.hazmat.primitives.asymmetric import ed25519

    rsa_pem = settings.private_key.decode()
    ed_pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    both = signing.load_key(rsa_pem, "beitrag2026", "ki-kompass.example", ed_pem, "ed2026")
    monkeypatch.setitem(app.config, "DKIM_KEY", both)
    records = dns_records.expected(app.config)
    dkim = [r for r in records if r.kind == dns_records.DKIM]
    assert [r.name for r in dkim] == ["beitrag2026._domainkey.ki-kompass.example",
                                      "ed2026._domainkey.ki-kompass.example"]  # fmt: skip
    assert dkim[1].value == both.ed25519.public_record()
    assert dkim[1].value.startswith("v=DKIM1; k=ed25519; p=")
    rsa_as_ed = "v=DKIM1; k=rsa; p=" + dns_records._tags(dkim[1].value)["p"]  # the right key, the wrong type
    assert dns_records.compare(dkim[1], [rsa_as_ed]).status == dns_records.DIFFERS
    assert dns_records.compare(dkim[1], [dkim[1].value]).status == dns_records.MATCH
    published = {
        "bounces.ki-kompass.example": ["v=spf1 include:amazonses.com ~all"],
        "beitrag2026._domainkey.ki-kompass.example": [dkim[0].value],
        "_dmarc.ki-kompass.example": ["v=DMARC1; p=none; rua=mailto:d@ki-kompass.example"],
    }  # the Ed25519 record not yet published
    sign_in(client, StaffRole.ADMIN)
    assert dkim[1].value in text_of(client.get(PAGE))
    with DNSServer(published) as server:
        monkeypatch.setitem(app.config, "DNS_NAMESERVERS", (server.address,))
        html = text_of(client.post(f"{PAGE}/check", data={"csrf_token": csrf_token(client, PAGE)}))
    assert html.count('data-check="match"') == 3 and html.count('data-check="missing"') == 1


def test_odd_records_differ():
    spf = dns_records.Record(dns_records.SPF, "x.example", "v=spf1 include:amazonses.com ~all",
                             mechanism="include:amazonses.com")  # fmt: skip
    two = ["v=spf1 include:amazonses.com ~all", "v=spf1 mx ~all"]
    assert dns_records.compare(spf, two).status == dns_records.DIFFERS
    assert dns_records.compare(spf, ["v=spf1 mx ~all"]).status == dns_records.DIFFERS
    dmarc = dns_records.Record(dns_records.DMARC, "_dmarc.x.example", "v=DMARC1; p=none; rua=mailto:a@x.ex")
    assert dns_records.compare(dmarc, ["v=DMARC1; p=none"]).status == dns_records.DIFFERS  # no reports
    assert dns_records.compare(dmarc, ["v=DMARC1; p=reject; rua=mailto:r@x.example"]).status == "match"
    assert dns_records.compare(dmarc, []).status == dns_records.MISSING


def test_dns_out_of_reach_is_said_on_the_page_within_the_budget(app, client, db, settings, monkeypatch):
    sign_in(client, StaffRole.ADMIN)
    token = csrf_token(client, PAGE)
    with DNSServer(silent=True) as server:
        monkeypatch.setitem(app.config, "DNS_NAMESERVERS", (server.address,))
        started = time.monotonic()
        response = client.post(f"{PAGE}/check", data={"csrf_token": token})
        took = time.monotonic() - started
    html = text_of(response)
    assert response.status_code == 200 and html.count('data-check="unreachable"') == 3
    assert "DNS nicht erreichbar" in html
    assert took < 20, took  # generous: the budget is 2 s; this only catches a lookup without a limit
    assert dns_lookup.Lookups((), budget=0).txt("example.org") is dns_lookup.UNREACHABLE


def _report(db, app, relay, email: str, kind: str, n: int) -> None:
    source = next(r.mail_from for r in relay.received if r.rcpt_tos[0].lower() == email)
    secret = app.config["SECRET_KEY"]
    report = bounces.Report(f"test:{email}:{kind}:{n}", kind, read_return_path(secret, source), [email])
    assert bounces.apply_report(db.session, report, secret_key=secret, via="mailbox").applied
    db.session.commit()


def test_rates_per_issue_and_per_receiving_domain(app, client, db, relay):
    readers = ("anna@gmail.com", "ben@GoogleMail.com", "cem@web.de", "dora@gmx.net", "emil@example.org",
               "fritz@t-online.de", "gabi@hotmail.com", "hans@yahoo.de")  # fmt: skip
    issue = issue_with_readers(db, readers=readers, subject="Deliverability-Test")
    start_send(db, issue)
    run_jobs(app)
    relay.wait_for(len(readers))
    _report(db, app, relay, "anna@gmail.com", bounces.COMPLAINT, 1)
    _report(db, app, relay, "cem@web.de", bounces.HARD, 2)
    _report(db, app, relay, "cem@web.de", bounces.COMPLAINT, 3)  # after its hard bounce: not counted twice

    (row,) = deliverability.by_issue(db.session)
    assert (row.label, row.accepted, row.hard, row.complaints) == ("Deliverability-Test", 8, 1, 1)
    assert row.refused == 0
    assert row.complaint_rate == pytest.approx(1 / 8)
    domains = {r.label: (r.accepted, r.hard, r.complaints) for r in deliverability.by_domain(db.session)}
    assert domains == {"Gmail": (2, 0, 1), "GMX": (1, 0, 0), "WEB.DE": (1, 1, 0), "T-Online": (1, 0, 0),
                       "Microsoft": (1, 0, 0), "Yahoo": (1, 0, 0), "others": (1, 0, 0)}  # fmt: skip

    sign_in(client, StaffRole.ADMIN)
    html = text_of(client.get(PAGE))
    assert "Deliverability-Test" in html and "Gmail" in html and "andere Domains" in html
    assert "1 (50\xa0%)" in html  # Gmail: one complaint in two messages
    assert "12,5\xa0%" in html  # the issue: one complaint in eight
    english = text_of(client.get(f"{PAGE}?lang=en"))
    assert "Bounces and complaints per issue" in english and "other domains" in english
    assert "1 (50%)" in english and "stay below 0.3 % complaints" in english
