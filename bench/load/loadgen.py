"""The client side of the load benchmark: what one client process does.

Each function here runs in its own process (started with "spawn" by run.py),
because client-side encryption is CPU work: threads would measure the GIL.
"""

from __future__ import annotations

import hashlib
import math
import os
import random
import resource
import secrets
import shutil
import time
from pathlib import Path

KiB, MiB = 1024, 1024 * 1024
SIZE_MIN, SIZE_MAX = 64 * KiB, 8 * MiB
# Log-uniform between the two: many small photos and statements, a few long
# recordings. Its median is the geometric mean (724 KiB), what the idle
# reference uploads.
MEDIAN_SIZE = int(math.sqrt(SIZE_MIN * SIZE_MAX))

# Title words per language; searches draw from the same words so they hit.
WORDS = {
    "ky": ["кыйноо", "сабоо", "арыз", "көрсөтмө", "милиция", "камак", "дарыгер", "жаракат"],
    "ru": ["пытки", "избиение", "заявление", "показания", "милиция", "изолятор", "врач", "задержание"],
    "en": ["torture", "beating", "statement", "testimony", "police", "detention", "doctor", "injury"],
}
REGIONS = ["bishkek", "osh_city", "chui", "issyk_kul", "naryn", "talas", "jalal_abad", "osh", "batken"]
EVIDENCE_TYPES = ["statement", "photo", "video", "audio", "document", "medical_record"]


def unique_token() -> str:
    # Letters and digits ending in a digit: no stemmer shortens it and no
    # other title contains it, so a search for it must find this item.
    return "ld" + secrets.token_hex(5) + "7"


def random_metadata(rng: random.Random, token: str) -> dict:
    lang = rng.choice(list(WORDS))
    title = " ".join([*rng.sample(WORDS[lang], 2), token])
    return {"title": title, "evidence_type": rng.choice(EVIDENCE_TYPES), "region": rng.choice(REGIONS),
            "language": lang, "violations": rng.sample(["torture", "threats", "arbitrary_detention"], 1)}


def random_search(rng: random.Random, case_ids: list[str]) -> dict:
    lang = rng.choice(list(WORDS))
    q = " ".join(rng.sample(WORDS[lang], rng.choice((1, 2))))
    filters: dict = {}
    pick = rng.random()
    if pick < 0.2:
        filters["region"] = [rng.choice(REGIONS)]
    elif pick < 0.4:
        filters["evidence_type"] = [rng.choice(EVIDENCE_TYPES)]
    elif pick < 0.5:
        filters["case_id"] = rng.choice(case_ids)
    return {"q": q, "filters": filters}


def write_random_file(path: Path, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "wb") as f:
        left = size
        while left:
            block = os.urandom(min(left, MiB))
            h.update(block)
            f.write(block)
            left -= len(block)
    return h.hexdigest()


def failure(exc: BaseException) -> tuple[int, str]:
    """(HTTP status or 0, error code) of a failed operation."""
    from vault.client.http import ApiFailure, Unreachable

    if isinstance(exc, ApiFailure):
        return exc.status, exc.code
    if isinstance(exc, Unreachable):
        return 0, "unreachable"
    return 0, type(exc).__name__


class Client:
    """One signed-in person with their own client home folder."""

    def __init__(self, url: str, username: str, password: str, home: Path, seed: int):
        from vault.client.session import ClientSession

        home.mkdir(parents=True, exist_ok=True)
        self.sess = ClientSession.login(url, username, password, home=home)
        self.files = home / "files"
        self.files.mkdir(exist_ok=True)
        self.case_ids = [c["id"] for c in self.sess.cases()]
        self.rng = random.Random(seed)
        self.ops: list[tuple] = []  # (kind, start, seconds, status, code, bytes)
        self.acked: list[dict] = []
        self.cpu_start = 0.0  # CPU seconds spent before the measured part (start-up, sign-in)

    def upload(self, size: int, clock0: float, ack_queue=None) -> None:
        from vault.client.transfer import upload_file

        token = unique_token()
        path = self.files / f"{token}.bin"
        sha = write_random_file(path, size)  # not timed: the user's file already exists
        case_id = self.rng.choice(self.case_ids)
        t = time.time()
        try:
            out = upload_file(self.sess, case_id, path, random_metadata(self.rng, token))
            status, code = 201, ""
        except Exception as exc:  # noqa: BLE001 - every failure is recorded and reported
            out, (status, code) = None, failure(exc)
        done = time.time()
        path.unlink()
        self.ops.append(("upload", t - clock0, done - t, status, code, size))
        if out and out.get("item_id"):  # acknowledged: the server said the item exists
            item = {"item_id": out["item_id"], "case_id": case_id, "token": token, "sha256": sha,
                    "size": size, "acked_at": done}
            self.acked.append(item)
            if ack_queue is not None:
                ack_queue.put(item)

    def search(self, clock0: float) -> None:
        body = {**random_search(self.rng, self.case_ids), "per_page": 20}
        t = time.time()
        try:
            self.sess.http.post("/search", body)
            status, code = 200, ""
        except Exception as exc:  # noqa: BLE001 - every failure is recorded and reported
            status, code = failure(exc)
        self.ops.append(("search", t - clock0, time.time() - t, status, code, 0))

    @staticmethod
    def cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    def result(self) -> dict:
        shutil.rmtree(self.files, ignore_errors=True)
        return {"ops": self.ops, "acked": self.acked, "cpu_s": self.cpu() - self.cpu_start}


