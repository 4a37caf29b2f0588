"""Field app benchmark (not a test): capture on a phone, and sending over a slow link (docs/field.md).

    .venv/bin/python bench/web/field.py                    # 8 MiB photo, 4x CPU throttle, 500 kB/s link
    .venv/bin/python bench/web/field.py --mib 2 --cpu 6 --rate 125000

Debian Chromium at 390 px with the CPU slowed by CDP (Emulation.setCPUThrottlingRate) as a
phone's is, against a real gunicorn behind a TCP proxy that carries at most `--rate` bytes a
second towards the server. Printed, best of `--rounds`:

* capture: from the photo handed to the page to its item listed in the outbox (hashed, signed,
  encrypted, sealed and stored in IndexedDB), next to the bound measured in the same page and
  run: the same bytes through the same libsodium (crypto.js: SHA-256, XChaCha20-Poly1305) and
  one strict IndexedDB write of the ciphertext;
* sending: from the link's return to the outbox empty (sign-in with the kept auth key, the
  resumable upload, the server's checks), next to the link's bound: ciphertext bytes / rate.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchcase import lawyer_with_case  # noqa: E402 (bench/web is on sys.path)

MiB = 1024 * 1024

# The same work as a capture, without the page: hash, encrypt, store (crypto.js is the page's libsodium).
BOUND_JS = """async ([size]) => {
  const vc = await import("/static/js/crypto.js");
  await vc.ready();
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) crypto.getRandomValues(bytes.subarray(i, Math.min(size, i + 65536)));
  const db = await new Promise((ok, no) => { const r = indexedDB.open("bench-bound", 1);
    r.onupgradeneeded = () => r.result.createObjectStore("x"); r.onsuccess = () => ok(r.result); r.onerror = () => no(r.error); });
  const t = performance.now();
  vc.sha256Hex(bytes);
  const key = vc.randomKey();
  const ct = vc.aeadEncrypt(key, bytes, vc.encodeUtf8("bench"));
  await new Promise((ok, no) => { const tx = db.transaction("x", "readwrite", { durability: "strict" });
    tx.objectStore("x").put(new Blob([ct]), 1); tx.oncomplete = ok; tx.onerror = () => no(tx.error); });
  const ms = performance.now() - t;
  db.close();
  indexedDB.deleteDatabase("bench-bound");
  return ms;
}"""


MARK_JS = """() => {
  window.__chosen = window.__listed = null;
  document.querySelector("#photo-input").addEventListener("change", () => (window.__chosen = performance.now()),
    { capture: true, once: true });
  const list = document.querySelector("#outbox-list");
  new MutationObserver((ms, obs) => { if (list.querySelector("li[data-state=waiting]")) {
    window.__listed = performance.now(); obs.disconnect(); } }).observe(list, { childList: true, subtree: true });
}"""


def photo(size: int) -> bytes:
    """A JPEG of about `size` bytes: noise compresses badly, as a photo of a real scene does."""
    from PIL import Image

    side = 512
    while True:
        buf = io.BytesIO()
        Image.effect_noise((side, side * 3 // 4), 80).convert("RGB").save(buf, "JPEG", quality=95)
        if buf.tell() >= size:
            return buf.getvalue()
        side = int(side * 1.25)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mib", type=float, default=8, help="photo size in MiB (default 8)")
    ap.add_argument("--cpu", type=float, default=4, help="CPU slow-down factor, as a phone (default 4)")
    ap.add_argument("--rate", type=int, default=500_000, help="link towards the server, bytes/s (default 500000)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    os.environ["VAULT_INSECURE_TEST_KDF"] = "1"  # cheap Argon2: sign-in cost is not what we measure
    from playwright.sync_api import sync_playwright

    from tests.conftest import Gunicorn, make_env
    from tests.tcpproxy import SlowLink
    from tests.web.conftest import ARGS, CHROMIUM, Web
    from vault.crypto import stream_ciphertext_size

    work = Path(tempfile.mkdtemp(prefix="vault-fieldbench-"))
    srv = link = None
    try:
        jpeg = photo(int(args.mib * MiB))
        env = make_env(work)
        srv = Gunicorn(env, workers=2)
        _lawyer, case_id = lawyer_with_case(srv.url, env, work, "BENCH-FIELD-1")
        link = SlowLink(srv.port, None)
        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        captures, bounds, sends = [], [], []
        try:
            web = Web(env, srv, browser, work)
            page = web.page(phone=True)
            web.login(page, "bench", "bench-password-1", base=link.url)
            page.goto(f"{link.url}/field/en")
            page.fill("#field-username", "bench")
            page.fill("#field-password", "bench-password-1")
            page.click("#field-unlock")
            page.wait_for_selector("#capture:not([hidden]), #alert:not([hidden])")
            if page.is_visible("#alert"):
                raise SystemExit(f"the field app did not open: {page.text_content('#alert')}")
            cdp = page.context.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": args.cpu})
            for n in range(args.rounds):
                bounds.append(page.evaluate(BOUND_JS, [len(jpeg)]) / 1000)
                link.go_down()
                page.context.set_offline(True)
                # Timed in the page, from the input's change event to the item in the list: not Playwright
                # handing the file over its pipe.
                page.evaluate(MARK_JS)
                page.set_input_files("#photo-input", files=[{"name": f"IMG_{n}.jpg", "mimeType": "image/jpeg",
                                                             "buffer": jpeg}])
                page.wait_for_selector("#outbox-list li[data-state=waiting]")
                captures.append(page.evaluate("window.__listed - window.__chosen") / 1000)
                link.rate = args.rate
                link.come_up()
                t = time.perf_counter()
                page.context.set_offline(False)
                page.wait_for_selector("#outbox-empty:not([hidden])", timeout=600_000)
                sends.append(time.perf_counter() - t)
                link.rate = None
        finally:
            browser.close()
            pw.stop()
        wire = stream_ciphertext_size(len(jpeg))
        cap, bound, send = min(captures), min(bounds), min(sends)
        print(f"\nField app, a {len(jpeg) / MiB:.1f} MiB photo, CPU slowed {args.cpu:g}x, best of {args.rounds}")
        print("| measure | field app | bound (same run) | ratio |\n| --- | --- | --- | --- |")
        print(f"| capture (hash, sign, encrypt, store) | {cap:.2f} s | {bound:.2f} s (crypto.js + one IndexedDB write) "
              f"| {bound / cap:.2f} |")
        print(f"| sending at {args.rate / 1000:g} kB/s | {send:.1f} s | {wire / args.rate:.1f} s (ciphertext / rate) "
              f"| {wire / args.rate / send:.2f} |")
        print(f"rounds: capture {', '.join(f'{x:.2f}' for x in captures)} s; "
              f"send {', '.join(f'{x:.1f}' for x in sends)} s")
    finally:
        if link:
            link.close()
        if srv:
            srv.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
