"""The browser's export path through real gunicorn workers, driven with `requests` exactly as the page will.

Plaintext multipart in, unsigned bundle out, signed with the user's key,
final ZIP back; then everything the server wrote is swept for the case's
plaintext, and every file the workers opened for writing is checked (a
Python audit hook in the workers, installed through sitecustomize, logs
each write-open and temporary file: werkzeug's spooled temporary files are
unlinked at once, so a listing of /tmp alone would not see them).
"""

from __future__ import annotations

import ast
import base64
import hashlib
import http.client
import json
import os
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import Gunicorn, assert_nowhere
from tests.export.test_exporters import docx_text, flat, pdf_text
from tests.integration.conftest import (
    audit_entries,
    bundle_members,
    case_record_for,
    decrypt_like_the_browser,
    documents,
    export_spec,
    item_files,
    make_people,
    multipart,
    upload_attachments,
)
from vault.export.verify import verify_bundle

pytestmark = pytest.mark.slow

MARKER = "MARKER-5c1e7d-PLAINTEXT"
VICTIM = "Жылдызбек-Маркерова Айнура"

SITECUSTOMIZE = '''
import os, sys, time
_log = os.environ.get("VAULT_TEST_OPEN_LOG")
if _log:
    _fd = os.open(_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    _WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
    _busy = [False]

    def _hook(event, args):
        if _busy[0]:
            return
        if event == "open":
            path, mode, flags = args
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or \\
                (isinstance(flags, int) and flags & _WRITE)
            if not writing:
                return
        elif event in ("tempfile.mkstemp", "tempfile.mkdtemp"):
            path = args[0]
        else:
            return
        _busy[0] = True
        try:
            line = f"{time.time():.6f}\\t{os.getpid()}\\t{event}\\t{path!r}\\n"
            os.write(_fd, line.encode("utf-8", "backslashreplace"))
        finally:
            _busy[0] = False

    sys.addaudithook(_hook)
'''


def files_with(root: Path, needle: bytes, skip: Path | None = None) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        if skip is not None and Path(dirpath) == skip.parent:
            dirnames[:] = [d for d in dirnames if Path(dirpath, d) != skip]
        for name in filenames:
            path = Path(dirpath, name)
            try:
                if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                    found.append(path)
            except OSError:
                continue
    return found


def listing(root: Path, skip: Path) -> set[Path]:
    out = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if Path(dirpath, d) != skip]
        out |= {Path(dirpath, n) for n in filenames}
    return out


