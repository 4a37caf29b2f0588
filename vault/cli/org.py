"""`vault org show|pin|init-root|certify`: the organisation root that trust comes from.

The root is derived from the paper recovery kit (docs/trust.md), so whoever
holds the kit certifies the admins; admins certify the people they invite
(`vault admin certify`). Nothing here takes a key or a fingerprint from the
server: every fingerprint printed is computed on this computer.
"""

from __future__ import annotations

from pathlib import Path

import click

from vault.cli.common import confirm_fingerprint, open_session, url_option
from vault.cli.output import emit, handle_errors, json_option

kit_option = click.option("--kit", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
                          help="recovery-key.txt (or a file with the key line typed from the paper kit).")


@click.group()
def org():
    """The organisation: its fingerprint, its root, certifying admins with the paper kit."""


@org.command("show")
@url_option
@json_option
@handle_errors
def org_show(url, as_json):
    """The organisation this computer trusts, and its fingerprint (computed here)."""
    o = open_session(url).organisation()
    emit({"org_fingerprint": o.fingerprint}, as_json,
         lambda d: click.echo(f"Organisation fingerprint: {d['org_fingerprint']}"))


@org.command("pin")
@url_option
@click.option("--fingerprint", required=True,
              help="The organisation fingerprint from the paper kit or your invitation (30 digits).")
@json_option
@handle_errors
def org_pin(url, fingerprint, as_json):
    """Trust your organisation on this computer (a new laptop, or a vault that got its root today)."""
    o = open_session(url).pin_organisation(fingerprint)
    emit({"org_fingerprint": o.fingerprint}, as_json,
         lambda d: click.echo(f"Organisation pinned: {d['org_fingerprint']}"))


@org.command("init-root")
@url_option
@kit_option
@json_option
@handle_errors
def org_init_root(url, kit, as_json):
    """Give a vault made before roots its organisation root, from the paper kit (once)."""
    from vault import crypto
    from vault.client.session import TrustError
    from vault.domain import recovery_kit as recovery

    secret = recovery.load_kit(kit)
    s = open_session(url)
    params = s.http.get("/auth/params")
    recovery_public = crypto.box_public_from_secret(secret)
    if crypto.b64e(recovery_public) != params["recovery_public"]:
        raise TrustError("this kit is not this vault's recovery kit: its key differs from the one the vault uses")
    seed = crypto.root_sign_seed(secret)
    proof = crypto.sign_detached(seed, crypto.statement_message("root", crypto.b64e(recovery_public)))
    s.http.post("/admin/org/root", {"root_sign_public": crypto.b64e(crypto.sign_public_from_seed(seed)),
                                    "proof": crypto.b64e(proof)})
    o = s.trust.pin_organisation(s.http.get("/auth/params"),
                                 crypto.org_fingerprint(recovery_public, crypto.sign_public_from_seed(seed)))
    emit({"org_fingerprint": o.fingerprint}, as_json, lambda d: click.echo(
        f"Organisation root set. Fingerprint: {d['org_fingerprint']}\n"
        "Write it on the paper kit. Everyone runs `vault org pin --fingerprint '…'` with it once, "
        "and you certify each person after comparing fingerprints: `vault org certify --kit … --user NAME`."))


@org.command("certify")
@url_option
@kit_option
@click.option("--user", "username", help="Certify this person after comparing fingerprints in person.")
@click.option("--fingerprint", help="Their fingerprint as you compared it (else asked interactively).")
@json_option
@handle_errors
def org_certify(url, kit, username, fingerprint, as_json):
    """Certify, as the organisation root: the admins invited from the server machine, or one person by name."""
    from vault import crypto
    from vault.client.session import TrustError
    from vault.domain import recovery_kit as recovery

    secret = recovery.load_kit(kit)
    s = open_session(url)
    # The kit itself names the organisation: the strongest anchor there is. Pin it if this
    # computer has none yet (the first admin may have registered in a browser).
    from vault.client import state

    if state.pinned_org(s.url, base=s.home) is None:
        s.trust.pin_organisation(s.http.get("/auth/params"), crypto.org_fingerprint(
            crypto.box_public_from_secret(secret), recovery.root_public(secret)))
    if username is None:
        done = s.certify_pending(kit_secret=secret)
    else:
        user = s.http.get(f"/users/{username}")
        fpr = crypto.fingerprint(crypto.b64d(user["box_public"]), crypto.b64d(user["sign_public"]))
        confirm_fingerprint(username, fpr, fingerprint, as_json)
        org = s.organisation()
        if crypto.box_public_from_secret(secret) != org.recovery_public:
            raise TrustError("this paper kit does not belong to the organisation you pinned")
        s.certify(user, crypto.root_sign_seed(secret))
        done = [username]
    emit({"certified": done}, as_json, lambda d: click.echo(
        "Certified: " + ", ".join(d["certified"]) if d["certified"] else "Nobody was waiting for the root."))


COMMANDS = [org]
