"""The RQ worker: a real worker process on the test Redis runs a job inside the app context."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newsletter.platform.queues import get_queue, get_redis
from newsletter.platform.redis_server import start_embedded_redis
from tests.readers.factories import make_newsletter

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a real worker process
def test_worker_runs_jobs_in_the_app_context(app, db, base_config, instance_dir, tmp_path):
    make_newsletter(db, "ki", "KI-News")
    db.session.commit()
    out = tmp_path / "job.txt"
    job = get_queue("default").enqueue("tests.support.jobs.record_app_context", str(out))
    env = {**os.environ, "BEITRAG_ENV": "testing", "BEITRAG_INSTANCE": str(instance_dir),
           "DATABASE_URL": base_config["DATABASE_URL"], "REDIS_URL": base_config["REDIS_URL"],
           "SECRET_KEY": base_config["SECRET_KEY"]}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "newsletter", "worker", "--burst"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_text() == "testing newsletters=1"
    job.refresh()
    assert job.is_finished
    assert job.return_value() == "testing newsletters=1"


def test_transactional_queue_is_served_before_bulk_mail(app):
    from newsletter.platform.queues import QUEUE_NAMES

    assert QUEUE_NAMES[0] == "transactional"
    assert get_redis().ping()


@pytest.mark.slow  # a real Redis server process
def test_embedded_redis_is_shared_by_every_process_of_a_checkout(tmp_path):
    from newsletter.platform.redis_server import stop_embedded_redis

    first = start_embedded_redis(tmp_path, persist=False)
    try:
        second = start_embedded_redis(tmp_path, persist=False)
        assert first == second == f"unix://{tmp_path.resolve() / 'redis.sock'}"
        pid = int((tmp_path / "redis.pid").read_text())
        assert Path(f"/proc/{pid}").exists()
    finally:
        assert stop_embedded_redis(tmp_path)
    assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()


def test_a_worker_compiles_the_mail_templates_once_and_a_broken_one_does_not_stop_it(app, tmp_path):
    # The worker compiles every e-mail template before it forks work horses, so a horse renders an issue
    # without compiling templates again; a template with a syntax error is left for the render to report.
    import shutil

    from newsletter.mail import rendering

    folder = tmp_path / "templates"
    shutil.copytree(Path(app.root_path) / "templates", folder)
    (folder / "email/test_message/subject.txt").write_text("{% if %}kaputt")
    renderer = rendering.EmailRenderer(
        folder, {"newsroom_name": "KI", "postal_address": "B", "base_url": "x"}, auto_reload=False
    )
    compiled = renderer.compile_templates()
    assert "email/issue_digest/body.mjml" in compiled and "email/_layout.mjml" in compiled
    assert "email/test_message/subject.txt" not in compiled
    assert all(name.startswith("email/") for name in compiled)
    (folder / "email/issue_digest/subject.txt").unlink()  # compiled already: not read again
    assert renderer.render_template("email/issue_digest/subject.txt", {"issue_subject": "Hallo"}) == "Hallo"
