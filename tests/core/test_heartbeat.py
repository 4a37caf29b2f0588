"""vault.serving.heartbeat: a long request tells gunicorn it is alive, at a bounded rate, from any thread."""

from __future__ import annotations

import threading

from vault.serving import heartbeat


def test_beats_are_rate_limited_and_thread_safe(monkeypatch):
    calls = []
    monkeypatch.setattr(heartbeat, "_last", 0.0)
    monkeypatch.setattr(heartbeat, "_notify", None)
    heartbeat.beat()  # outside gunicorn: nothing installed, nothing happens
    heartbeat.install(lambda: calls.append(1))
    threads = [threading.Thread(target=lambda: [heartbeat.beat(min_interval=60) for _ in range(100)]) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]
    heartbeat.beat(min_interval=0)
    assert calls == [1, 1]


def test_gunicorn_config_installs_the_workers_notify(monkeypatch):
    import runpy
    from pathlib import Path

    conf = runpy.run_path(str(Path(__file__).resolve().parents[2] / "config" / "gunicorn.conf.py"))
    monkeypatch.setattr(heartbeat, "_notify", None)

    class Worker:
        def notify(self):
            pass

    w = Worker()
    conf["post_worker_init"](w)
    assert heartbeat._notify == w.notify
