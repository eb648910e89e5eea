"""Amazon SNS: the only module that speaks to it. Checks the signature of a message SNS posted to us and
confirms a subscription. No Flask request in here.

A message is trusted only if its ``Signature`` verifies (RSA PKCS#1 v1.5; SHA-1 for ``SignatureVersion``
1, SHA-256 for 2) against the certificate at ``SigningCertURL``, and that URL is https on a host that
matches ``cert_host`` (by default ``sns.<region>.amazonaws.com``). Certificates are cached per URL.
"""

from __future__ import annotations

import base64
import re
import ssl
import threading
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

FETCH_TIMEOUT = 10.0
MAX_CERT_BYTES = 64 * 1024
_CONFIRMATION_FIELDS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": _CONFIRMATION_FIELDS,
    "UnsubscribeConfirmation": _CONFIRMATION_FIELDS,
}
_CERT_PATH = re.compile(r"/SimpleNotificationService-[A-Za-z0-9]{1,64}\.pem")
_certificates: dict[str, rsa.RSAPublicKey] = {}
_lock = threading.Lock()


class SNSRejected(ValueError):
    """The message is not a genuine SNS message (or not one we accept); nothing may change."""


@dataclass(frozen=True)
class SNSPolicy:
    cert_host: str  # a regular expression the whole host must match
    ca_file: str | None = None  # tests only: a CA to trust for the certificate fetch
    topics: tuple[str, ...] = ()  # accepted TopicArns; empty: any


def _https_url(url: str, policy: SNSPolicy, what: str) -> str:
    parts = urlsplit(url or "")
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        raise SNSRejected(f"{what} is not an https URL")
    if not re.fullmatch(policy.cert_host, parts.hostname):
        raise SNSRejected(f"{what} names a host that is not SNS")
    return url


def _context(policy: SNSPolicy) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=policy.ca_file or None)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could lead off the checked host: refused (the 3xx becomes an error)."""

    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str, policy: SNSPolicy, limit: int) -> bytes:
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=_context(policy)), _NoRedirect)
    try:
        with opener.open(url, timeout=FETCH_TIMEOUT) as response:
            body = response.read(limit + 1)
    except OSError as exc:
        raise SNSRejected(f"could not fetch {url}: {exc}") from None
    if len(body) > limit:
        raise SNSRejected(f"{url} answered with more than {limit} bytes")
    return body


def _public_key(url: str, policy: SNSPolicy) -> rsa.RSAPublicKey:
    if not _CERT_PATH.fullmatch(urlsplit(url).path) or urlsplit(url).query:
        raise SNSRejected("SigningCertURL does not name an SNS certificate")
    with _lock:
        key = _certificates.get(url)
    if key is not None:
        return key
    try:
        certificate = x509.load_pem_x509_certificate(_get(url, policy, MAX_CERT_BYTES))
    except ValueError:
        raise SNSRejected("the signing certificate cannot be read") from None
    key = certificate.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise SNSRejected("the signing certificate holds no RSA key")
    with _lock:
        if len(_certificates) > 64:
            _certificates.clear()
        _certificates[url] = key
    return key


def forget_certificates() -> None:
    with _lock:
        _certificates.clear()


def string_to_sign(message: dict) -> bytes:
    """The canonical text SNS signs: ``name\\nvalue\\n`` for each signed field present, in order."""
    fields = _FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise SNSRejected("unknown SNS message type")
    lines = []
    for name in fields:
        value = message.get(name)
        if value is None:
            if name == "Subject":
                continue
            raise SNSRejected(f"the field {name} is missing")
        if not isinstance(value, str):
            raise SNSRejected(f"the field {name} is not text")
        lines.append(f"{name}\n{value}\n")
    return "".join(lines).encode("utf-8")


def verify(message: dict, policy: SNSPolicy) -> dict:
    """``message`` when it is a genuine SNS message for an accepted topic; :class:`SNSRejected` otherwise."""
    if not isinstance(message, dict):
        raise SNSRejected("not an SNS message")
    version = message.get("SignatureVersion")
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(str(version))  # noqa: S303 (SNS v1 is SHA-1)
    if algorithm is None:
        raise SNSRejected("unknown SignatureVersion")
    if policy.topics and message.get("TopicArn") not in policy.topics:
        raise SNSRejected("the topic is not accepted here")
    signed = string_to_sign(message)
    try:
        signature = base64.b64decode(str(message.get("Signature") or ""), validate=True)
    except ValueError:
        raise SNSRejected("the signature is not base64") from None
    if not signature:
        raise SNSRejected("the message is not signed")
    url = _https_url(str(message.get("SigningCertURL") or ""), policy, "SigningCertURL")
    try:
        _public_key(url, policy).verify(signature, signed, padding.PKCS1v15(), algorithm)
    except InvalidSignature:
        raise SNSRejected("the signature does not match") from None
    return message


def confirm_subscription(message: dict, policy: SNSPolicy) -> None:
    """Visit the SubscribeURL of a verified SubscriptionConfirmation (the host rule applies to it too)."""
    _get(_https_url(str(message.get("SubscribeURL") or ""), policy, "SubscribeURL"), policy, 1024 * 1024)
