"""Tell gunicorn's arbiter that a long request is still making progress.

A sync worker proves it is alive only between requests; one request longer
than `timeout` (30 s) is killed. Two requests can take longer while making
progress: a chunk arriving over a slow mobile link (vault/api/body.py beats
for every piece received) and, at finish, sending a large blob to an object
store (the upload's progress callback beats). gunicorn's `post_worker_init` hook (config/gunicorn.conf.py)
installs the worker's own notify; outside gunicorn this does nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

_notify: Callable[[], None] | None = None
_last = 0.0
_lock = threading.Lock()


def install(notify: Callable[[], None]) -> None:
    global _notify
    _notify = notify


def beat(min_interval: float = 1.0) -> None:
    """Callable from any thread, as often as one likes: notifies at most once per `min_interval`."""
    global _last
    if _notify is None:
        return
    now = time.monotonic()
    with _lock:
        if now - _last < min_interval:
            return
        _last = now
    _notify()
