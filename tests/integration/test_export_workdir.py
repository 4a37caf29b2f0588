"""A killed export leaves decrypted attachments in its work folder; the next export removes them."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from vault.client.export import OWNER_FILE, WORKDIR_PREFIX, sweep_interrupted


def _workdir(parent, name, pid=None, age=0.0):
    d = parent / (WORKDIR_PREFIX + name)
    d.mkdir(mode=0o700)
    (d / "attachment-1").write_bytes(b"decrypted statement")
    if pid is not None:
        (d / OWNER_FILE).write_text(str(pid))
    if age:
        t = time.time() - age
        os.utime(d, (t, t))
    return d


def test_folders_of_dead_exports_go_and_live_ones_stay(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a real process that has ended: its pid names nobody now
    killed = _workdir(tmp_path, "killed", pid=dead.pid)
    running = _workdir(tmp_path, "running", pid=os.getpid())
    ownerless_old = _workdir(tmp_path, "old", age=3600)
    ownerless_new = _workdir(tmp_path, "new")
    unrelated = tmp_path / "my-documents"
    unrelated.mkdir()

    removed = sweep_interrupted(tmp_path)

    assert set(removed) == {killed, ownerless_old}
    assert not killed.exists() and not ownerless_old.exists()
    assert running.exists() and ownerless_new.exists() and unrelated.exists()