def reference(url: str, username: str, password: str, home: Path, rounds: int, warmup: int, ack_queue,
              results) -> None:
    """One client alone on the idle server: uploads of the median size, then searches.

    A worker's first upload loads the plugins (about a second), so a few
    untimed operations first let the reference show the warm server the
    load meets.
    """
    c = Client(url, username, password, home, seed=0)
    t0 = time.time()
    for _ in range(warmup):
        c.upload(SIZE_MIN, t0, ack_queue)
        c.search(t0)
    c.ops.clear()
    for _ in range(rounds):
        c.upload(MEDIAN_SIZE, t0, ack_queue)
    for _ in range(rounds):
        c.search(t0)
    results.put(c.result())


def load_client(n: int, url: str, username: str, password: str, home: Path, upload_share: float,
                seconds: float, ready, go, start_at, ack_queue, results) -> None:
    """Sign in, wait for the common start, then upload or search until the time is up."""
    try:
        c = Client(url, username, password, home, seed=n + 1)
    except Exception as exc:  # noqa: BLE001 - the parent reports it and stops
        ready.put((n, repr(exc)))
        return
    ready.put((n, ""))
    go.wait()
    c.cpu_start = c.cpu()
    clock0 = start_at.value
    rng = random.Random(n)
    while time.time() < clock0 + seconds:
        if rng.random() < upload_share:
            # Log-uniform size: exp of a uniform draw between the logs.
            size = int(math.exp(rng.uniform(math.log(SIZE_MIN), math.log(SIZE_MAX))))
            c.upload(size, clock0, ack_queue)
        else:
            c.search(clock0)
    results.put(c.result())


def verify_items(url: str, username: str, password: str, home: Path, items: list[dict]) -> dict:
    """Download each item and compare its hash with what was uploaded; list each case.

    Returns {"missing_from_case": [...], "bad_download": [(item_id, reason)], "checked": n}.
    """
    from vault.client.transfer import download_item

    c = Client(url, username, password, home, seed=0)
    listed: dict[str, set[str]] = {}
    out: dict = {"missing_from_case": [], "bad_download": [], "checked": 0}
    for it in items:
        if it["case_id"] not in listed:
            rows = c.sess.http.get(f"/cases/{it['case_id']}/items")["items"]
            listed[it["case_id"]] = {r["id"] for r in rows}
        if it["item_id"] not in listed[it["case_id"]]:
            out["missing_from_case"].append(it["item_id"])
        target = c.files / it["item_id"]
        try:
            path, manifest = download_item(c.sess, it["item_id"], out=target)
            got = hashlib.sha256(path.read_bytes()).hexdigest()  # our own hash, not only the client's check
            path.unlink()
            if got != it["sha256"] or manifest["size"] != it["size"]:
                out["bad_download"].append((it["item_id"], "content differs from what was uploaded"))
        except Exception as exc:  # noqa: BLE001 - reported as a lost item
            out["bad_download"].append((it["item_id"], repr(exc)))
        out["checked"] += 1
    c.result()
    return out


def verify_unacknowledged(url: str, username: str, password: str, home: Path, case_ids: list[str],
                          known: set[str]) -> dict:
    """Download every item of these cases that no client was told about, and let the client verify it.

    Such an item is a finish whose answer was lost (a killed worker, a broken
    connection): it must be whole, or not be there at all. download_item checks
    the ciphertext hash, the stream's final tag, the plaintext hash and the
    uploader's signature before it writes a file, so a half-written item fails.
    Returns {"checked": n, "bad": [(item_id, reason)]}.
    """
    from vault.client.transfer import download_item

    c = Client(url, username, password, home, seed=0)
    out: dict = {"checked": 0, "bad": []}
    for case_id in case_ids:
        for row in c.sess.http.get(f"/cases/{case_id}/items")["items"]:
            if row["id"] in known:
                continue
            try:
                path, _manifest = download_item(c.sess, row["id"], out=c.files / row["id"])
                path.unlink()
            except Exception as exc:  # noqa: BLE001 - reported as a half-written item
                out["bad"].append((row["id"], repr(exc)))
            out["checked"] += 1
    c.result()
    return out
