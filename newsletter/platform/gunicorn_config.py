"""gunicorn settings for the web role: `gunicorn -c python:newsletter.platform.gunicorn_config ...` (the
Procfile's
``web`` role and ``bench/subscribe.py``); the command line adds the bind address, workers and threads."""

import gc
import sys

# How often a thread holding the GIL is asked to hand it over (Python's default is 5 ms). A web worker runs
# sixteen request threads beside its accepting main loop; past its capacity each of them waits for the GIL
# every time it comes back from the database or the socket, one interval per waiting thread. At 1 ms a
# request waits a fifth as long each time; on a busy two-core machine sign-ups at 600/s were answered
# (accepted or shed) at p99 197-270 ms instead of 720 ms (README, Performance).
GIL_SWITCH_INTERVAL = 0.001


def post_worker_init(worker):
    # Imported here, in the worker, where the app has already imported it: the master stays small.
    from newsletter.platform import overload

    # Each request learns how long it waited for the worker, so that sign-ups past its capacity are
    # answered 503 at once instead of after seconds in the backlog and the thread pool's queue.
    overload.install(worker)
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    # The ~130,000 objects a worker creates at start-up (modules, templates, the app) live as long as the
    # worker. Frozen, they are out of the cyclic collector's sight: a full collection then takes well under a
    # millisecond instead of 40-100 ms, a pause that every request in flight waits out (the p99 of sign-ups).
    gc.freeze()
