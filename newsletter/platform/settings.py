"""Configuration: embedded defaults, then the environment, then the mapping a test passes.

Nothing here runs at import time; :func:`load_config` is a pure function of its arguments so that every
rule (refusals included) can be tested without touching ``os.environ``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from limits import parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

ENVIRONMENTS = ("development", "production", "testing")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which one and how to fix it."""


def _database_url(raw: str | None, instance_path: Path) -> str:
    if not raw:
        return f"sqlite:///{instance_path / 'beitrag.db'}"
    # Hosting platforms still hand out postgres:// URLs; SQLAlchemy wants the dialect and driver named.
    if raw.startswith("postgres://"):
        raw = "postgresql+psycopg://" + raw[len("postgres://") :]
    elif raw.startswith("postgresql://"):
        raw = "postgresql+psycopg://" + raw[len("postgresql://") :]
    try:
        url = make_url(raw)
    except ArgumentError as exc:
        raise ConfigError(
            f"DATABASE_URL is malformed ({exc}). Expected for example "
            "postgresql+psycopg://user:password@host:5432/beitrag or sqlite:////absolute/path/beitrag.db"
        ) from None
    if url.get_backend_name() not in ("postgresql", "sqlite"):
        raise ConfigError(
            f"DATABASE_URL names the database {url.get_backend_name()!r}; "
            "Beitrag runs on PostgreSQL or SQLite."
        )
    return raw


def _redis_url(raw: str | None) -> str | None:
    """The configured Redis URL, or None for the embedded server (started on demand under instance/)."""
    if not raw:
        return None
    scheme = urlsplit(raw).scheme
    if scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(
            f"REDIS_URL has the scheme {scheme!r}; expected redis://host:6379/0, rediss://... or "
            "unix:///path/to/redis.sock"
        )
    return raw


def _smtp_url(raw: str | None, capture_port: int) -> str:
    if not raw:
        return f"smtp://127.0.0.1:{capture_port}"
    parts = urlsplit(raw)
    if parts.scheme not in ("smtp", "smtps", "smtp+starttls"):
        raise ConfigError(
            f"SMTP_URL has the scheme {parts.scheme!r}; expected smtp://, smtp+starttls:// or smtps://, "
            "for example smtp+starttls://user:password@mail.example.org:587"
        )
    if not parts.hostname:
        raise ConfigError("SMTP_URL names no host, for example smtp://127.0.0.1:25")
    return raw


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a whole number, not {raw!r}") from None


def _size(env: Mapping[str, str], key: str, default: int, minimum: int) -> int:
    """A number of bytes, at least ``minimum`` (a smaller one would refuse what Beitrag itself sends)."""
    value = _int(env, key, default)
    if value < minimum:
        raise ConfigError(f"{key} must be at least {minimum} bytes, not {value}")
    return value


