"""Page-load benchmark on an emulated Slow 3G link (not a test): the sign-in page and a signed-in
page, first visit and repeat visit, with the bundles (vault/static/dist) and without them.

    .venv/bin/python bench/web/pages.py                # 3 rounds, the median of each figure
    .venv/bin/python bench/web/pages.py --rounds 1     # quicker

Debian Chromium through Playwright against a real gunicorn on loopback; the link is Chromium's
own throttling (CDP Network.emulateNetworkConditions: 400 kbit/s down and up, 400 ms latency),
the HTTP cache on. A visit is timed from the navigation's start to the page being usable: the
load event, and boot() done (every [data-js-enable] button enabled: translations loaded,
libsodium instantiated, handlers attached).

Next to each first visit, its bound measured in the same visit: the bytes that crossed the link
(CDP encodedDataLength, headers included) at 400 kbit/s, plus one 400 ms latency per step of the
longest chain of requests that each waited for the one before (the page, then what it names,
then what those import or fetch…). Target: first visit ≤ 1.5 × bound; repeat visit ≤ 1.5 s.

"before" is the same server with VAULT_WEB_ASSETS=source: the source modules from /static/,
one import after another, uncompressed and revalidated (Cache-Control: no-cache) on every load,
and the translations catalog plain and never cached, as the vault was before the bundles.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

KBIT = 400
LATENCY_MS = 400
LINK = {"offline": False, "latency": LATENCY_MS, "downloadThroughput": KBIT * 1000 / 8,
        "uploadThroughput": KBIT * 1000 / 8}
FIRST_TARGET, REPEAT_TARGET = 1.5, 1.5
READY_JS = """() => document.readyState === "complete"
  && [...document.querySelectorAll("[data-js-enable]")].every((b) => !b.disabled)
  && performance.now()"""
# Activated means installed, and installing means the whole precache was fetched (sw.js addAll).
SW_FILLED = """async () => {
  const reg = await navigator.serviceWorker.ready;
  return !!navigator.serviceWorker.controller && !reg.installing && !reg.waiting && reg.active.state === "activated";
}"""


class Visit:
    """One navigation's requests as CDP reports them: bytes on the wire and the chain of waits."""

    def __init__(self, cdp):
        self.cdp, self.reqs, self.bytes, self.encodings = cdp, {}, {}, {}
        cdp.on("Network.requestWillBeSent", self._sent)
        cdp.on("Network.loadingFinished", self._done)
        cdp.on("Network.responseReceived", self._response)

    def reset(self):
        self.reqs.clear(), self.bytes.clear(), self.encodings.clear()

    def _sent(self, ev):
        init = ev.get("initiator") or {}
        parent = init.get("url")
        frames = (init.get("stack") or {}).get("callFrames") or []
        if not parent and frames:
            parent = frames[0].get("url")
        self.reqs[ev["requestId"]] = (ev["request"]["url"], parent, ev.get("type"))

    def _response(self, ev):
        if ev["response"].get("fromServiceWorker") or ev["response"].get("fromDiskCache"):
            return
        enc = {k.lower(): v for k, v in ev["response"].get("headers", {}).items()}.get("content-encoding", "identity")
        self.encodings[ev["requestId"]] = enc

    def _done(self, ev):
        self.bytes[ev["requestId"]] = ev.get("encodedDataLength", 0)

    def wire_bytes(self) -> int:
        return int(sum(self.bytes.values()))

    def chain(self, document: str) -> int:
        """Length of the longest chain of requests that went over the link (each named by the one before)."""
        on_wire = {self.reqs[r][0] for r in self.bytes if r in self.reqs and self.bytes[r] > 0}
        parent = {url: p for url, p, _ in self.reqs.values()}
        depth: dict[str, int] = {}

        def d(url: str, seen=()) -> int:
            if url in depth:
                return depth[url]
            p = parent.get(url)
            up = 0 if url == document or not p or p in seen else d(p, (*seen, url))
            depth[url] = up + (1 if url in on_wire else 0)
            return depth[url]

        return max((d(u) for u in on_wire), default=0)

    def codings(self) -> str:
        return ",".join(sorted(set(self.encodings.values()))) or "-"


def timed_visit(page, visit: Visit, url: str) -> dict:
    visit.reset()
    page.goto(url, wait_until="commit")
    ms = page.wait_for_function(READY_JS, polling="raf", timeout=120_000).json_value()
    page.wait_for_load_state("networkidle")  # count every byte of the visit (the catalog, late chunks)
    document = page.url
    return {"s": ms / 1000, "bytes": visit.wire_bytes(), "chain": visit.chain(document), "enc": visit.codings()}


def bound(v: dict) -> float:
    return v["bytes"] * 8 / (KBIT * 1000) + v["chain"] * LATENCY_MS / 1000


