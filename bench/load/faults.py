"""The faults of the soak (run.py --faults): killed workers and a database that goes away.

Both run as threads of the bench process while the clients load the server:

- WorkerKiller sends SIGKILL to a random gunicorn worker every few seconds
  (what the OOM killer or a crash does); the arbiter starts a new one.
- DatabaseOutage makes the database unusable for a few seconds, twice.
  PostgreSQL: the workers reach it through a TCP proxy of the bench
  (tests/tcpproxy.py); going down closes its port (connections refused)
  and breaks every open connection, as a PostgreSQL restart or failover
  does. SQLite has no connection to refuse: its outage is another process
  holding the database's write lock (BEGIN EXCLUSIVE, as a maintenance
  script or an admin's sqlite3 shell would), so every writer must wait.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import threading
import time


class WorkerKiller(threading.Thread):
    """SIGKILL a random worker of the arbiter every `every` seconds (±40 %), until stopped."""

    def __init__(self, srv, every: float, seed: int = 1):
        super().__init__(daemon=True)
        self.srv, self.every = srv, every
        self.rng = random.Random(seed)  # noqa: S311 - a reproducible schedule, not a secret
        self.kills: list[tuple[float, int]] = []  # (time, pid)
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.every * self.rng.uniform(0.6, 1.4)):
            pids = self.srv.worker_pids()
            if not pids:
                continue
            pid = self.rng.choice(pids)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:  # it exited on its own (max_requests) in between
                continue
            self.kills.append((time.time(), pid))


class PostgresDown:
    """The proxy between the workers and PostgreSQL refuses and breaks connections."""

    kind = "PostgreSQL refuses connections (its port closed, open connections broken)"

    def __init__(self, proxy):
        self.proxy = proxy

    def begin(self) -> None:
        self.proxy.go_down()

    def end(self) -> None:
        self.proxy.come_up()


class SqliteLocked:
    """Another process holds the SQLite database's write lock."""

    kind = "another process holds the SQLite write lock (BEGIN EXCLUSIVE)"

    def __init__(self, path):
        self.path, self.conn = path, None

    def begin(self) -> None:
        # Waits for the writer of the moment, like any other writer would.
        self.conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.conn.execute("BEGIN EXCLUSIVE")

    def end(self) -> None:
        self.conn.execute("ROLLBACK")
        self.conn.close()
        self.conn = None


class DatabaseOutage(threading.Thread):
    """`count` outages of `seconds` each, spread evenly over a load of `span` seconds."""

    def __init__(self, fault, span: float, count: int, seconds: float):
        super().__init__(daemon=True)
        self.fault, self.span, self.count, self.seconds = fault, span, count, seconds
        self.windows: list[tuple[float, float]] = []  # (start, end) as the database saw them
        self.stop = threading.Event()

    def run(self) -> None:
        t0 = time.time()
        for i in range(self.count):
            at = t0 + self.span * (i + 1) / (self.count + 1) - self.seconds / 2
            if self.stop.wait(max(0.0, at - time.time())):
                return
            self.fault.begin()
            start = time.time()
            time.sleep(self.seconds)
            self.fault.end()
            self.windows.append((start, time.time()))

    @property
    def total_s(self) -> float:
        return sum(b - a for a, b in self.windows)
