"""Lost password: the admin re-invites, the user re-keys, the paper kit re-grants."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import TEST_ENV
from vault.client.session import ClientSession, register
from vault.client.transfer import download_item, upload_file


def medic_fpr(sess) -> str:
    from vault import crypto

    return crypto.fingerprint(sess.keys.box_public, sess.keys.sign_public)


def test_recovery_kit_restores_access(people, env, tmp_path, live):
    src = tmp_path / "statement.txt"
    src.write_bytes(os.urandom(5000))
    item = upload_file(people.lawyer, people.case_id, src, {"title": "Statement", "evidence_type": "statement"})
    inv = people.admin.invite("medic", reset_username="bakyt")["code"]
    # The medic forgot his password: he re-registers with new keys on a new device.
    home = tmp_path / "medic-new-device"
    register(live.url, inv, "bakyt", "a-brand-new-password", home=home)
    medic = ClientSession.login(live.url, "bakyt", "a-brand-new-password", home=home)
    assert medic.case(people.case_id)["my_keys"] == {}  # still a member, but holds no key
    # The kit holder (an admin with the printed key) re-grants through the CLI.
    env_vars = {**os.environ, **TEST_ENV, "VAULT_URL": live.url, "VAULT_CLIENT_HOME": str(people.admin.home)}
    p = subprocess.run([sys.executable, "-m", "vault.cli", "recover", "--kit", str(env.kit), "bakyt", "--json",
                        "--fingerprint", medic_fpr(medic)],
                       env=env_vars, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr + p.stdout
    # Old colleagues see that his key changed: the lawyer must accept it before sealing anything to him.
    path, _ = download_item(medic, item["item_id"], tmp_path / "back.txt")
    assert path.read_bytes() == src.read_bytes()


def test_wrong_kit_is_refused(people, env, tmp_path, live):
    from vault.domain import recovery_kit as recovery

    _, files = recovery.write_kit(tmp_path / "other-kit")
    env_vars = {**os.environ, **TEST_ENV, "VAULT_URL": live.url, "VAULT_CLIENT_HOME": str(people.admin.home)}
    p = subprocess.run([sys.executable, "-m", "vault.cli", "recover", "--kit", str(files[0]), "bakyt"],
                       env=env_vars, capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and "does not belong" in p.stderr
