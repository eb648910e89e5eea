"""Starting the app against services that are not there: a clear message, and nothing written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app import create_app
from newsletter.platform.database import DatabaseUnavailable
from newsletter.platform.redis_server import RedisUnavailable
from newsletter.platform.settings import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_unreachable_redis_is_named_at_start(base_config):
    with pytest.raises(RedisUnavailable, match=r"Redis at redis://127\.0\.0\.1:1/0 is unreachable"):
        create_app({**base_config, "REDIS_URL": "redis://127.0.0.1:1/0"})


def test_redis_password_is_not_printed(base_config):
    with pytest.raises(RedisUnavailable) as info:
        create_app({**base_config, "REDIS_URL": "redis://user:hunter2hunter2@127.0.0.1:1/0"})
    assert "hunter2" not in str(info.value)
    assert "***" in str(info.value)


def test_unreachable_database_is_named_at_start(base_config):
    url = "postgresql+psycopg://beitrag:s3cret-pass@127.0.0.1:1/beitrag"
    with pytest.raises(DatabaseUnavailable, match="is unreachable") as info:
        create_app({**base_config, "DATABASE_URL": url})
    assert "s3cret-pass" not in str(info.value)
    assert "127.0.0.1:1/beitrag" in str(info.value)


def test_malformed_database_url_is_refused_before_anything_is_written(base_config, tmp_path):
    with pytest.raises(ConfigError, match="DATABASE_URL is malformed"):
        create_app({**base_config, "DATABASE_URL": "::not-a-database::"})


def _flask(args: list[str], env: dict[str, str], instance: Path, **kw) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "BEITRAG_", "SECRET_"))}
    clean.update(env, BEITRAG_INSTANCE=str(instance))
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", *args],
        cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60, **kw,
    )  # fmt: skip


@pytest.mark.slow  # a flask process
def test_production_start_without_secret_key_refuses(tmp_path, redis_url):
    result = _flask(["users", "list"], {"BEITRAG_ENV": "production", "REDIS_URL": redis_url}, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert not (tmp_path / "beitrag.db").exists()
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.slow  # three flask processes
def test_production_upgrades_the_schema_only_when_asked(tmp_path, redis_url):
    env = {"BEITRAG_ENV": "production", "REDIS_URL": redis_url, "SECRET_KEY": "x" * 40,
           "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}"}  # fmt: skip
    before = _flask(["users", "list"], env, tmp_path)
    assert before.returncode != 0  # no tables yet: production never migrates by itself
    upgraded = _flask(["db", "upgrade"], env, tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    after = _flask(["users", "list"], env, tmp_path)
    assert after.returncode == 0, after.stderr
