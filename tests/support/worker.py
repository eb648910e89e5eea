"""Run queued jobs the way the clock and a worker do, in this process, until the queues are empty."""

from __future__ import annotations

from rq import SimpleWorker

from newsletter.platform import queues
from newsletter.platform.queues import QUEUE_NAMES, get_queue, get_redis
from newsletter.readers import tasks as readers_tasks


def run_jobs(app, queue_names=QUEUE_NAMES) -> None:
    """One tick of the clock's frequent jobs (the reader- and donor-mail sweeps: sign-ups and Stripe's
    events only write their mails to an outbox), then a burst worker over the queues, so a test sees
    request -> sweeper -> worker -> SMTP."""
    connection = get_redis(app)
    if "transactional" in queue_names:
        get_queue("transactional", app).enqueue(readers_tasks.sweep_reader_mails)
        get_queue("transactional", app).enqueue(queues.SWEEP_DONOR_MAILS.function)
        get_queue("transactional", app).enqueue(queues.SWEEP_WELCOME_MAILS.function)
    worker = SimpleWorker([get_queue(n, app) for n in queue_names], connection=connection)
    worker.work(burst=True)
