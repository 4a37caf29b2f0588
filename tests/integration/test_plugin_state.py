"""Enabling and disabling plugins: admin API and server CLI, audited, effective at once, refused everywhere.

The API runs in-process (the `client` test client and the `live` socket
server share one app and one database); the `vault` command runs in a
subprocess against the same data folder.
"""

from __future__ import annotations

import base64
import importlib
import json
import sys

import pytest

from tests.core.cli_helpers import Cli
from tests.integration.conftest import (
    audit_entries,
    decrypt_like_the_browser,
    export_spec,
    item_files,
    multipart,
    seed_case,
)
from vault import plugins


def bearer(sess) -> dict:
    return {"Authorization": f"Bearer {sess.http.token}"}


def error(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:500])
    body = resp.get_json()
    assert body["error"]["code"] == code, body
    return body["error"]


def exporter_names(client, sess) -> set[str]:
    resp = client.get("/api/v1/exporters", headers=bearer(sess))
    assert resp.status_code == 200
    return {e["name"] for e in resp.get_json()["exporters"]}


def test_admin_lists_and_toggles_plugins_and_every_change_is_audited(people, client):
    admin = bearer(people.admin)
    listing = client.get("/api/v1/admin/plugins", headers=admin).get_json()["plugins"]
    by_name = {p["name"]: p for p in listing}
    assert {"core-checks", "omct", "un", "ombudsman"} <= set(by_name)
    # Fresh install: the bundled plugins are on (their default), nobody changed anything.
    for name in ("omct", "un", "ombudsman"):
        p = by_name[name]
        assert (p["installed"], p["enabled"], p["default_enabled"], p["bundled"]) == (True, True, True, True)
        assert p["changed_at"] is None and p["changed_by"] is None and p["version"] == "0.1.0"
    assert by_name["core-checks"]["always_on"] is True and by_name["core-checks"]["enabled"] is True
    assert {e["name"] for e in by_name["un"]["exporters"]} == {"un-srt", "un-hrc"}

    shown = client.get("/api/v1/exporters", headers=bearer(people.medic)).get_json()
    assert {e["name"] for e in shown["exporters"]} == {"omct", "un-srt", "un-hrc", "ombudsman", "prosecutor"}
    hrc = next(e for e in shown["exporters"] if e["name"] == "un-hrc")
    assert hrc["languages"] == ["en", "ru"] and hrc["formats"] == ["docx", "pdf"] and hrc["plugin"] == "un"
    assert hrc["variants"][0]["name"] == "cat22" and hrc["form_verified"] is False and hrc["form_version"]
    assert "victim.nationality" in hrc["required_fields"] and shown["max_export_bytes"] > 0
    # The UI speaks English, Russian and Kyrgyz, so every exporter's texts do too.
    for exp in shown["exporters"]:
        for lang in ("ru", "ky"):
            texts = exp["translations"][lang]
            assert set(texts) == {"label", "target_body", "description"}, (exp["name"], lang)
            assert all(v and v != exp[k] for k, v in texts.items()), (exp["name"], lang)
    assert "БУУнун" in hrc["translations"]["ky"]["label"]
    assert {"label", "note"} == set(hrc["variants"][0]["translations"]["ky"])
    assert any(ch in hrc["variants"][0]["translations"]["ky"]["note"] for ch in "ңөү")
    error(client.get("/api/v1/exporters", headers=admin), 404, "not_found")  # an admin is not a reader

    # Readers cannot change or list plugins.
    for who in (people.lawyer, people.medic):
        error(client.get("/api/v1/admin/plugins", headers=bearer(who)), 403, "forbidden")
        error(client.post("/api/v1/admin/plugins/un", json={"enabled": False}, headers=bearer(who)), 403, "forbidden")
    # Only installed plugins; core-checks stays on; bodies are checked.
    err = error(client.post("/api/v1/admin/plugins/evil-uploaded", json={"enabled": True}, headers=admin),
                404, "plugin_not_installed")
    assert "only installed plugins can be enabled" in err["message"] and "un" in err["installed"]
    error(client.post("/api/v1/admin/plugins/core-checks", json={"enabled": False}, headers=admin), 422, "always_on")
    error(client.post("/api/v1/admin/plugins/un", json={"enabled": "no"}, headers=admin), 422, "invalid_fields")
    error(client.post("/api/v1/admin/plugins/un", data="enabled=0", headers=admin,
                      content_type="application/x-www-form-urlencoded"), 415, "unsupported_media_type")
    assert not audit_entries(people.admin, "plugin_disabled")

    out = client.post("/api/v1/admin/plugins/un", json={"enabled": False}, headers=admin).get_json()
    assert (out["name"], out["enabled"], out["changed"], out["changed_by"]) == ("un", False, True, "admin")
    assert exporter_names(client, people.lawyer) == {"omct", "ombudsman", "prosecutor"}  # at once, no restart
    again = client.post("/api/v1/admin/plugins/un", json={"enabled": False}, headers=admin).get_json()
    assert again["changed"] is False
    client.post("/api/v1/admin/plugins/un", json={"enabled": True}, headers=admin)
    assert exporter_names(client, people.lawyer) == {"omct", "un-srt", "un-hrc", "ombudsman", "prosecutor"}
    changes = [(e["action"], e["actor"], e["object"]) for e in audit_entries(people.admin)
               if e["action"].startswith("plugin_")]
    assert changes == [("plugin_disabled", "admin", "plugin:un"), ("plugin_enabled", "admin", "plugin:un")]
    listing = {p["name"]: p for p in client.get("/api/v1/admin/plugins", headers=admin).get_json()["plugins"]}
    assert listing["un"]["enabled"] is True and listing["un"]["changed_by"] == "admin"
    assert client.get("/api/v1/admin/audit/verify", headers=admin).get_json()["ok"] is True