def measure(web, path: str, user=None) -> tuple[dict, dict]:
    """First (cold cache, no service worker) and repeat visit of one page in one fresh context."""
    page = web.page()
    if user is not None:
        web.login(page, user[0], user[1])  # keys in the tab; then forget every cached byte
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})
    cdp.send("Storage.clearDataForOrigin", {"origin": web.url, "storageTypes": "service_workers,cache_storage"})
    cdp.send("Network.clearBrowserCache")
    visit = Visit(cdp)
    cdp.send("Network.emulateNetworkConditions", LINK)
    first = timed_visit(page, visit, web.url + path)
    # The service worker fills its cache after the load (a real second visit comes later too).
    page.wait_for_function(SW_FILLED, timeout=120_000)
    page.wait_for_load_state("networkidle")
    repeat = timed_visit(page, visit, web.url + path)
    page.context.close()
    return first, repeat


def run_server(work: Path, env, source: bool, rounds: int, browser, user) -> dict:
    from tests.conftest import Gunicorn
    from tests.web.conftest import Web

    if not source:  # the bundle of the sources as they are now (under build-assets' lock)
        subprocess.run(["flock", "scripts/build-assets", "node", "scripts/bundle.mjs"], cwd=REPO, check=True)
    srv = Gunicorn(env, workers=2, extra_env={"VAULT_WEB_ASSETS": "source"} if source else {})
    try:
        web = Web(env, srv, browser, work)
        html = __import__("requests").get(srv.url + "/login", timeout=30).text
        if ("/assets/" in html) == source:
            raise SystemExit("the server does not serve what was asked (is vault/static/dist built and current?"
                             " run scripts/build-assets)")
        out = {}
        for label, path, who in (("/login", "/login", None), ("/cases (signed in)", "/cases", user)):
            runs = [measure(web, path, who) for _ in range(rounds)]
            out[label] = runs
        return out
    finally:
        srv.stop()


def med(runs, i, key):
    return statistics.median(r[i][key] for r in runs)


def codings(runs) -> str:
    return ",".join(sorted({c for r in runs for c in r[0]["enc"].split(",")} - {"-"})) or "-"


def report(after: dict, before: dict) -> None:
    print(f"\nSlow 3G ({KBIT} kbit/s, {LATENCY_MS} ms), median of {len(next(iter(after.values())))} rounds:\n")
    print(f"{'page':<20} {'visit':<7} {'before':>8} {'after':>8} {'bound':>7} {'target':>8}  after: bytes, chain, coding")
    ok = True
    for label in after:
        a, b = after[label], before[label]
        fb = statistics.median(bound(r[0]) for r in a)
        first, rep = med(a, 0, "s"), med(a, 1, "s")
        ok &= first <= FIRST_TARGET * fb and rep <= REPEAT_TARGET
        print(f"{label:<20} {'first':<7} {med(b, 0, 's'):7.2f}s {first:7.2f}s {fb:6.2f}s {FIRST_TARGET * fb:7.2f}s"
              f"  {int(med(a, 0, 'bytes')):,} B, {int(med(a, 0, 'chain'))} steps, {codings(a)}"
              f"{'' if first <= FIRST_TARGET * fb else '  <- over target'}")
        print(f"{'':<20} {'repeat':<7} {med(b, 1, 's'):7.2f}s {rep:7.2f}s {'':>7} {REPEAT_TARGET:7.2f}s"
              f"  {int(med(a, 1, 'bytes')):,} B, {int(med(a, 1, 'chain'))} steps"
              f"{'' if rep <= REPEAT_TARGET else '  <- over target'}")
        print(f"{'':<20} {'before:':<7} first {int(med(b, 0, 'bytes')):,} B ({b[0][0]['enc']}),"
              f" repeat {int(med(b, 1, 'bytes')):,} B")
    print("\nall targets met" if ok else "\nsome targets missed (see above)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    os.environ["VAULT_INSECURE_TEST_KDF"] = "1"  # cheap Argon2: the sign-in is not what is timed
    from playwright.sync_api import sync_playwright

    from tests.conftest import Gunicorn, certified_admin, make_env, person
    from tests.web.conftest import ARGS, CHROMIUM

    work = Path(tempfile.mkdtemp(prefix="vault-pagebench-"))
    env = make_env(work)
    srv = Gunicorn(env, workers=2)
    try:
        for d in ("admin", "bench"):
            (work / d).mkdir()
        admin = certified_admin(srv.url, env, work / "admin", "admin", "admin-password-1")
        person(srv.url, work / "bench", "bench", "bench-password-1", admin.invite("lawyer")["code"])
        admin.certify_pending(only="bench")
    finally:
        srv.stop()
    user = ("bench", "bench-password-1")
    pw = sync_playwright().start()
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    try:
        print(f"Chromium {browser.version}; measuring with the bundles, then without …", flush=True)
        after = run_server(work, env, False, args.rounds, browser, user)
        before = run_server(work, env, True, args.rounds, browser, user)
    finally:
        browser.close()
        pw.stop()
    report(after, before)


if __name__ == "__main__":
    main()
