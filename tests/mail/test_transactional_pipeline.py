"""Transactional mail takes the newsletter's road: a real worker process (``flask newsletter worker
--burst``) configured from the environment with a DKIM key sends both kinds through ``mail.smtp.Relay``,
signed, from a signed bounce address; and it serves the ``transactional`` queue first, so a reader who
asked for a confirmation does not wait behind a newsletter."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from newsletter.mail import return_paths, signing
from newsletter.mail.tasks import queue_transactional_mail
from newsletter.sending import progress
from tests.sending.factories import issue_with_readers, start_send
from tests.support.dkim import DKIM_DOMAIN, DKIM_SELECTOR, dkim_verifies

pytestmark = pytest.mark.slow  # a real worker process

ROOT = Path(__file__).resolve().parents[2]


def test_a_worker_sends_transactional_mail_first_and_signs_everything(
    app, db, relay, base_config, instance_dir, dkim_key_file
):
    issue = issue_with_readers(db, readers=[f"leser{i}@example.org" for i in range(6)])
    start_send(db, issue, batch_size=2)  # three newsletter jobs wait
    queue_transactional_mail("test_message", "eilig@example.org", {}, locale="de")  # queued after them

    env = {**os.environ, "BEITRAG_ENV": "testing", "BEITRAG_INSTANCE": str(instance_dir),
           "DATABASE_URL": base_config["DATABASE_URL"], "REDIS_URL": base_config["REDIS_URL"],
           "SECRET_KEY": base_config["SECRET_KEY"], "SMTP_URL": relay.url, "BASE_URL": "http://localhost",
           "DKIM_PRIVATE_KEY": str(dkim_key_file), "DKIM_SELECTOR": DKIM_SELECTOR,
           "DKIM_DOMAIN": DKIM_DOMAIN, "BOUNCE_DOMAIN": "bounces.ki-kompass.example"}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "newsletter", "worker", "--burst"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    relay.wait_for(7)
    assert relay.received[0].rcpt_tos == ["eilig@example.org"]  # served first
    assert sorted(r.rcpt_tos[0] for r in relay.received[1:]) == [f"leser{i}@example.org" for i in range(6)]
    key = signing.load_key(str(dkim_key_file), DKIM_SELECTOR, DKIM_DOMAIN)
    secret = base_config["SECRET_KEY"]
    for received in relay.received:
        assert dkim_verifies(received.raw, key), received.rcpt_tos
        assert received.mail_from.endswith("@bounces.ki-kompass.example")
        address = return_paths.read_return_path(secret, received.mail_from)
        assert address is not None
        if received.rcpt_tos == ["eilig@example.org"]:
            assert return_paths.vouches_for(secret, address, "eilig@example.org")
        else:
            assert address.issue_id == issue.id
    assert progress.progress(db.session, issue.id)["sent"] == 6
