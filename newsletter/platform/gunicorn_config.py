"""gunicorn settings for the web role: `gunicorn -c python:newsletter.platform.gunicorn_config ...` (the
Procfile's
``web`` role and ``bench/subscribe.py``); the command line adds the bind address, workers and threads."""

import gc


def post_worker_init(worker):
    # Imported here, in the worker, where the app has already imported it: the master stays small.
    from newsletter.platform import overload

    # Each request learns how long it waited for the worker, so that sign-ups past its capacity are
    # answered 503 at once instead of after seconds in the backlog and the thread pool's queue; while the
    # worker is behind, its threads hand over the GIL more often.
    overload.install(worker)
    # The ~130,000 objects a worker creates at start-up (modules, templates, the app) live as long as the
    # worker. Frozen, they are out of the cyclic collector's sight: a full collection then takes well under a
    # millisecond instead of 40-100 ms, a pause that every request in flight waits out (the p99 of sign-ups).
    gc.freeze()
