"""Browser export benchmark (not a test): a case with one large video exported from the export page
in Debian Chromium, against a real gunicorn on loopback (docs/exports.md "The browser").

    .venv/bin/python bench/web/export.py              # 1 GiB video (as in the README)
    .venv/bin/python bench/web/export.py --mib 200    # quicker

The video is uploaded with the Python client, then exported in the page: decrypted chunk by chunk
into the ZIP the page streams into the Origin Private File System. Printed:

* the time from the click to "The export is ready", and its rate;
* the disk-write bound: the same browser writing the same number of bytes into an OPFS file
  (createWritable, 1 MiB writes, no crypto, no ZIP), in the same run: the export cannot beat it;
* the page's peak JavaScript heap above its size before (CDP Performance.getMetrics), its
  ArrayBuffers' backing stores (Runtime.getHeapUsage), and the peak resident size of the page's renderer process above before (/proc): flat in the file size means
  far below the file's size;
* that the bundle verifies (`vault verify`) and that its video is the original (SHA-256).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from benchcase import lawyer_with_case  # noqa: E402 (bench/web is on sys.path)
from chromium_procs import renderer_pids, rss_kib  # noqa: E402 (bench/web is on sys.path)

MiB = 1024 * 1024

OPFS_BOUND_JS = """async ([mib]) => {
  const dir = await (await navigator.storage.getDirectory()).getDirectoryHandle("bench", { create: true });
  const handle = await dir.getFileHandle("bound.bin", { create: true });
  const chunk = new Uint8Array(1048576);
  crypto.getRandomValues(chunk.subarray(0, 65536));
  const t = performance.now();
  const w = await handle.createWritable();
  for (let i = 0; i < mib; i++) await w.write(chunk);
  await w.close();
  const ms = performance.now() - t;
  await dir.removeEntry("bound.bin");
  return ms;
}"""


def make_video(path: Path, size: int) -> str:
    block = os.urandom(MiB)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for n in range(size // MiB):
            chunk = n.to_bytes(8, "big") + block[8:]
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def heap(cdp) -> tuple[int, int]:
    """The page's JS heap, and the backing stores of its ArrayBuffers."""
    used = next(m["value"] for m in cdp.send("Performance.getMetrics")["metrics"] if m["name"] == "JSHeapUsedSize")
    return int(used), int(cdp.send("Runtime.getHeapUsage")["backingStorageSize"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mib", type=int, default=1024, help="video size in MiB (default 1024)")
    args = ap.parse_args()
    os.environ["VAULT_INSECURE_TEST_KDF"] = "1"  # cheap Argon2: sign-in cost is not what we measure
    from playwright.sync_api import sync_playwright

    from tests.conftest import Gunicorn, make_env
    from tests.web.conftest import ARGS, CHROMIUM, User, Web
    from vault.client.transfer import upload_file
    from vault.export.verify import verify_bundle

    work = Path(tempfile.mkdtemp(prefix="vault-exportbench-"))
    srv = None
    try:
        size = args.mib * MiB
        src = work / "interrogation.mp4"
        print(f"Preparing a {args.mib} MiB video in {work} …", flush=True)
        want = make_video(src, size)
        env = make_env(work)
        srv = Gunicorn(env, workers=2)
        lawyer, case_id = lawyer_with_case(srv.url, env, work, "BENCH-EXPORT-1")
        t = time.perf_counter()
        video = upload_file(lawyer, case_id, src, {"title": "Interrogation", "evidence_type": "video"},
                            media_type="video/mp4")["item_id"]
        print(f"uploaded with the Python client in {time.perf_counter() - t:.1f} s", flush=True)
        src.unlink()

        pw = sync_playwright().start()
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            web = Web(env, srv, browser, work)
            web.upload_record(User("bench", "bench-password-1", lawyer, work / "bench"), case_id,
                              Web.browser_record(video))
            before = renderer_pids()
            page = web.page()
            web.login(page, "bench", "bench-password-1")
            pids = renderer_pids() - before
            bound_ms = page.evaluate(OPFS_BOUND_JS, [args.mib + 1])
            downloads = []
            page.on("download", lambda d: downloads.append(d))
            page.goto(f"{srv.url}/cases/{case_id}/export")
            page.wait_for_selector('#exporters li[data-exporter="ombudsman"]')
            page.check("#exp-ombudsman")
            page.check("#export-draft")
            page.wait_for_function("() => !document.querySelector('#export-button').disabled")
            cdp = page.context.new_cdp_session(page)
            cdp.send("Performance.enable")
            cdp.send("HeapProfiler.collectGarbage")
            heap0, rss0 = heap(cdp), rss_kib(pids)
            peak_heap, peak_rss = heap0, rss0
            page.evaluate("""() => {
              window.__steps = [];
              new MutationObserver((ms) => ms.forEach((m) => m.addedNodes.forEach((n) =>
                window.__steps.push([performance.now(), n.textContent.replace(/[:…].*$/, "")]))))
                .observe(document.querySelector("#export-steps"), { childList: true });
            }""")
            t = time.perf_counter()
            page.click("#export-button")
            while not page.is_visible("#export-done") and not page.is_visible("#alert"):
                peak_heap, peak_rss = tuple(map(max, peak_heap, heap(cdp))), max(peak_rss, rss_kib(pids))
                page.wait_for_timeout(100)
            seconds = time.perf_counter() - t
            ready = page.evaluate("performance.now()")
            if page.is_visible("#alert"):
                raise SystemExit(f"the export failed: {page.text_content('#alert')}")
            page.wait_for_function("() => document.querySelector('#export-download').href.startsWith('blob:')")
            if not downloads:
                with page.expect_download() as dl:
                    page.click("#export-download")
                downloads.append(dl.value)
            bundle = work / "bundle.zip"
            downloads[0].save_as(bundle)
            report = verify_bundle(bundle)
            with zipfile.ZipFile(bundle) as zf:
                annex = json.loads(zf.read("custody/annex.json"))
                path = next(i["path"] for i in annex["items"] if i["item_id"] == video)
                digest = hashlib.sha256()
                with zf.open(path) as member:
                    while chunk := member.read(4 * MiB):
                        digest.update(chunk)
            page.click("#export-forget")
            steps = page.evaluate("window.__steps")
            steps.append([ready, "(ready)"])
            written = bundle.stat().st_size
            print(f"\nChromium {browser.version}, {args.mib} MiB video, bundle {written / 1e6:.0f} MB")
            print(f"export, click to ready:           {seconds:6.1f} s  {written / 1e6 / seconds:6.1f} MB/s")
            print(f"disk-write bound (OPFS, no crypto): {bound_ms / 1000:6.1f} s  "
                  f"{(args.mib + 1) * MiB / 1e6 / (bound_ms / 1000):6.1f} MB/s")
            print(f"peak JS heap above before:          {(peak_heap[0] - heap0[0]) / MiB:6.1f} MiB")
            print(f"peak ArrayBuffers above before:     {(peak_heap[1] - heap0[1]) / MiB:6.1f} MiB"
                  "  (chunks awaiting GC: V8 collects after ~64 MB of them)")
            print(f"peak renderer RSS above before:     {(peak_rss - rss0) / 1024:6.1f} MiB")
            print("where the time went:")
            for (at, text), (nxt, _) in zip(steps[:-2], steps[1:-1], strict=True):
                print(f"  {(nxt - at) / 1000:6.2f} s  {text}")
            print(f"vault verify: {'ok' if report.ok else report.findings}; video "
                  f"{'identical' if digest.hexdigest() == want else 'DIFFERS'}")
        finally:
            browser.close()
            pw.stop()
    finally:
        if srv is not None:
            srv.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
