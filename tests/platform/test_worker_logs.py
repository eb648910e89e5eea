"""The worker keeps the screen for what matters: RQ's lines for the periodic jobs the clock queues, and its
lines after a job that went well, are DEBUG; a send batch starting and any warning stay at INFO and above."""

from __future__ import annotations

import logging

from newsletter.platform import clock, worker


def test_periodic_jobs_and_routine_lines_log_at_debug(app, caplog):
    worker.quiet_routine_logs(app)
    periodic = next(p.kind.function for p in clock.periodic_jobs(app) if not p.inline)
    log = logging.getLogger("rq.worker")
    previous = log.level
    try:
        log.setLevel(logging.INFO)
        with caplog.at_level(logging.INFO, logger="rq.worker"):
            log.info("Worker w1: %s: %s (%s)", "default", f"{periodic}()", "job-1")
            log.info("Worker w1: %s: %s (%s)", "default", "Job OK", "job-1")
            log.info("Worker w1: job %s result is kept for %d seconds", "job-1", 60)
            log.info(
                "Worker w1: %s: %s (%s)", "mail", "newsletter.sending.tasks.send_issue_batch(3, 1, 500)", "j2"
            )
            log.warning("Worker w1: %s failed", f"{periodic}()")
        shown = [(r.levelname, r.getMessage()) for r in caplog.records]
        assert shown == [
            ("INFO", "Worker w1: mail: newsletter.sending.tasks.send_issue_batch(3, 1, 500) (j2)"),
            ("WARNING", f"Worker w1: {periodic}() failed"),
        ]
        caplog.clear()
        log.setLevel(logging.DEBUG)
        with caplog.at_level(logging.DEBUG, logger="rq.worker"):
            log.info("Worker w1: %s: %s (%s)", "default", f"{periodic}()", "job-3")
        assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
            ("DEBUG", f"Worker w1: default: {periodic}() (job-3)")
        ]
    finally:
        log.setLevel(previous)