def test_browser_export_through_gunicorn_leaves_no_plaintext(env, tmp_path, tmp_path_factory, client_home):
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE)
    open_log = tmp_path / "open-log.tsv"
    server_tmp = tmp_path / "server-tmp"
    server_tmp.mkdir()
    system_tmp = Path(tempfile.gettempdir())
    # Skip pytest's own temp root (this run's and any other run's test files, which
    # hold the marker on purpose); the workers' audit hook below covers what that hides.
    basetemp = tmp_path_factory.getbasetemp().parent
    before = listing(system_tmp, basetemp)
    extra = {"PYTHONPATH": os.pathsep.join([str(hooks), *filter(None, [os.environ.get("PYTHONPATH")])]),
             "VAULT_TEST_OPEN_LOG": str(open_log), "TMPDIR": str(server_tmp)}
    srv = Gunicorn(env, workers=2, extra_env=extra)
    try:
        people = make_people(srv.url, env, client_home)
        # Attachments well over werkzeug's 500 KB spooling threshold, with a marker inside.
        ids, files, names = upload_attachments(people, tmp_path, marker=MARKER.encode(), big=1_200_000)
        record = case_record_for(ids)
        record["facts"]["ru"] += f"\n\n{MARKER} в изложении фактов."
        record["victim"]["family_name"] = VICTIM.split()[0]
        record["victim"]["first_names"] = VICTIM.split()[1]
        chosen = [decrypt_like_the_browser(people.lawyer, i, tmp_path / "browser") for i in files]
        token = {"Authorization": f"Bearer {people.lawyer.http.token}"}
        base = f"{srv.url}/api/v1/cases/{people.case_id}/exports"
        spec = export_spec("un-hrc", record, chosen, "ru")

        window_start = time.time()
        # 1. What is missing (nothing), shown before anything is produced.
        checked = requests.post(f"{base}/validate", json=spec, headers=token, timeout=60)
        assert checked.status_code == 200, checked.text
        assert checked.json()["ok"] is True and checked.json()["missing"] == 0
        # 2. The plaintext goes to the server as multipart; the unsigned bundle comes back.
        body, ctype = multipart(spec, item_files(chosen))
        assert len(body) > 4_000_000
        rendered = requests.post(base, data=body, headers={**token, "Content-Type": ctype}, timeout=60)
        assert rendered.status_code == 200, rendered.text[:500]
        answer = rendered.json()
        unsigned = base64.b64decode(answer["bundle_b64"])
        annex = base64.b64decode(answer["annex_b64"])
        assert hashlib.sha256(unsigned).hexdigest() == answer["bundle_sha256"]
        assert bundle_members(unsigned)["custody/annex.json"] == annex
        assert {p["path"] for p in answer["problems"]} == {"form"}
        # 3. The browser signs the annex bytes with the user's Ed25519 key; the server adds the signature.
        signature = people.lawyer.keys.sign(annex)
        signed = requests.post(f"{base}/sign", headers=token, timeout=60, json={
            "bundle_b64": answer["bundle_b64"], "signature_b64": base64.b64encode(signature).decode()})
        assert signed.status_code == 200, signed.text[:500]
        window_end = time.time()
        assert signed.headers["Content-Type"] == "application/zip"
        assert answer["filename"] in signed.headers["Content-Disposition"]
        final = signed.content
        assert signed.headers["X-Bundle-Sha256"] == hashlib.sha256(final).hexdigest()
        out = tmp_path / "browser-export.zip"
        out.write_bytes(final)
        report = verify_bundle(out)
        assert report.ok, report.to_text()
        assert {(s.role, s.name) for s in report.signers} == {("exporter", "aigul"), ("uploader", "aigul"),
                                                               ("uploader", "bakyt")}
        members = bundle_members(final)
        for item_id, plain in files.items():
            assert members[f"attachments/{names[item_id]}"] == plain
        docx_bytes, pdf_bytes = documents(members)
        for text in (flat(docx_text(docx_bytes)), flat(pdf_text(pdf_bytes))):
            assert MARKER in text and VICTIM.split()[0] in text and {"ң", "ө", "ү"} <= set(text)

        # The audit log records each moment plaintext crossed the server, and the bundle's hash.
        actions = [(e["action"], e["actor"], json.loads(e["details"])) for e in audit_entries(people.admin)
                   if e["action"] in ("export_validated", "export_rendered", "case_exported")]
        assert [a for a, _, _ in actions] == ["export_validated", "export_rendered", "case_exported"]
        assert all(actor == "aigul" and d["exporter"] == "un-hrc" and d["via"] == "browser" for _, actor, d in actions)
        assert actions[1][2]["unsigned_sha256"] == answer["bundle_sha256"]
        assert actions[2][2]["bundle_sha256"] == hashlib.sha256(final).hexdigest()
        assert sorted(actions[2][2]["items"]) == sorted(files)

        # Over the limit: refused from Content-Length alone, before a byte of the body is read.
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        conn.putrequest("POST", f"/api/v1/cases/{people.case_id}/exports")
        conn.putheader("Authorization", token["Authorization"])
        conn.putheader("Content-Type", ctype)
        conn.putheader("Content-Length", str(10 * 1024**3))
        conn.endheaders()
        resp = conn.getresponse()
        too_large = json.loads(resp.read())
        conn.close()
        assert resp.status == 413 and too_large["error"]["code"] == "too_large"
        assert "vault export" in too_large["error"]["message"]
        # Garbage instead of multipart, and a worker still answers.
        bad = requests.post(base, data=b"--x\r\nnot a part\r\n", timeout=30,
                            headers={**token, "Content-Type": "multipart/form-data; boundary=x"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "malformed_multipart"
        assert requests.get(f"{srv.url}/api/v1/health", timeout=10).status_code == 200
    finally:
        srv.stop()

    needles = [MARKER.encode(), VICTIM.encode(), VICTIM.split()[0].encode(), "Өмүрбеков".encode(),
               "Нурсултан".encode(), "Свердловский РОВД, кабинет 14".encode(), json.dumps(VICTIM).encode(),
               VICTIM.encode("utf-16-le"), *(n.encode() for n in names.values())]
    swept = assert_nowhere(env.data_dir, needles)
    assert swept > 5 and (env.data_dir / "logs" / "access.log").stat().st_size > 0
    # Nothing in the workers' temporary folder, nothing new with the marker in the system's.
    assert files_with(server_tmp, MARKER.encode()) == []
    new = listing(system_tmp, basetemp) - before
    assert [p for p in new if p.is_file() and MARKER.encode() in p.read_bytes()] == []
    # While the export requests ran, the workers opened no file for writing anywhere but the data folder
    # (and no temporary file at all): the plaintext stayed in memory.
    events = [line.split("\t") for line in open_log.read_text().splitlines()]
    assert events, "the audit hook did not run in the workers"
    during = [e for e in events if window_start <= float(e[0]) <= window_end]
    def in_data(path) -> bool:
        return isinstance(path, int) or str(path).startswith(str(env.data_dir) + os.sep)

    outside = [e for e in during if e[2] != "open" or not in_data(ast.literal_eval(e[3]))]
    assert outside == [], outside
