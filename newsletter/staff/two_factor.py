"""Two-factor sign-in for staff: a TOTP authenticator app (RFC 6238, 30-second steps, six digits) and ten
one-time recovery codes. Plain functions; the caller commits.

What is stored, and why it is safe to lose the table to a reader:

* The TOTP secret, encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under a key derived from
  ``SECRET_KEY`` by HKDF. A copy of the database alone opens no account; a new ``SECRET_KEY`` makes every
  stored secret unreadable, and staff set two-factor sign-in up again (``flask users reset-2fa``).
* The time step of the last code accepted per account: a code is taken once (an UPDATE that only moves the
  step forward, so two requests with one code cannot both win), and an older code after it never again.
* Recovery codes as HMAC-SHA256 under another key derived from ``SECRET_KEY``: 50 random bits each, too
  few to survive a plain hash offline, enough against guessing online (the rate limits).
"""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
import hmac
import re
import secrets

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from db import utcnow
from newsletter.staff.models import StaffRecoveryCode, StaffSetting, StaffUser

RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/i/l: read off paper and typed in
_RECOVERY_LENGTH = 10  # 31^10: about 50 bits
_TOTP_CODE = re.compile(r"\d{6}")
REQUIRE_SETTING = "require_two_factor"


class CodeResult(enum.Enum):
    ACCEPTED = "accepted"  # a current code of the app
    RECOVERY = "recovery"  # a recovery code, now used up
    REPLAYED = "replayed"  # a right code of the app that was used already
    WRONG = "wrong"


# -- keys and the stored secret ---------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _derived_key(secret_key: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                info=f"beitrag.two-factor.{purpose}".encode()).derive(secret_key.encode("utf-8"))  # fmt: skip


def _fernet(secret_key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_derived_key(secret_key, "totp-secret")))


def _encrypt(secret_key: str, totp_secret: str) -> str:
    return _fernet(secret_key).encrypt(totp_secret.encode("ascii")).decode("ascii")


def _decrypt(secret_key: str, stored: str) -> str | None:
    """The secret, or None when it cannot be read (SECRET_KEY changed since it was stored)."""
    try:
        return _fernet(secret_key).decrypt(stored.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError):
        return None


# -- set-up -----------------------------------------------------------------------------------------


def start_setup(session: Session, user: StaffUser, secret_key: str) -> str:
    """The secret to show for set-up. A set-up already begun keeps its secret, so that reloading the page
    does not void a QR code the member has just scanned."""
    if user.two_factor_enabled:
        raise ValueError("two-factor sign-in is set up already")
    if user.totp_secret is not None:
        known = _decrypt(secret_key, user.totp_secret)
        if known is not None:
            return known
    secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
    user.totp_secret = _encrypt(secret_key, secret)
    user.totp_last_step = None
    return secret


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    """The ``otpauth://`` address authenticator apps read from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def qr_code_data_uri(uri: str) -> str:
    """The QR code of ``uri`` as an SVG ``data:`` address, made here (the page's CSP allows ``data:``
    images and nothing from elsewhere): no outside service ever sees the secret."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2, dark="#000", light="#fff")


def grouped(secret: str) -> str:
    """The secret as people type it into an app: groups of four."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def confirm_setup(session: Session, user: StaffUser, code: str, secret_key: str) -> list[str] | None:
    """Turn two-factor sign-in on when ``code`` is a current code of the new secret: the recovery codes
    (to be shown once), else None."""
    if user.two_factor_enabled or user.totp_secret is None:
        return None
    if _check_totp(session, user, code, secret_key) is not CodeResult.ACCEPTED:
        return None
    user.totp_enabled_at = utcnow()
    return make_recovery_codes(session, user, secret_key)


def turn_off(session: Session, user: StaffUser) -> None:
    """Forget the secret and the recovery codes: the password alone signs in again."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_user_id == user.id))


# -- codes -----------------------------------------------------------------------------------------


def normalize_code(code: str) -> str:
    return re.sub(r"[\s-]+", "", code or "").lower()


def looks_like_code(text: str) -> bool:
    """A code of the app or a recovery code, not a password (which has at least 12 characters)."""
    return len(normalize_code(text)) in (6, _RECOVERY_LENGTH)


