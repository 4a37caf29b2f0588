"""A vault made by the previous release moves over to trust from people, and nothing stored becomes unreadable.

tests/fixtures/previous-release.tar.gz was written by the release before
membership chains and certificates (how: tests/fixtures/make_previous_release.py):
an admin, a lawyer and a medic, a case with both as members, one sealed
statement, and each person's client state. The steps are the ones README
("Moving an existing vault over") gives, run through the real `vault`
command against real gunicorn.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from tests.conftest import TEST_SETTINGS, Env, Gunicorn
from tests.core.cli_helpers import Cli
from vault.config import load_config
from vault.domain import recovery_kit as recovery

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "previous-release.tar.gz"


def _unpack(tmp: Path) -> dict:
    with tarfile.open(FIXTURE) as tar:
        tar.extractall(tmp, filter="data")
    return json.loads((tmp / "people.json").read_text())


def _move_client_state(clients: Path, old_url: str, new_url: str) -> None:
    """The server moved to a new address (a new test port): each person's state follows it."""
    for f in clients.rglob("*.json"):
        data = json.loads(f.read_text())
        if isinstance(data, dict) and old_url in data:
            data[new_url] = data.pop(old_url)
            f.write_text(json.dumps(data))


def test_a_vault_of_the_previous_release_upgrades_and_reads_everything(tmp_path):
    people = _unpack(tmp_path)
    kit = tmp_path / "kit" / "recovery-key.txt"
    cfg = load_config(tmp_path / "data", **TEST_SETTINGS)
    admin0 = Cli("http://unused", tmp_path / "clients" / "admin", "admin", "", tmp_path / "data")
    admin0.run("server", "migrate")
    srv = Gunicorn(Env(cfg, cfg.data_dir, kit, recovery.load_kit(kit), ""), workers=2)
    try:
        _move_client_state(tmp_path / "clients", people["url"], srv.url)
        pw = people["passwords"]
        cli = {n: Cli(srv.url, tmp_path / "clients" / n, n, pw[n], tmp_path / "data") for n in pw}
        for c in cli.values():
            c.run("login")
        # Until the case is adopted, no client trusts the server's member list: it says what to do.
        refused = cli["aigul"].run("case", "show", people["case_id"], check=False)
        assert refused.returncode != 0 and "adopt" in refused.stderr + refused.stdout

        # 1. The kit holder gives the vault its organisation root (derived from the same kit).
        org = cli["admin"].json("org", "init-root", "--kit", str(kit))["org_fingerprint"]
        # 2. Everyone pins the organisation once, from the fingerprint the kit holder reads out.
        for n in ("aigul", "bakyt"):
            assert cli[n].json("org", "pin", "--fingerprint", org)["org_fingerprint"] == org
        # 3. The kit holder certifies each person after comparing fingerprints in person.
        fingerprints = {n: c.json("whoami")["fingerprint"] for n, c in cli.items()}
        for n in ("admin", "aigul", "bakyt"):
            out = cli["admin"].json("org", "certify", "--kit", str(kit), "--user", n, "--fingerprint", fingerprints[n])
            assert out["certified"] == [n]
        wrong = cli["admin"].run("org", "certify", "--kit", str(kit), "--user", "bakyt",
                                 "--fingerprint", fingerprints["aigul"], "--json", check=False)
        assert wrong.returncode != 0 and "not the one you compared" in wrong.stdout + wrong.stderr
        # 4. One member adopts the case: its chain starts with the members the server lists, each certified.
        cli["aigul"].json("case", "adopt", people["case_id"], "--yes")
        shown = cli["bakyt"].json("case", "show", people["case_id"])
        assert [(m["username"], m["certified"]) for m in shown["members"]] == [("aigul", True), ("bakyt", True)]
        assert shown["chain_entries"] == 2

        # Nothing stored became unreadable: the old statement opens for both, byte for byte.
        for n in ("aigul", "bakyt"):
            got = cli[n].json("download", people["item_id"], "--out", str(tmp_path / f"{n}.txt"))
            assert got["verified"] is True
            assert got["sha256"] == people["item_sha256"]
        # And the case goes on: a new item under the verified chain, read by the other member.
        new = tmp_path / "new.txt"
        new.write_bytes("Жаңы көрсөтмө — new statement after the upgrade\n".encode())
        up = cli["aigul"].json("upload", people["case_id"], str(new), "--title", "New statement",
                               "--type", "statement")[0]
        cli["bakyt"].json("download", up["item_id"], "--out", str(tmp_path / "back.txt"))
        assert (tmp_path / "back.txt").read_bytes() == new.read_bytes()
        assert cli["admin"].json("server", "fsck")["ok"] is True
        assert cli["admin"].json("server", "audit-verify")["ok"] is True
    finally:
        srv.stop()
