"""A third-party plugin installed with pip, in four real gunicorn workers: listed, enabled, used, disabled everywhere.

The demo plugin (tests/plugins/thirdparty) is pip-installed into a folder
that is put on the server's PYTHONPATH, as if installed into its venv; the
entry-point group finds it. Which worker answered each request is read from
gunicorn's access log (its format is given the worker's pid here).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.conftest import Gunicorn, wait_until
from tests.core.cli_helpers import Cli
from tests.export.test_exporters import docx_text
from tests.integration.conftest import (
    audit_entries,
    bundle_members,
    documents,
    make_people,
    upload_record_item,
)
from vault.export.verify import verify_bundle

pytestmark = pytest.mark.slow

ROUNDS = 48


def exporters_from_many_workers(url: str, token: str) -> list[set[str]]:
    """GET /exporters ROUNDS times, 8 at a time, each on a new connection (so the workers share the work)."""

    def one(_):
        resp = requests.get(f"{url}/api/v1/exporters", headers={"Authorization": f"Bearer {token}",
                                                                "Connection": "close"}, timeout=30)
        assert resp.status_code == 200, resp.text
        return {e["name"] for e in resp.json()["exporters"]}

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(one, range(ROUNDS)))


def answering_pids(access_log: Path, skip_lines: int) -> list[str]:
    """The worker pids that answered /exporters after `skip_lines`, once all ROUNDS answers are logged.

    gunicorn writes an access-log line after the response has gone out, so
    the client may have its last answer before the line exists: wait for it.
    """

    def logged() -> list[str]:
        lines = access_log.read_text().splitlines()[skip_lines:]
        return [line.split()[0] for line in lines if " /api/v1/exporters " in f"{line} "]

    wait_until(lambda: len(logged()) >= ROUNDS, f"{ROUNDS} /exporters lines in the access log", limit=30)
    return logged()


def test_third_party_plugin_across_four_gunicorn_workers(env, tmp_path, client_home, thirdparty_install):
    pythonpath = os.pathsep.join([str(thirdparty_install), *filter(None, [os.environ.get("PYTHONPATH")])])
    srv = Gunicorn(env, workers=4, extra_env={
        "PYTHONPATH": pythonpath, "GUNICORN_CMD_ARGS": "--access-logformat='%(p)s %(m)s %(U)s %(s)s'"})
    try:
        assert len(srv.worker_pids()) == 4
        access_log = env.data_dir / "logs" / "access.log"
        server = Cli(srv.url, tmp_path / "server-admin", "nobody", "unused", env.data_dir)
        server.env["PYTHONPATH"] = pythonpath
        listed = {p["name"]: p for p in server.json("plugins", "list")}
        demo = listed["thirdparty-demo"]
        assert (demo["installed"], demo["enabled"], demo["version"]) == (True, False, "0.1.0")
        assert [e["name"] for e in demo["exporters"]] == ["demo-letter"]

        people = make_people(srv.url, env, client_home)
        token = people.lawyer.http.token
        assert not any("demo-letter" in seen for seen in exporters_from_many_workers(srv.url, token))
        on = people.admin.http.post("/admin/plugins/thirdparty-demo", {"enabled": True})
        assert on["enabled"] is True and on["changed_by"] == "admin"
        mark = len(access_log.read_text().splitlines())
        assert all("demo-letter" in seen for seen in exporters_from_many_workers(srv.url, token))
        listed_by = set(answering_pids(access_log, mark))

        # Its exporter runs, on the client (which has the plugin installed too).
        record = tmp_path / "record.json"
        record.write_text(json.dumps({"victim": {"family_name": "Жаңыбаев"}}, ensure_ascii=False), encoding="utf-8")
        upload_record_item(people.lawyer, people.case_id, record)
        lawyer = Cli(srv.url, people.lawyer.home, "aigul", "lawyer-password-1")
        lawyer.env["PYTHONPATH"] = pythonpath
        out = tmp_path / "demo.zip"
        done = lawyer.json("export", people.case_id, "--format", "demo-letter", "--language", "ru", "--out", str(out))
        assert done["ok"] is True and verify_bundle(out).ok
        assert "Case of Жаңыбаев" in docx_text(documents(bundle_members(out.read_bytes()))[0])

        # Disabled through one worker...
        off = people.admin.http.post("/admin/plugins/thirdparty-demo", {"enabled": False})
        assert off["enabled"] is False
        mark = len(access_log.read_text().splitlines())
        # ... and no worker offers it any more.
        seen = exporters_from_many_workers(srv.url, token)
        assert not [s for s in seen if "demo-letter" in s]
        assert all({"omct", "un-srt", "un-hrc", "ombudsman"} <= s for s in seen)
        refused_by = answering_pids(access_log, mark)
        assert len(refused_by) == ROUNDS
        # Several workers answered, among them workers that had listed the plugin before.
        assert len(set(refused_by)) >= 2 and set(refused_by) & listed_by, (refused_by, listed_by)
        p = lawyer.run("export", people.case_id, "--format", "demo-letter", "--out", str(tmp_path / "x.zip"),
                       check=False)
        assert p.returncode == 1 and "not enabled on this vault" in p.stderr
        changes = [(e["action"], e["actor"], e["object"]) for e in audit_entries(people.admin)
                   if e["action"].startswith("plugin_")]
        assert changes == [("plugin_enabled", "admin", "plugin:thirdparty-demo"),
                           ("plugin_disabled", "admin", "plugin:thirdparty-demo")]
    finally:
        srv.stop()
