"""The Chromium processes a benchmark started, and their memory (for bench/web/run.py and export.py)."""

from __future__ import annotations

import os
from pathlib import Path


def _descendants() -> list[int]:
    me, children = os.getpid(), {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(d.name))
    todo, mine = [me], []
    while todo:
        for c in children.get(todo.pop(), []):
            mine.append(c)
            todo.append(c)
    return mine


def renderer_pids() -> set[int]:
    """The Chromium renderer processes started under this process."""
    out = set()
    for pid in _descendants():
        try:
            if b"--type=renderer" in Path(f"/proc/{pid}/cmdline").read_bytes():
                out.add(pid)
        except OSError:
            continue
    return out


def browser_pids() -> set[int]:
    """The Chromium browser process (no --type=): where the request Blobs and the network stack live."""
    out = set()
    for pid in _descendants():
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"chromium" in cmd.split(b"\0")[0] and b"--type=" not in cmd:
            out.add(pid)
    return out


def rss_kib(pids: set[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total