def verify_code(session: Session, user: StaffUser, code: str, secret_key: str) -> CodeResult:
    """Check a code of the app or a recovery code of an account with two-factor sign-in, and use it up."""
    if not user.two_factor_enabled:
        return CodeResult.WRONG
    normalized = normalize_code(code)
    if _TOTP_CODE.fullmatch(normalized):
        return _check_totp(session, user, normalized, secret_key)
    if len(normalized) == _RECOVERY_LENGTH and _use_recovery_code(session, user, normalized, secret_key):
        return CodeResult.RECOVERY
    return CodeResult.WRONG


def _check_totp(session: Session, user: StaffUser, code: str, secret_key: str) -> CodeResult:
    """The code of the step before, the current or the next one (a phone's clock may be off by up to 30
    s), each compared in constant time. The step found is stored with an UPDATE that only moves it forward:
    of two requests carrying one code, one wins."""
    code = normalize_code(code)
    secret = _decrypt(secret_key, user.totp_secret or "")
    if secret is None or not _TOTP_CODE.fullmatch(code):
        return CodeResult.WRONG
    totp = pyotp.TOTP(secret)
    now = totp.timecode(utcnow())
    matched = None
    for step in (now - 1, now, now + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            matched = step
    if matched is None:
        return CodeResult.WRONG
    moved = session.execute(
        update(StaffUser)
        .where(StaffUser.id == user.id)
        .where((StaffUser.totp_last_step.is_(None)) | (StaffUser.totp_last_step < matched))
        .values(totp_last_step=matched)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.expire(user, ["totp_last_step"])
    return CodeResult.ACCEPTED if moved == 1 else CodeResult.REPLAYED


def _recovery_hash(secret_key: str, user_id: int, code: str) -> str:
    key = _derived_key(secret_key, "recovery-codes")
    return hmac.new(key, f"{user_id}:{code}".encode(), hashlib.sha256).hexdigest()


def _use_recovery_code(session: Session, user: StaffUser, code: str, secret_key: str) -> bool:
    """Mark the code used, once: of two requests with one code, the UPDATE lets one through."""
    used = session.execute(
        update(StaffRecoveryCode)
        .where(StaffRecoveryCode.staff_user_id == user.id)
        .where(StaffRecoveryCode.code_hash == _recovery_hash(secret_key, user.id, code))
        .where(StaffRecoveryCode.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return used == 1


def make_recovery_codes(session: Session, user: StaffUser, secret_key: str) -> list[str]:
    """Ten new recovery codes (``abcde-fghjk``) in place of the old ones; only their HMACs are stored."""
    session.execute(delete(StaffRecoveryCode).where(StaffRecoveryCode.staff_user_id == user.id))
    codes = []
    while len(codes) < RECOVERY_CODES:
        code = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        if code not in codes:
            codes.append(code)
    session.add_all(
        StaffRecoveryCode(staff_user_id=user.id, code_hash=_recovery_hash(secret_key, user.id, code))
        for code in codes
    )
    session.flush()
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def recovery_codes_left(session: Session, user: StaffUser) -> int:
    return session.scalar(
        select(func.count()).select_from(StaffRecoveryCode)
        .where(StaffRecoveryCode.staff_user_id == user.id, StaffRecoveryCode.used_at.is_(None))
    ) or 0  # fmt: skip


# -- the newsroom's rule ------------------------------------------------------------------------------


def required_by_admins(session: Session) -> bool:
    """What admins chose on the staff page."""
    row = session.get(StaffSetting, REQUIRE_SETTING)
    return row is not None and row.value == "on"


def required(session: Session, config) -> bool:
    """Whether every staff member must use two-factor sign-in: ``STAFF_REQUIRE_2FA``, or the admins'
    choice."""
    return bool(config.get("STAFF_REQUIRE_2FA")) or required_by_admins(session)


def set_required(session: Session, on: bool) -> None:
    row = session.get(StaffSetting, REQUIRE_SETTING)
    if row is None:
        row = StaffSetting(name=REQUIRE_SETTING, value="off")
        session.add(row)
    row.value = "on" if on else "off"
    row.updated_at = utcnow()