def _flag(env: Mapping[str, str], key: str) -> bool:
    raw = (env.get(key) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ConfigError(f"{key} must be true or false, not {raw!r}")


def _float(env: Mapping[str, str], key: str, default: float) -> float:
    raw = env.get(key)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{key} must be a number, not {raw!r}") from None
    if value < 0 or value != value or value == float("inf"):
        raise ConfigError(f"{key} must be 0 or more, not {raw!r}")
    return value


def _percent(env: Mapping[str, str], key: str, default: float) -> float:
    value = _float(env, key, default)
    if value > 100:
        raise ConfigError(f"{key} is a percentage from 0 to 100, not {value}")
    return value


def _origins(raw: str | None) -> tuple[str, ...]:
    """``EMBED_ORIGINS``: sites that may frame the subscribe form and call the JSON API, e.g.
    ``https://www.example.org https://blog.example.org`` (spaces or commas between them)."""
    origins = []
    for item in (raw or "").replace(",", " ").split():
        parts = urlsplit(item)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/") \
                or parts.query or parts.fragment or parts.username or "'" in item or ";" in item:  # fmt: skip
            raise ConfigError(
                f"EMBED_ORIGINS holds {item!r}; expected origins such as https://www.example.org "
                "(scheme and host, no path), separated by spaces"
            )
        origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
    return tuple(origins)


def _key_list(raw: str | None) -> list[str]:
    return [key.strip() for key in (raw or "").split(",") if key.strip()]


def _secret_key(env: Mapping[str, str], environment: str, instance_path: Path) -> str:
    key = env.get("SECRET_KEY", "")
    if key:
        if environment == "production" and len(key) < 32:
            raise ConfigError("SECRET_KEY is too short: use at least 32 random characters.")
        return key
    if environment == "production":
        raise ConfigError(
            "SECRET_KEY is not set. Beitrag refuses to start in production without it, because it signs "
            "sessions and every link in every e-mail. Generate one with "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` and set it in the environment "
            "of every web and worker process (the same value everywhere)."
        )
    # Development and tests: made once and kept under instance/, so sessions and links survive restarts.
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def _mail_authentication(env: Mapping[str, str]) -> dict[str, Any]:
    """DKIM, the bounce address and the two bounce intakes (mailbox, Amazon SES via SNS). The DKIM key
    itself is read and checked when the mail package starts (``mail.signing.key_from_config``)."""
    mail_from = env.get("MAIL_FROM") or "redaktion@ki-kompass.example"
    mail_domain = mail_from.rpartition("@")[2].lower()
    if env.get("DKIM_SELECTOR") and not env.get("DKIM_PRIVATE_KEY"):
        raise ConfigError("DKIM_SELECTOR is set but DKIM_PRIVATE_KEY is not; set both or neither")
    bounce_domain = (env.get("BOUNCE_DOMAIN") or mail_domain).strip().lower()
    if not bounce_domain.replace("-", "").replace(".", "").isalnum() or not bounce_domain.isascii():
        raise ConfigError(
            f"BOUNCE_DOMAIN must be a domain name such as bounces.example.org, not {bounce_domain!r}"
        )
    mailbox = env.get("BOUNCE_MAILBOX_URL") or None
    # Where mail to the List-Unsubscribe mailto address arrives, when that is not the bounce mailbox.
    unsubscribe_mailbox = env.get("UNSUBSCRIBE_MAILBOX_URL") or None
    for name, url in (("BOUNCE_MAILBOX_URL", mailbox), ("UNSUBSCRIBE_MAILBOX_URL", unsubscribe_mailbox)):
        if url and urlsplit(url).scheme not in ("imap", "imaps", "pop3", "pop3s"):
            raise ConfigError(
                f"{name} must start with imaps://, imap://, pop3s:// or pop3://, for example "
                "imaps://bounces:secret@mail.example.org/INBOX"
            )
    cert_host = env.get("SNS_CERT_HOST") or r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?"
    try:
        re.compile(cert_host)
    except re.error as exc:
        raise ConfigError(f"SNS_CERT_HOST is not a valid regular expression ({exc})") from None
    return {
        "DKIM_PRIVATE_KEY": env.get("DKIM_PRIVATE_KEY") or None,  # a path to a PEM file, or the PEM text
        "DKIM_SELECTOR": env.get("DKIM_SELECTOR") or None,
        "DKIM_DOMAIN": env.get("DKIM_DOMAIN") or mail_domain,
        # An optional second signature, ed25519-sha256 (RFC 8463), beside the RSA one: a PEM file or text.
        "DKIM_ED25519_KEY": env.get("DKIM_ED25519_KEY") or None,
        "DKIM_ED25519_SELECTOR": env.get("DKIM_ED25519_SELECTOR") or None,
        "DKIM_KEY": None,  # the loaded key (mail.signing.DKIMKey), set when the mail package starts
        "BOUNCE_DOMAIN": bounce_domain,
        "BOUNCE_MAILBOX_URL": mailbox,
        "UNSUBSCRIBE_MAILBOX_URL": unsubscribe_mailbox,
        # The deliverability page: where DMARC aggregate reports go (rua; default dmarc-reports@ the
        # sender's organisational domain), and the name servers its DNS check asks (host or host:port,
        # spaces between; empty: the system's resolver).
        "DMARC_REPORT_ADDRESS": (env.get("DMARC_REPORT_ADDRESS") or "").strip() or None,
        "DNS_NAMESERVERS": tuple((env.get("DNS_NAMESERVERS") or "").split()),
        # Amazon SNS: the host a SigningCertURL must name (a regular expression) and, for tests only, a CA
        # file to trust for that fetch. SNS_TOPIC_ARNS (spaces or commas) limits the accepted topics.
        "SNS_CERT_HOST": cert_host,
        "SNS_CA_FILE": env.get("SNS_CA_FILE") or None,
        "SNS_TOPIC_ARNS": tuple((env.get("SNS_TOPIC_ARNS") or "").replace(",", " ").split()),
    }


def load_config(
    env: Mapping[str, str], instance_path: str | Path, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Build the app's configuration. Raises :class:`ConfigError` with a clear message on bad settings."""
    overrides = dict(overrides or {})
    instance = Path(instance_path)
    environment = overrides.pop("BEITRAG_ENV", None) or env.get("BEITRAG_ENV") or "production"
    if environment not in ENVIRONMENTS:
        raise ConfigError(f"BEITRAG_ENV must be one of {', '.join(ENVIRONMENTS)}, not {environment!r}")
    merged_env = {**env, **{k: v for k, v in overrides.items() if isinstance(v, str)}}
    config: dict[str, Any] = {
        **_site(merged_env, environment, instance),
        **_sessions(merged_env),
        **_limits(merged_env),
        **_work(merged_env),
        **_mail_authentication(merged_env),
        **_charity(merged_env),
        **_donation_fee(merged_env),
    }
    config.update(_demo_checkout(merged_env, environment))
    config.update(overrides)
    return config


def _charity(env: Mapping[str, str]) -> dict[str, Any]:
    """A newsroom that is a recognised charity issues Zuwendungsbestätigungen (``payments.receipts``): the
    tax office's details, all of them or none (checked when the donations side starts)."""
    keys = ("CHARITY_NAME", "CHARITY_ADDRESS", "CHARITY_TAX_OFFICE", "CHARITY_TAX_NUMBER",
            "CHARITY_EXEMPTION_DATE", "CHARITY_PURPOSE", "CHARITY_ASSESSMENT_PERIOD",
            "CHARITY_PLACE")  # fmt: skip
    return {key: (env.get(key) or "").strip() for key in keys} | {
        "CHARITY_RECEIPTS_JANUARY": _flag(env, "CHARITY_RECEIPTS_JANUARY"),
    }


_FEE_PERCENT = re.compile(r"^\d{1,2}(?:[.,]\d{1,2})?$")


def _donation_fee(env: Mapping[str, str]) -> dict[str, Any]:
    """The card/SEPA fee estimate a donor may choose to cover: a percentage with up to two decimals (below
    10) and a fixed part in cents (at most 500). Both 0 (the default) offer no such choice."""
    raw = (env.get("DONATION_FEE_PERCENT") or "0").strip()
    if not _FEE_PERCENT.match(raw) or Decimal(raw.replace(",", ".")) >= 10:
        raise ConfigError(f"DONATION_FEE_PERCENT must be a percentage below 10 such as 1.5, not {raw!r}")
    fixed = _int(env, "DONATION_FEE_FIXED_CENTS", 0)
    if not 0 <= fixed <= 500:
        raise ConfigError(f"DONATION_FEE_FIXED_CENTS must be between 0 and 500 cents, not {fixed}")
    return {"DONATION_FEE_PERCENT": Decimal(raw.replace(",", ".")), "DONATION_FEE_FIXED_CENTS": fixed}


def _base_url(env: Mapping[str, str]) -> str:
    base_url = (env.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    if urlsplit(base_url).scheme not in ("http", "https"):
        raise ConfigError(f"BASE_URL must start with http:// or https://, not {base_url!r}")
    return base_url


def _site(env: Mapping[str, str], environment: str, instance: Path) -> dict[str, Any]:
    """Where Beitrag runs and what it connects to, and who the newsroom is."""
    base_url = _base_url(env)
    capture_port = _int(env, "MAIL_CAPTURE_PORT", 1025)
    database_url = _database_url(env.get("DATABASE_URL"), instance)
    return {
        "BEITRAG_ENV": environment,
        "DEVELOPMENT": environment == "development",
        "TESTING": environment == "testing",
        "SECRET_KEY": _secret_key(env, environment, instance),
        # Earlier keys, comma-separated, still honoured after a key change: the session cookie (Flask) and
        # readers' share links (readers.sharing) made under them stay valid.
        "SECRET_KEY_FALLBACKS": _key_list(env.get("SECRET_KEY_FALLBACKS")),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(env, database_url),
        "REDIS_URL": _redis_url(env.get("REDIS_URL")),
        "SMTP_URL": _smtp_url(env.get("SMTP_URL"), capture_port),
        "MAIL_CAPTURE_PORT": capture_port,
        "MAIL_CAPTURE_DIR": str(instance / "mail"),
        # The capture viewer is a development tool: it shows every message the app sent.
        "MAIL_CAPTURE_VIEWER": environment == "development" and not env.get("SMTP_URL"),
        "BASE_URL": base_url,
        "PREFERRED_URL_SCHEME": "https" if base_url.startswith("https://") else "http",
        "NEWSROOM_NAME": env.get("NEWSROOM_NAME") or "KI-Kompass",
        "MAIL_FROM": env.get("MAIL_FROM") or "redaktion@ki-kompass.example",
        # The mailto: half of List-Unsubscribe; None means unsubscribe@ the MAIL_FROM domain.
        "MAIL_UNSUBSCRIBE_ADDRESS": env.get("MAIL_UNSUBSCRIBE_ADDRESS") or None,
        "POSTAL_ADDRESS": env.get("POSTAL_ADDRESS")
        or "KI-Kompass gUG (haftungsbeschränkt), Musterstraße 12, 10115 Berlin",
        "TRUSTED_PROXIES": _int(env, "TRUSTED_PROXIES", 0),
        "STRIPE_SECRET_KEY": env.get("STRIPE_SECRET_KEY") or None,
        "STRIPE_PUBLISHABLE_KEY": env.get("STRIPE_PUBLISHABLE_KEY") or None,
        "STRIPE_WEBHOOK_SECRET": env.get("STRIPE_WEBHOOK_SECRET") or None,
        "STRIPE_API_BASE": env.get("STRIPE_API_BASE") or None,
        # The id of the monthly donation's Product at Stripe: installations sharing an account set their own.
        "STRIPE_PRODUCT_ID": env.get("STRIPE_PRODUCT_ID") or "beitrag-monthly-donation",
        "BABEL_DEFAULT_LOCALE": "de",
        "BABEL_DEFAULT_TIMEZONE": env.get("TIMEZONE") or "Europe/Berlin",
        "AUTO_MIGRATE": environment == "development",
        "CHECK_SERVICES": True,
    }


def _engine_options(env: Mapping[str, str], database_url: str) -> dict[str, Any]:
    """PostgreSQL: no pre-ping round trip (platform/database.py looks at the idle socket instead), and a
    pool as large as a web worker's threads and then some (``DATABASE_POOL_SIZE``, default 20), so that a
    burst of requests waiting on one row's lock never runs a worker out of connections.

    Every session ends a transaction left idle for ``DATABASE_IDLE_TRANSACTION_SECONDS`` (default 60): a
    worker host cut off between an UPDATE and its COMMIT would otherwise hold its rows' locks until the
    server's TCP keepalive notices, two hours by default, and the send sweep would wait on them that long.
    Beitrag commits before every wait of its own (messages going out, the rate limit)."""
    if not database_url.startswith("postgresql"):
        return {"pool_pre_ping": True}
    size = _int(env, "DATABASE_POOL_SIZE", 20)
    idle = _positive_int(env, "DATABASE_IDLE_TRANSACTION_SECONDS", 60)
    return {"pool_pre_ping": False, "pool_size": max(size // 2, 1), "max_overflow": max(size - size // 2, 0),
            "pool_timeout": 10,
            "connect_args": {"options": f"-c idle_in_transaction_session_timeout={idle * 1000}"}}  # fmt: skip


def _positive_int(env: Mapping[str, str], key: str, default: int) -> int:
    value = _int(env, key, default)
    if value < 1:
        raise ConfigError(f"{key} must be 1 or more, not {value}")
    return value


def _sessions(env: Mapping[str, str]) -> dict[str, Any]:
    """Sessions: HttpOnly and SameSite=Lax always, Secure when the public address is https. A staff session
    (newsletter/staff/sessions.py) lasts at most STAFF_REMEMBER_DAYS, the remember cookie as long; one
    without "stay signed in" also ends after STAFF_SESSION_IDLE_HOURS unused."""
    https = _base_url(env).startswith("https://")
    remember_days = _positive_int(env, "STAFF_REMEMBER_DAYS", 30)
    return {
        "STAFF_REMEMBER_DAYS": remember_days,
        "STAFF_SESSION_IDLE_HOURS": _positive_int(env, "STAFF_SESSION_IDLE_HOURS", 12),
        "REMEMBER_COOKIE_DURATION": timedelta(days=remember_days),
        "SESSION_COOKIE_NAME": "beitrag_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": https,
        "PERMANENT_SESSION_LIFETIME": 60 * 60 * 12,
        "WTF_CSRF_TIME_LIMIT": 60 * 60 * 4,
    }


def _rate_limit(env: Mapping[str, str], key: str, default: str) -> str:
    """A limit written as Flask-Limiter's (``"10 per minute;60 per hour"``), checked here so that a typo
    stops the start instead of the first sign-in."""
    raw = env.get(key) or default
    try:
        parse_many(raw)
    except ValueError:
        raise ConfigError(f"{key} must read like '10 per minute;60 per hour', not {raw!r}") from None
    return raw


def _limits(env: Mapping[str, str]) -> dict[str, Any]:
    """The rate limits of sign-in and of the public sign-up forms, and the embeddable form's origins."""
    return {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": "beitrag-limits",
        # While Redis is unreachable, limits are counted in memory rather than failing every request.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # Staff sign-in (newsletter/staff/signin_limits.py), failed attempts only: per client address, per
        # account from one client, and the slowdown of an account that many clients failed on.
        "LOGIN_RATE_LIMIT": _rate_limit(env, "LOGIN_RATE_LIMIT", "10 per minute;60 per hour"),
        "LOGIN_ACCOUNT_RATE_LIMIT": _rate_limit(env, "LOGIN_ACCOUNT_RATE_LIMIT",
                                                "5 per 15 minutes;20 per day"),
        "LOGIN_SLOWDOWN_AFTER": _positive_int(env, "LOGIN_SLOWDOWN_AFTER", 10),
        "LOGIN_SLOWDOWN_SECONDS": _float(env, "LOGIN_SLOWDOWN_SECONDS", 30.0),
        # Codes of two-factor sign-in (sign-in, set-up, turning it off), per account, beside the per-client
        # LOGIN_RATE_LIMIT: six digits are guessed in 10^6/3 tries, so an account gets few of them.
        "TWO_FACTOR_RATE_LIMIT": env.get("TWO_FACTOR_RATE_LIMIT") or "5 per minute;20 per hour",
        # True: every staff member must use two-factor sign-in, whatever admins chose in the browser.
        "STAFF_REQUIRE_2FA": _flag(env, "STAFF_REQUIRE_2FA"),
        # Public sign-up forms (site form, embed, JSON API, "send me my link"): per client address and
        # per e-mail address. The database also caps confirmation mails at 3 an address a day.
        "SUBSCRIBE_RATE_LIMIT": env.get("SUBSCRIBE_RATE_LIMIT") or "10 per minute;100 per day",
        "SUBSCRIBE_ADDRESS_RATE_LIMIT": env.get("SUBSCRIBE_ADDRESS_RATE_LIMIT") or "5 per hour",
        # Every sign-up answer takes at least this long, so that new and known addresses look alike.
        "SUBSCRIBE_MIN_SECONDS": float(env.get("SUBSCRIBE_MIN_SECONDS") or 0.012),
        # A sign-up that waited longer than this for a thread of its web worker is answered 503 at once
        # (newsletter/platform/overload.py); 0 never sheds.
        "OVERLOAD_WAIT_SECONDS": _float(env, "OVERLOAD_WAIT_SECONDS", 0.05),
        "EMBED_ORIGINS": _origins(env.get("EMBED_ORIGINS")),
        # The most bytes a request body may have, unless its page names its own limit (platform/bodies.py):
        # the article form, the CSV upload (IMPORT_MAX_BYTES) and the webhooks do.
        "MAX_CONTENT_LENGTH": _size(env, "MAX_REQUEST_BYTES", 64 * 1024, 8 * 1024),
    }


def _work(env: Mapping[str, str]) -> dict[str, Any]:
    """Feeds, imports and sending: how much, how often, how fast."""
    return {
        # Feed import: the guarded fetch (editorial/feeds.py). FEED_ALLOWED_LOOPBACK exempts exact loopback
        # addresses from the public-address rule; only tests set it.
        "FEED_TIMEOUT": 10.0,
        "FEED_MAX_BYTES": 5 * 1024 * 1024,
        "FEED_ALLOWED_LOOPBACK": (),
        # CSV imports: the largest upload and the longest line in it (a longer line is reported and
        # skipped, never read whole), and the opt-in mails for readers without recorded consent,
        # sent in batches (IMPORT_OPT_IN_BATCH every IMPORT_OPT_IN_INTERVAL seconds, at most
        # IMPORT_OPT_IN_CAP per import) so that an import does not flood the relay or look like spam.
        "IMPORT_MAX_BYTES": _size(env, "IMPORT_MAX_BYTES", 256 * 1024**2, 64 * 1024),
        "IMPORT_MAX_LINE_BYTES": _size(env, "IMPORT_MAX_LINE_BYTES", 64 * 1024, 1024),
        "IMPORT_OPT_IN_BATCH": _int(env, "IMPORT_OPT_IN_BATCH", 200),
        "IMPORT_OPT_IN_INTERVAL": _int(env, "IMPORT_OPT_IN_INTERVAL", 60),
        "IMPORT_OPT_IN_CAP": _int(env, "IMPORT_OPT_IN_CAP", 20_000),
        # A running import renews its lease as it reads; once the lease has run out (its worker died),
        # the clock's import sweep queues it again and it continues from its last settled chunk.
        "IMPORT_LEASE_SECONDS": _float(env, "IMPORT_LEASE_SECONDS", 120.0),
        "IMPORT_SETTLE_ROWS": _int(env, "IMPORT_SETTLE_ROWS", 50_000),  # rows a chunk settles and commits
        # Sending: one rate limit for every worker together (0 = unlimited), and how long a claimed chunk
        # of the ledger is held before the sweeper decides that its worker died (see README, Delivery
        # guarantees). The clock runs the sweeper every SEND_SWEEP_SECONDS.
        "MAIL_RATE_PER_SECOND": _float(env, "MAIL_RATE_PER_SECOND", 0.0),
        "MAIL_RATE_PER_HOUR": _float(env, "MAIL_RATE_PER_HOUR", 0.0),
        "MAIL_LEASE_SECONDS": _float(env, "MAIL_LEASE_SECONDS", 120.0),
        # A message whose connection broke after it was handed over whole, before the relay answered, is
        # "uncertain" and not sent again (at most once). On: sent again with the same Message-ID, so that
        # receivers can fold the copies (at least once).
        "MAIL_RESEND_UNCERTAIN": _flag(env, "MAIL_RESEND_UNCERTAIN"),
        "SEND_SWEEP_SECONDS": _int(env, "SEND_SWEEP_SECONDS", 15),
        # Automatic digests: the clock looks for due slots this often; a slot the clock missed by more
        # than DIGEST_GRACE_SECONDS (it was down) is not built late, the next one is.
        "DIGEST_SWEEP_SECONDS": _int(env, "DIGEST_SWEEP_SECONDS", 20),
        "DIGEST_GRACE_SECONDS": _int(env, "DIGEST_GRACE_SECONDS", 6 * 3600),
        # A send pauses itself when its complaint or hard-bounce rate reaches these percentages (0 = off),
        # judged once the relay has accepted AUTO_PAUSE_MIN_MESSAGES of it (sending/autopause.py).
        "AUTO_PAUSE_COMPLAINT_PERCENT": _percent(env, "AUTO_PAUSE_COMPLAINT_PERCENT", 0.3),
        "AUTO_PAUSE_HARD_BOUNCE_PERCENT": _percent(env, "AUTO_PAUSE_HARD_BOUNCE_PERCENT", 5.0),
        "AUTO_PAUSE_MIN_MESSAGES": _positive_int(env, "AUTO_PAUSE_MIN_MESSAGES", 1000),
        # Count clicks per link in sent issues (off by default): links are rewritten once per variant.
        "CLICK_COUNTING": _flag(env, "CLICK_COUNTING"),
        # A line under a donor's yearly giving statement, e.g. the charity's tax exemption; empty: none.
        "GIVING_STATEMENT_NOTE": env.get("GIVING_STATEMENT_NOTE") or "",
        # Audit log entries older than this many days are removed by the clock's hourly purge; 0 keeps them.
        "AUDIT_RETENTION_DAYS": _retention_days(env),
    }


def _retention_days(env: Mapping[str, str]) -> int:
    days = _int(env, "AUDIT_RETENTION_DAYS", 365)
    if days < 0:
        raise ConfigError(f"AUDIT_RETENTION_DAYS must be 0 (keep every entry) or more days, not {days}")
    return days


def demo_checkout_keys(secret: str) -> tuple[str, str]:
    """The test-mode API key and the webhook secret the test checkout and the app share, both derived
    from ``DEMO_CHECKOUT_SECRET`` (one random value that ``make run`` hands to its processes)."""

    def derive(purpose: bytes) -> str:
        return hmac.new(secret.encode(), purpose, hashlib.sha256).hexdigest()[:32]

    return f"sk_test_demo_{derive(b'api key')}", f"whsec_demo_{derive(b'webhook secret')}"


def _demo_checkout(env: Mapping[str, str], environment: str) -> dict[str, Any]:
    """The test checkout of ``make run`` (payments.demo_checkout): no money moves, so it must never run in
    production. ``DEMO_CHECKOUT_URL`` names the local Stripe stand-in; Stripe's own keys turn it off."""
    url = (env.get("DEMO_CHECKOUT_URL") or "").strip().rstrip("/")
    if not url:
        return {"DEMO_CHECKOUT": False}
    if environment == "production":
        raise ConfigError(
            "DEMO_CHECKOUT_URL is set, and BEITRAG_ENV is production. The test checkout takes no money and "
            "must never face readers: unset DEMO_CHECKOUT_URL and DEMO_CHECKOUT_SECRET, and set "
            "STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY and STRIPE_WEBHOOK_SECRET for real donations."
        )
    if env.get("STRIPE_SECRET_KEY"):
        return {"DEMO_CHECKOUT": False}
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1") or parts.path:
        raise ConfigError(
            f"DEMO_CHECKOUT_URL must be a loopback address such as http://127.0.0.1:5090, not {url!r}"
        )
    secret = env.get("DEMO_CHECKOUT_SECRET") or ""
    if len(secret) < 16:
        raise ConfigError("DEMO_CHECKOUT_SECRET must be set with DEMO_CHECKOUT_URL (16 characters or more)")
    api_key, webhook_secret = demo_checkout_keys(secret)
    return {
        "DEMO_CHECKOUT": True,
        "DEMO_CHECKOUT_URL": url,
        "STRIPE_SECRET_KEY": api_key,
        "STRIPE_WEBHOOK_SECRET": webhook_secret,
        "STRIPE_API_BASE": url,
    }
