"""Amazon SES events through ``POST /webhooks/ses``, signed the way SNS signs them. The tests hold their own
signing key; its certificate is served over real TLS by a local server that the configuration names as
the allowed SNS certificate host. Bad inputs tried: a changed message (tampered), no signature, an
unknown SignatureVersion, a certificate URL over http, on another host, with a user name or with a path
that is no SNS certificate, a signature
by a key that is not the certificate's, a topic that is not accepted, a body that is not JSON, the same
message posted twice (replay), a SubscribeURL on a foreign host."""

from __future__ import annotations

import base64
import datetime as dt
import json
import ssl
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import func, select

from newsletter.mail import sns
from newsletter.readers import addresses, subscribers
from newsletter.readers.models import SubscriberStatus, SuppressionReason
from newsletter.sending.models import BounceEvent, Delivery, DeliveryStatus
from tests.sending.factories import issue_with_readers, start_send
from tests.support.feedserver import FeedServer, Route
from tests.support.worker import run_jobs

TOPIC = "arn:aws:sns:eu-central-1:123456789012:beitrag-ses"


def _certificate(key, name: str, *, san: bool = False) -> bytes:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
    )  # fmt: skip
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def signing_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def sns_host(app, signing_key, tmp_path, monkeypatch):
    """An HTTPS server for ``localhost`` that serves the signing certificate and takes SubscribeURL visits."""
    tls_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tls_cert = _certificate(tls_key, "localhost", san=True)
    (tmp_path / "tls.pem").write_bytes(tls_cert)
    pem = serialization.Encoding.PEM
    (tmp_path / "tls.key").write_bytes(
        tls_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "tls.pem", tmp_path / "tls.key")
    server = FeedServer()
    server.httpd.socket = context.wrap_socket(server.httpd.socket, server_side=True)
    server.routes["/SimpleNotificationService-test.pem"] = Route(
        body=_certificate(signing_key, "sns.amazonaws.com"),
        headers={"Content-Type": "application/x-pem-file"},
    )
    server.routes["/?Action=ConfirmSubscription&Token=t0ken"] = Route(body=b"<ConfirmSubscriptionResponse/>")
    server.start()
    server.base = f"https://localhost:{server.port}"
    monkeypatch.setitem(app.config, "SNS_CERT_HOST", "localhost")
    monkeypatch.setitem(app.config, "SNS_CA_FILE", str(tmp_path / "tls.pem"))
    monkeypatch.setitem(app.config, "SNS_TOPIC_ARNS", (TOPIC,))
    sns.forget_certificates()
    yield server
    server.stop()
    sns.forget_certificates()


def _canonical(message: dict) -> bytes:
    """What SNS signs, written out here from AWS's documentation (not taken from our module)."""
    if message["Type"] == "Notification":
        names = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
    else:
        names = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
    return "".join(f"{n}\n{message[n]}\n" for n in names if n in message).encode()


def _signed(key, base: str, message: dict, version: str = "1") -> dict:
    message = {"TopicArn": TOPIC, "Timestamp": "2026-11-24T23:00:00.000Z",
               "MessageId": str(uuid.uuid4()), **message}  # fmt: skip
    message["SignatureVersion"] = version
    message["SigningCertURL"] = f"{base}/SimpleNotificationService-test.pem"
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()  # noqa: S303 (SNS v1 is SHA-1)
    signature = key.sign(_canonical(message), padding.PKCS1v15(), digest)
    message["Signature"] = base64.b64encode(signature).decode()
    return message


def _event(kind: str, source: str, recipient: str, **extra) -> str:
    body = {"notificationType": kind, "mail": {"source": source, "destination": [recipient],
                                               "messageId": "0102019abc"}}  # fmt: skip
    if kind == "Bounce":
        body["bounce"] = {"bounceType": extra.get("bounce_type", "Permanent"), "bounceSubType": "General",
                          "bouncedRecipients": [{"emailAddress": recipient}]}  # fmt: skip
    if kind == "Complaint":
        body["complaint"] = {"complainedRecipients": [{"emailAddress": recipient}],
                             "complaintFeedbackType": "abuse"}  # fmt: skip
    return json.dumps(body)


def _post(client, message) -> int:
    data = message if isinstance(message, bytes) else json.dumps(message)
    return client.post("/webhooks/ses", data=data, content_type="text/plain; charset=UTF-8").status_code


def _sent(app, db, relay):
    issue = issue_with_readers(db, readers=("hart@example.org", "weich@example.org", "beschwert@example.org",
                                    "bleibt@example.org"))  # fmt: skip
    start_send(db, issue)
    run_jobs(app)
    relay.wait_for(4)
    return {r.rcpt_tos[0]: r.mail_from for r in relay.received}


def _reader(db, email):
    db.session.expire_all()
    return subscribers.find_subscriber(db.session, email)


