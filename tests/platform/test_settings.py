"""Configuration rules. Bad inputs tried: no SECRET_KEY in production, a short one, malformed and foreign
DATABASE_URLs, a Redis URL with a wrong scheme, an SMTP URL without host, an unknown environment,
a non-numeric port."""

from __future__ import annotations

import pytest

from newsletter.platform.settings import ConfigError, load_config


def test_production_without_secret_key_refuses_with_a_clear_message(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY is not set") as info:
        load_config({"BEITRAG_ENV": "production"}, tmp_path)
    assert "secrets.token_urlsafe" in str(info.value)
    assert not (tmp_path / "secret_key").exists()


def test_production_is_the_default_environment(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config({}, tmp_path)


def test_production_refuses_a_short_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="too short"):
        load_config({"SECRET_KEY": "abc"}, tmp_path)


def test_development_makes_a_secret_key_once_and_keeps_it(tmp_path):
    first = load_config({"BEITRAG_ENV": "development"}, tmp_path)["SECRET_KEY"]
    second = load_config({"BEITRAG_ENV": "development"}, tmp_path)["SECRET_KEY"]
    assert first == second and len(first) >= 48
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_earlier_secret_keys_are_read_as_a_list(tmp_path):
    env = {"BEITRAG_ENV": "development", "SECRET_KEY_FALLBACKS": " old-key-one , old-key-two,"}
    assert load_config(env, tmp_path)["SECRET_KEY_FALLBACKS"] == ["old-key-one", "old-key-two"]
    assert load_config({"BEITRAG_ENV": "development"}, tmp_path)["SECRET_KEY_FALLBACKS"] == []


def test_embedded_defaults_point_into_the_instance_folder(tmp_path):
    config = load_config({"BEITRAG_ENV": "development"}, tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'beitrag.db'}"
    assert config["REDIS_URL"] is None  # the embedded server is started on demand
    assert config["SMTP_URL"] == "smtp://127.0.0.1:1025"
    assert config["MAIL_CAPTURE_VIEWER"] is True
    assert config["AUTO_MIGRATE"] is True


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("postgres://u:p@db:5432/beitrag", "postgresql+psycopg://u:p@db:5432/beitrag"),
        ("postgresql://u@db/beitrag", "postgresql+psycopg://u@db/beitrag"),
        ("postgresql+psycopg://u@db/beitrag", "postgresql+psycopg://u@db/beitrag"),
    ],
)
def test_postgres_urls_are_given_the_psycopg_driver(tmp_path, raw, expected):
    config = load_config({"BEITRAG_ENV": "development", "DATABASE_URL": raw}, tmp_path)
    assert config["SQLALCHEMY_DATABASE_URI"] == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL is malformed"),
        ({"DATABASE_URL": "mysql://root@localhost/beitrag"}, "runs on PostgreSQL or SQLite"),
        ({"REDIS_URL": "http://localhost:6379"}, "REDIS_URL has the scheme 'http'"),
        ({"SMTP_URL": "smtp://"}, "SMTP_URL names no host"),
        ({"SMTP_URL": "imap://mail.example.org"}, "SMTP_URL has the scheme 'imap'"),
        ({"BEITRAG_ENV": "staging"}, "BEITRAG_ENV must be one of"),
        ({"MAIL_CAPTURE_PORT": "twenty-five"}, "MAIL_CAPTURE_PORT must be a whole number"),
        ({"BASE_URL": "ftp://example.org"}, "BASE_URL must start with http"),
        ({"LOGIN_RATE_LIMIT": "ten a minute"}, "LOGIN_RATE_LIMIT must read like"),
        ({"LOGIN_ACCOUNT_RATE_LIMIT": "5 per fortnight"}, "LOGIN_ACCOUNT_RATE_LIMIT must read like"),
        ({"LOGIN_SLOWDOWN_AFTER": "0"}, "LOGIN_SLOWDOWN_AFTER must be 1 or more"),
        ({"STAFF_REMEMBER_DAYS": "-1"}, "STAFF_REMEMBER_DAYS must be 1 or more"),
    ],
)
def test_malformed_settings_are_refused_by_name(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message):
        load_config({"BEITRAG_ENV": "development", **env}, tmp_path)


def test_https_base_url_makes_cookies_secure(tmp_path):
    config = load_config({"BEITRAG_ENV": "development", "BASE_URL": "https://news.example.org/"}, tmp_path)
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["BASE_URL"] == "https://news.example.org"
    plain = load_config({"BEITRAG_ENV": "development"}, tmp_path)
    assert not plain["SESSION_COOKIE_SECURE"]
