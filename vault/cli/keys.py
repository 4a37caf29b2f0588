"""Keys you trust: `vault keys accept|accept-recovery`, and the organisation's
recovery key: `vault recovery-kit` (made offline) and `vault recover` (an admin
holding the kit restores a re-keyed user's cases).
"""

from __future__ import annotations

from pathlib import Path

import click

from vault.cli.common import confirm_fingerprint, open_session, url_option
from vault.cli.output import emit, handle_errors, json_option


@click.group()
def keys():
    """Pinned keys of colleagues."""


@keys.command("accept")
@url_option
@click.argument("username")
@click.option("--fingerprint", help="Their fingerprint as you compared it in person (else asked).")
@json_option
@handle_errors
def keys_accept(url, username, fingerprint, as_json):
    """Trust a colleague's keys after comparing fingerprints in person (when no certificate vouches for them)."""
    from vault import crypto

    s = open_session(url)
    user = s.http.get(f"/users/{username}")
    fpr = crypto.fingerprint(crypto.b64d(user["box_public"]), crypto.b64d(user["sign_public"]))
    confirm_fingerprint(username, fpr, fingerprint, as_json)
    how = s.trust.verify_user(user, expect_fingerprint=fpr)
    emit({"accepted": username, "fingerprint": fpr, "verified_by": how}, as_json)


@keys.command("accept-recovery")
@url_option
@json_option
@handle_errors
def keys_accept_recovery(url, as_json):
    """Replaced by `vault org pin`: the recovery key is part of the organisation's fingerprint."""
    from vault.cli.output import fail

    fail("the recovery key is now part of the organisation: compare the organisation fingerprint with the "
         "paper kit and run `vault org pin --fingerprint '…'`", as_json)


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
    root = recovery.root_public(recovery.load_kit(files[0]))
    emit({"recovery_public": crypto.b64e(pub), "root_public": crypto.b64e(root),
          "org_fingerprint": crypto.org_fingerprint(pub, root), "files": [str(f) for f in files]}, as_json,
         lambda o: click.echo(f"Kit in {out_dir}. Register with: vault server init --recovery-public "
                              f"{o['recovery_public']} --root-public {o['root_public']}\n"
                              f"Organisation fingerprint: {o['org_fingerprint']}"))


@click.command()
@url_option
@click.option("--kit", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="recovery-key.txt (or a file with the key line typed from the paper kit).")
@click.argument("username")
@click.option("--fingerprint", help="The user's new fingerprint, compared with them in person (else asked).")
@json_option
@handle_errors
def recover(url, kit, username, fingerprint, as_json):
    """Re-grant a re-keyed user's cases with the recovery kit (run by an admin holding the kit)."""
    from vault import crypto
    from vault.client.session import TrustError
    from vault.domain import recovery_kit as recovery

    secret = recovery.load_kit(kit)
    s = open_session(url)
    if crypto.box_public_from_secret(secret) != s.recovery_public():
        raise TrustError("this kit does not belong to the organisation you pinned")
    user = s.http.get(f"/users/{username}")
    material = s.http.get(f"/admin/recovery/{user['id']}")
    if material["user"]["box_public"] != user["box_public"]:
        raise TrustError("the server names two different keys for this user; nothing was granted")
    # A re-keyed user has new keys no certificate vouches for yet: the kit holder compares
    # them in person, then certifies them as the root, and only then seals anything to them.
    fpr = crypto.fingerprint(crypto.b64d(user["box_public"]), crypto.b64d(user["sign_public"]))
    confirm_fingerprint(username, fpr, fingerprint, as_json)
    if s.trust.certified(user) is None:
        s.certify(user, crypto.root_sign_seed(secret))
    target = crypto.b64d(user["box_public"])
    grants = [{"case_id": k["case_id"], "version": k["version"],
               "sealed": crypto.b64e(crypto.seal(target, crypto.unseal(secret, crypto.b64d(k["sealed"]))))}
              for k in material["keys"]]
    out = s.http.post(f"/admin/recovery/{user['id']}/grants", {"grants": grants})
    emit(out, as_json, lambda o: click.echo(f"Restored {o['granted']} case keys for {username}."))


COMMANDS = [keys, recovery_kit, recover]
