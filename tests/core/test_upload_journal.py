"""An upload stopped with its process goes on where it stopped, from a sealed journal.

The replayed stream must give exactly the bytes of the first run; the
journal opens only with its owner's keys; a changed file, a forgotten
upload or `--restart` start over. One test kills the real `vault upload`
process with SIGKILL while a slow link (a real TCP proxy) carries it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TEST_ENV, wait_until
from tests.tcpproxy import SlowLink
from vault import crypto
from vault.client import resume
from vault.client.http import ApiFailure
from vault.client.pipeline import EncryptedFile
from vault.client.session import ClientSession
from vault.client.transfer import download_item, upload_file

MiB = 1024 * 1024
META = {"title": "Statement video", "evidence_type": "video"}


def _stream(enc: crypto.StreamEncryptor, data: bytes) -> bytes:
    with EncryptedFile(b"", io.BytesIO(data), encryptor=enc) as f:
        return b"".join(f)


def test_a_stream_replayed_from_its_start_state_gives_the_same_bytes():
    data = os.urandom(3 * MiB + 777)
    first = crypto.StreamEncryptor(crypto.random_key())
    saved = (first.prefix, first.start_state())
    ct = _stream(first, data)
    assert _stream(crypto.StreamEncryptor.again(*saved), data) == ct
    with pytest.raises(crypto.CryptoError, match="started"):
        first.start_state()  # only the state before the first chunk is ever given out
    with pytest.raises(crypto.CryptoError):
        crypto.StreamEncryptor.again(saved[0], saved[1][:-1])
    with pytest.raises(crypto.CryptoError):
        crypto.StreamEncryptor.again(b"XXXX" + saved[0][4:], saved[1])


def _login(live, people, home: Path) -> ClientSession:
    return ClientSession.login(live.url, "aigul", "lawyer-password-1", home=home)


class Stop(Exception):
    pass


def _stopped_upload(sess, case_id, path, after: int) -> None:
    """Upload until `after` bytes went out, then stop as a killed process would: mid-stream."""
    sent = {"n": 0}

    def progress(n):
        sent["n"] += n
        if sent["n"] >= after:
            raise Stop

    with pytest.raises(Stop):
        upload_file(sess, case_id, path, META, progress=progress)


def _journals(home: Path) -> list[Path]:
    return sorted((home / "uploads").glob("*.json"))


def test_an_upload_stopped_midway_goes_on_in_a_new_session(people, live, tmp_path):
    home = people.lawyer.home
    path = tmp_path / "statement.mp4"
    path.write_bytes(os.urandom(9 * MiB + 4321))
    _stopped_upload(people.lawyer, people.case_id, path, after=4 * MiB)
    [journal_file] = _journals(home)
    assert oct(journal_file.stat().st_mode & 0o777) == "0o600"
    # The journal holds the item key: nothing of it is readable without the user's keys.
    raw = journal_file.read_bytes()
    assert b"item_key" not in raw and b"statement.mp4" not in raw and str(path).encode() not in raw
    upload_id = journal_file.stem
    held = people.lawyer.http.get(f"/uploads/{upload_id}")["received"]
    assert held >= 4 * MiB

    again = _login(live, people, home)  # a new process: a new session, the same client folder
    out = upload_file(again, people.case_id, path, {"title": "ignored on resume", "evidence_type": "photo"})
    assert out["resumed_from"] == held
    assert _journals(home) == []
    written, _manifest = download_item(again, out["item_id"], tmp_path / "out")
    assert written.read_bytes() == path.read_bytes()
    item = again.http.get(f"/items/{out['item_id']}")
    assert item["metadata"]["title"] == "Statement video"  # what the upload was started with


def test_a_changed_file_or_restart_starts_over_and_cancels_the_old_upload(people, live, tmp_path):
    home = people.lawyer.home
    path = tmp_path / "photo.jpg"
    path.write_bytes(os.urandom(6 * MiB))
    _stopped_upload(people.lawyer, people.case_id, path, after=2 * MiB)
    [first] = _journals(home)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))  # edited since
    _stopped_upload(people.lawyer, people.case_id, path, after=2 * MiB)
    [second] = _journals(home)
    assert second.stem != first.stem
    with pytest.raises(ApiFailure) as gone:
        people.lawyer.http.get(f"/uploads/{first.stem}")
    assert gone.value.status == 404  # the stale upload was cancelled on the server
    out = upload_file(people.lawyer, people.case_id, path, META, restart=True)
    assert out["resumed_from"] == 0 and _journals(home) == []
    written, _manifest = download_item(people.lawyer, out["item_id"], tmp_path / "out")
    assert written.read_bytes() == path.read_bytes()


def test_a_journal_opens_only_with_its_owners_keys(people, live, tmp_path):
    path = tmp_path / "doc.pdf"
    path.write_bytes(os.urandom(5 * MiB))
    _stopped_upload(people.lawyer, people.case_id, path, after=2 * MiB)
    st = path.stat()
    keys = people.lawyer._require_keys()
    found, _ = resume.find(people.lawyer.home, live.url, "aigul", keys, people.case_id, path, st)
    assert found is not None
    stranger = crypto.UserKeys.generate()
    assert resume.find(people.lawyer.home, live.url, "aigul", stranger, people.case_id, path, st) == (None, [])
    # A damaged journal is never trusted: the upload starts over.
    [jf] = _journals(people.lawyer.home)
    entry = json.loads(jf.read_text())
    entry["sealed"] = entry["sealed"][:-8] + "AAAAAAA="
    jf.write_text(json.dumps(entry))
    assert resume.find(people.lawyer.home, live.url, "aigul", keys, people.case_id, path, st) == (None, [])
    # An upload id from the server never names a file outside the journal folder.
    with pytest.raises(ValueError):
        resume.drop(people.lawyer.home, "../../sessions")


def test_a_journal_dropped_while_the_journals_are_read_is_skipped(tmp_path, monkeypatch):
    """Found next to bench/load: two uploads of one user at once (one client home), one
    finished and dropped its journal while the other was reading the journals:
    FileNotFoundError ended that other upload."""
    keys, home, f = crypto.UserKeys.generate(), tmp_path / "home", tmp_path / "f.bin"
    f.write_bytes(b"evidence")
    st = f.stat()
    other = resume.new({"upload_id": "u1", "item_id": "i1"}, "case-1", 1, f, st, crypto.random_key(),
                       crypto.StreamEncryptor(crypto.random_key()))
    resume.save(home, "http://vault", "aigul", keys, other)
    read = Path.read_text

    def finished_meanwhile(self, *args, **kwargs):
        if self.parent.name == "uploads":
            resume.drop(home, self.stem)  # the other process finishes right after the listing
        return read(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", finished_meanwhile)
    assert resume.find(home, "http://vault", "aigul", keys, "case-1", f, st) == (None, [])


def test_an_upload_the_server_forgot_starts_over(people, live, tmp_path):
    path = tmp_path / "scan.pdf"
    path.write_bytes(os.urandom(5 * MiB))
    _stopped_upload(people.lawyer, people.case_id, path, after=2 * MiB)
    [jf] = _journals(people.lawyer.home)
    people.lawyer.http.call("DELETE", f"/uploads/{jf.stem}")  # e.g. expired and swept on the server
    out = upload_file(people.lawyer, people.case_id, path, META)
    assert out["resumed_from"] == 0 and _journals(people.lawyer.home) == []


def test_a_killed_vault_upload_goes_on_when_run_again(people, live, tmp_path):
    """SIGKILL, the real CLI, a slow link: the second run sends only what the server lacks."""
    home = people.lawyer.home
    link = SlowLink(live.port, rate=6 * MiB)
    path = tmp_path / "interview.mov"
    path.write_bytes(os.urandom(40 * MiB))
    env = {**os.environ, **TEST_ENV, "VAULT_URL": link.url, "VAULT_CLIENT_HOME": str(home),
           "VAULT_USER": "aigul", "VAULT_PASSWORD": "lawyer-password-1"}
    cmd = [sys.executable, "-m", "vault.cli", "upload", people.case_id, str(path), "--title", "Interview",
           "--type", "video", "--json"]
    login = subprocess.run([sys.executable, "-m", "vault.cli", "login", "--json"], env=env, capture_output=True,
                           text=True, timeout=120)  # sessions are kept per server address
    assert login.returncode == 0, login.stdout + login.stderr
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        def started():
            if proc.poll() is not None:
                raise AssertionError(f"vault upload ended early: {proc.stdout.read().decode()} {proc.stderr.read().decode()}")
            return _journals(home)

        wait_until(started, "the upload to start")
        upload_id = _journals(home)[0].stem
        wait_until(lambda: people.lawyer.http.get(f"/uploads/{upload_id}")["received"] >= 8 * MiB,
                   "8 MiB to reach the server", limit=300)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(60)
    held = people.lawyer.http.get(f"/uploads/{upload_id}")["received"]
    assert 8 * MiB <= held < crypto.stream_ciphertext_size(40 * MiB)
    link.rate = None  # the link is back; the journal names this server by the address it was sent to
    try:
        run = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    finally:
        link.close()
    assert run.returncode == 0, run.stderr
    [out] = json.loads(run.stdout)
    assert out["resumed_from"] == held
    assert _journals(home) == []
    written, _manifest = download_item(people.lawyer, out["item_id"], tmp_path / "out")
    assert hashlib.sha256(written.read_bytes()).digest() == hashlib.sha256(path.read_bytes()).digest()


def test_a_journal_being_sent_is_not_taken_over(tmp_path):
    """Two `vault upload`s of one file at once: the second must start its own upload, not
    resume (and race) the first one's, which is still being sent."""
    keys, home, f = crypto.UserKeys.generate(), tmp_path / "home", tmp_path / "f.bin"
    f.write_bytes(b"evidence")
    st = f.stat()
    running = resume.new({"upload_id": "u1", "item_id": "i1"}, "case-1", 1, f, st, crypto.random_key(),
                         crypto.StreamEncryptor(crypto.random_key()))
    assert resume.claim(home, "u1")
    resume.save(home, "http://vault", "aigul", keys, running)
    assert resume.find(home, "http://vault", "aigul", keys, "case-1", f, st) == (None, [])
    assert not resume.claim(home, "u1")  # not even from another thread of this process
    resume.release(home, "u1")  # the first upload stopped (or its process died): now it can be resumed
    found, _ = resume.find(home, "http://vault", "aigul", keys, "case-1", f, st)
    assert found == running
    resume.drop(home, "u1")
    assert sorted(p.name for p in (home / "uploads").iterdir()) == []
