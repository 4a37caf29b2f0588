"""Keys you trust: `vault keys accept|accept-recovery`, and the organisation's
recovery key: `vault recovery-kit` (made offline) and `vault recover` (an admin
holding the kit restores a re-keyed user's cases).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from vault.cli.common import open_session, url_option
from vault.cli.output import emit, handle_errors, json_option


@click.group()
def keys():
    """Pinned keys of colleagues."""


@keys.command("accept")
@url_option
@click.argument("username")
@json_option
@handle_errors
def keys_accept(url, username, as_json):
    """Accept a colleague's changed key after comparing fingerprints in person."""
    s = open_session(url)
    user = s.http.get(f"/users/{username}")
    if not as_json and sys.stdin.isatty():
        click.confirm(f"Accept the new key of {username} with fingerprint {user['fingerprint']}?", abort=True)
    s.trusted_user(user, accept_change=True)
    emit({"accepted": username, "fingerprint": user["fingerprint"]}, as_json)


@keys.command("accept-recovery")
@url_option
@json_option
@handle_errors
def keys_accept_recovery(url, as_json):
    """Accept the organisation's changed recovery key after comparing it with the paper kit."""
    from vault import crypto

    s = open_session(url)
    fpr = crypto.fingerprint(crypto.b64d(s.http.get("/auth/params")["recovery_public"]), b"")
    if not as_json and sys.stdin.isatty():
        click.confirm(f"Accept the recovery key with fingerprint {fpr}? It must match the paper recovery kit.",
                      abort=True)
    s.recovery_public(accept_change=True, expect_fingerprint=fpr)
    emit({"accepted": "@recovery", "fingerprint": fpr}, as_json)


@click.command("recovery-kit")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--organisation", default="")
@json_option
@handle_errors
def recovery_kit(out_dir, organisation, as_json):
    """Make the organisation's recovery key on an offline machine (print it, register the public half)."""
    from vault import crypto
    from vault.domain import recovery_kit as recovery

    pub, files = recovery.write_kit(out_dir, organisation)
    emit({"recovery_public": crypto.b64e(pub), "fingerprint": crypto.fingerprint(pub, b""),
          "files": [str(f) for f in files]}, as_json,
         lambda o: click.echo(f"Kit in {out_dir}. Register with: vault server init --recovery-public "
                              f"{o['recovery_public']}\nFingerprint: {o['fingerprint']}"))


@click.command()
@url_option
@click.option("--kit", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="recovery-key.txt (or a file with the key line typed from the paper kit).")
@click.argument("username")
@json_option
@handle_errors
def recover(url, kit, username, as_json):
    """Re-grant a re-keyed user's cases with the recovery kit (run by an admin holding the kit)."""
    from vault import crypto
    from vault.client.session import TrustError
    from vault.domain import recovery_kit as recovery

    secret = recovery.load_kit(kit)
    s = open_session(url)
    pub_pin = s.recovery_public()
    if crypto.box_public_from_secret(secret) != pub_pin:
        raise TrustError("this kit does not belong to this server's recovery key")
    user = s.http.get(f"/users/{username}")
    material = s.http.get(f"/admin/recovery/{user['id']}")
    if not as_json and sys.stdin.isatty():
        click.confirm(f"Grant {len(material['keys'])} case keys to {username} (fingerprint {user['fingerprint']})?",
                      abort=True)
    target = crypto.b64d(material["user"]["box_public"])
    grants = [{"case_id": k["case_id"], "version": k["version"],
               "sealed": crypto.b64e(crypto.seal(target, crypto.unseal(secret, crypto.b64d(k["sealed"]))))}
              for k in material["keys"]]
    out = s.http.post(f"/admin/recovery/{user['id']}/grants", {"grants": grants})
    emit(out, as_json, lambda o: click.echo(f"Restored {o['granted']} case keys for {username}."))


COMMANDS = [keys, recovery_kit, recover]