def test_a_disabled_exporter_is_refused_by_the_cli_and_the_server(people, live, env, client, tmp_path):
    seeded = seed_case(people, tmp_path)
    lawyer = bearer(people.lawyer)
    chosen = [decrypt_like_the_browser(people.lawyer, i, tmp_path / "browser") for i in seeded.files]
    spec = export_spec("ombudsman", seeded.record, chosen, "ky")
    base = f"/api/v1/cases/{people.case_id}/exports"
    body, ctype = multipart(spec, item_files(chosen))
    prepared = client.post(base, data=body, content_type=ctype, headers=lawyer)
    assert prepared.status_code == 200, prepared.get_data(as_text=True)[:500]

    server = Cli(live.url, tmp_path / "server-admin", "nobody", "unused", env.data_dir)
    off = server.json("plugins", "disable", "ombudsman")
    assert (off["name"], off["enabled"], off["changed"], off["changed_by"]) == ("ombudsman", False, True,
                                                                               "server-cli")
    # The running server sees the change on its next request.
    assert "ombudsman" not in exporter_names(client, people.lawyer)
    cli = Cli(live.url, people.lawyer.home, "aigul", "lawyer-password-1")
    p = cli.run("export", people.case_id, "--format", "ombudsman", "--out", str(tmp_path / "o.zip"), check=False)
    assert p.returncode == 1 and "not enabled on this vault" in p.stderr and not (tmp_path / "o.zip").exists()

    err = error(client.post(f"{base}/validate", json=spec, headers=lawyer), 403, "exporter_disabled")
    assert "ombudsman" in err["message"] and "admin" in err["message"]
    error(client.post(base, data=body, content_type=ctype, headers=lawyer), 403, "exporter_disabled")
    annex = base64.b64decode(prepared.get_json()["annex_b64"])
    error(client.post(f"{base}/sign", json={"bundle_b64": prepared.get_json()["bundle_b64"],
                                            "signature_b64": base64.b64encode(people.lawyer.keys.sign(annex)).decode()}, headers=lawyer),
          403, "exporter_disabled")
    error(client.post(f"{base}/record", json={"exporter": "ombudsman", "bundle_sha256": "0" * 64,
                                              "items": list(seeded.files)}, headers=lawyer),
          403, "exporter_disabled")
    error(client.post(f"{base}/validate", json={**spec, "exporter": "no-such"}, headers=lawyer),
          404, "unknown_exporter")

    listed = {p["name"]: p for p in server.json("plugins", "list")}
    assert listed["ombudsman"]["enabled"] is False and listed["ombudsman"]["changed_by"] == "server-cli"
    assert "ombudsman" in server.run("plugins", "list").stdout
    p = server.run("plugins", "enable", "no-such-plugin", "--json", check=False)
    assert p.returncode == 1 and json.loads(p.stdout)["error"]["code"] == "plugin_not_installed"
    on = server.json("plugins", "enable", "ombudsman")
    assert on["enabled"] is True and on["changed"] is True
    assert "ombudsman" in exporter_names(client, people.lawyer)
    done = cli.json("export", people.case_id, "--format", "ombudsman", "--out", str(tmp_path / "o.zip"))
    assert done["ok"] is True and (tmp_path / "o.zip").exists()
    changes = [(e["action"], e["actor"]) for e in audit_entries(people.admin) if e["action"].startswith("plugin_")]
    assert changes == [("plugin_disabled", "server-cli"), ("plugin_enabled", "server-cli")]


@pytest.fixture
def thirdparty_pm(thirdparty_install, app):
    """The demo plugin on sys.path (as if pip-installed into the server's venv) and a plugin manager that sees it."""
    sys.path.insert(0, str(thirdparty_install))
    importlib.invalidate_caches()
    pm = plugins.make_plugin_manager()
    app.extensions["vault_plugins"] = pm
    try:
        yield pm
    finally:
        sys.path.remove(str(thirdparty_install))
        for name in [m for m in sys.modules if m.startswith("vault_thirdparty_demo")]:
            del sys.modules[name]
        importlib.invalidate_caches()


def test_a_third_party_plugin_starts_disabled_and_hears_state_changes(people, client, thirdparty_pm):
    demo = sys.modules["vault_thirdparty_demo"]
    demo.EVENTS.clear()
    admin = bearer(people.admin)
    listing = {p["name"]: p for p in client.get("/api/v1/admin/plugins", headers=admin).get_json()["plugins"]}
    third = listing["thirdparty-demo"]
    assert (third["enabled"], third["default_enabled"], third["bundled"]) == (False, False, False)
    assert (third["distribution"], third["version"]) == ("vault-thirdparty-demo", "0.1.0")
    assert third["exporters"] == [{"name": "demo-letter", "label": "Demo acknowledgement letter",
                                   "target_body": "Nobody (test plugin)", "translations": {}}]
    assert "demo-letter" not in exporter_names(client, people.lawyer)  # installed is not enabled

    client.post("/api/v1/admin/plugins/thirdparty-demo", json={"enabled": True}, headers=admin)
    assert "demo-letter" in exporter_names(client, people.lawyer)
    client.post("/api/v1/admin/plugins/omct", json={"enabled": False}, headers=admin)
    client.post("/api/v1/admin/plugins/thirdparty-demo", json={"enabled": False}, headers=admin)
    # vault_plugin_state_changed reaches every plugin enabled after the change:
    # the demo hears of its own enabling and of omct, not of its own disabling.
    assert demo.EVENTS == [("state_changed", "thirdparty-demo", True, "admin"),
                           ("state_changed", "omct", False, "admin")]
    assert "demo-letter" not in exporter_names(client, people.lawyer)
