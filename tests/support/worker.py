"""Run queued jobs the way a worker does, in this process, until the queues are empty."""

from __future__ import annotations

from rq import SimpleWorker

from newsletter.queues import QUEUE_NAMES, get_queue, get_redis


def run_jobs(app, queue_names=QUEUE_NAMES) -> None:
    connection = get_redis(app)
    worker = SimpleWorker([get_queue(n, app) for n in queue_names], connection=connection)
    worker.work(burst=True)