def test_ses_bounces_and_complaints_apply_once(app, client, db, relay, sns_host, signing_key):
    senders = _sent(app, db, relay)
    hard = _signed(signing_key, sns_host.base, {"Type": "Notification", "Subject": "Amazon SES Email Event",
                   "Message": _event("Bounce", senders["hart@example.org"], "hart@example.org")})  # fmt: skip
    soft = _signed(signing_key, sns_host.base, {"Type": "Notification", "Message": _event(
        "Bounce", senders["weich@example.org"], "weich@example.org", bounce_type="Transient")}, version="2")
    complaint = _signed(signing_key, sns_host.base, {"Type": "Notification", "Message": _event(
        "Complaint", senders["beschwert@example.org"], "beschwert@example.org")}, version="2")
    for message in (hard, soft, complaint):
        assert _post(client, message) == 200
    assert sns_host.requests.count("/SimpleNotificationService-test.pem") == 1  # the certificate is cached

    hart = _reader(db, "hart@example.org")
    assert hart.status is SubscriberStatus.BOUNCED
    assert addresses.suppression_reason(db.session, "hart@example.org") is SuppressionReason.BOUNCED
    weich = _reader(db, "weich@example.org")
    assert weich.status is SubscriberStatus.ACTIVE and weich.soft_bounces == 1
    beschwert = _reader(db, "beschwert@example.org")
    assert beschwert.status is SubscriberStatus.COMPLAINED
    assert addresses.suppression_reason(db.session, "beschwert@example.org") is SuppressionReason.COMPLAINED
    rows = {d.subscriber_id: d.status for d in db.session.scalars(select(Delivery))}
    assert rows[hart.id] is DeliveryStatus.BOUNCED and rows[beschwert.id] is DeliveryStatus.BOUNCED
    assert rows[weich.id] is DeliveryStatus.SENT

    # SNS delivers at least once: the same messages again change nothing.
    events = db.session.scalar(select(func.count()).select_from(BounceEvent))
    for message in (hard, soft, complaint):
        assert _post(client, message) == 200
    assert _reader(db, "weich@example.org").soft_bounces == 1
    assert db.session.scalar(select(func.count()).select_from(BounceEvent)) == events
    assert len(_reader(db, "hart@example.org").events) == 1


def test_forged_or_tampered_messages_get_403_and_change_nothing(app, client, db, relay, sns_host,
                                                                signing_key):  # fmt: skip
    senders = _sent(app, db, relay)
    event = _event("Bounce", senders["bleibt@example.org"], "bleibt@example.org")
    good = _signed(signing_key, sns_host.base, {"Type": "Notification", "Message": event})
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tampered = {**good, "Message": good["Message"].replace("bleibt@", "hart@")}
    unsigned = {k: v for k, v in good.items() if k != "Signature"}
    foreign_signer = _signed(other_key, sns_host.base, {"Type": "Notification", "Message": good["Message"]})
    plain_http = _signed(signing_key, sns_host.base.replace("https://", "http://"),
                         {"Type": "Notification", "Message": good["Message"]})  # fmt: skip
    other_host = _signed(signing_key, sns_host.base.replace("localhost", "127.0.0.1"),
                         {"Type": "Notification", "Message": good["Message"]})  # fmt: skip
    with_user = _signed(signing_key, sns_host.base.replace("https://", "https://sns@"),
                        {"Type": "Notification", "Message": good["Message"]})  # fmt: skip
    lookalike = {**good, "SigningCertURL": good["SigningCertURL"].replace("localhost", "localhost.evil.test")}
    not_a_cert = {**good, "SigningCertURL": f"{sns_host.base}/uploads/anything.pem"}
    version_3 = {**good, "SignatureVersion": "3"}
    other_topic = _signed(signing_key, sns_host.base, {"Type": "Notification", "Message": good["Message"],
                          "TopicArn": "arn:aws:sns:eu-central-1:999999999999:other"})  # fmt: skip
    refused = (tampered, unsigned, foreign_signer, plain_http, other_host, with_user, lookalike, not_a_cert,
               version_3, other_topic)  # fmt: skip
    for message in refused:
        assert _post(client, message) == 403, message
    assert _post(client, b"{not json") == 400
    assert sns_host.requests == ["/SimpleNotificationService-test.pem"]  # nothing else was fetched
    for email in senders:
        reader = _reader(db, email)
        assert reader.status is SubscriberStatus.ACTIVE and reader.soft_bounces == 0
        assert not addresses.is_suppressed(db.session, email)
    assert db.session.scalar(select(func.count()).select_from(BounceEvent)) == 0
    assert {d.status for d in db.session.scalars(select(Delivery))} == {DeliveryStatus.SENT}
    # The untouched original is still accepted: the refusals above were about the changes.
    assert _post(client, good) == 200
    assert _reader(db, "bleibt@example.org").status is SubscriberStatus.BOUNCED


def test_a_subscription_confirmation_is_confirmed_only_on_an_sns_host(app, client, sns_host, signing_key):
    confirm = {"Type": "SubscriptionConfirmation", "Token": "t0ken",
               "Message": "You have chosen to subscribe to the topic.",
               "SubscribeURL": f"{sns_host.base}/?Action=ConfirmSubscription&Token=t0ken"}  # fmt: skip
    assert _post(client, _signed(signing_key, sns_host.base, confirm)) == 200
    assert sns_host.requests.count("/?Action=ConfirmSubscription&Token=t0ken") == 1
    elsewhere = {**confirm, "SubscribeURL": f"https://127.0.0.1:{sns_host.port}/?Action=ConfirmSubscription"}
    assert _post(client, _signed(signing_key, sns_host.base, elsewhere)) == 502
    assert sns_host.requests.count("/?Action=ConfirmSubscription&Token=t0ken") == 1
    assert len([r for r in sns_host.requests if "ConfirmSubscription" in r]) == 1
