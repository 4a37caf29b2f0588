"""Client commands: they encrypt, sign and verify on this machine."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from vault.cli import emit, fail, handle_errors, json_option

url_option = click.option("--url", envvar="VAULT_URL", default="http://127.0.0.1:8000", show_default=True,
                          help="The vault server (VAULT_URL).")


def _password(confirm: bool = False) -> str:
    pw = os.environ.get("VAULT_PASSWORD")
    if pw:
        return pw
    if not sys.stdin.isatty():
        fail("no password: set VAULT_PASSWORD or run in a terminal")
    return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)


def _session(url: str, unlock: bool = False):
    from vault.client.session import ClientSession

    sess = ClientSession.resume(url)
    if unlock:
        sess.unlock(_password())
    return sess


@click.command()
@url_option
@click.option("--invite", "invitation", required=True, help="The one-time invitation from your admin.")
@click.option("--user", "username", envvar="VAULT_USER", required=True, help="Your user name (VAULT_USER).")
@json_option
@handle_errors
def register(url, invitation, username, as_json):
    """Create your account: your keys are made here and never leave unencrypted."""
    from vault.client.session import register as do_register

    pw = _password(confirm=True)
    if len(pw) < 10:
        fail("choose a password of at least 10 characters (a few unrelated words work well)", as_json)
    out = do_register(url, invitation, username, pw)

    def human(o):
        u = o["user"]
        click.echo(f"Registered {u['username']} ({u['role']}).")
        click.echo(f"Your key fingerprint: {u['fingerprint']}  (colleagues compare it with you in person)")
        click.echo(f"Organisation recovery key fingerprint: {o['recovery_fingerprint']} (compare with the paper kit)")
        click.secho("If you forget your password, only the organisation's recovery kit can restore your access.",
                    fg="yellow")

    emit(out, as_json, human)


@click.command()
@url_option
@click.option("--user", "username", envvar="VAULT_USER", required=True, help="Your user name (VAULT_USER).")
@click.option("--totp", help="The 6-digit code, if you enabled a second factor.")
@json_option
@handle_errors
def login(url, username, totp, as_json):
    """Sign in (the password is turned into keys here; the server never sees it)."""
    from vault.client.session import ClientSession

    if not as_json:
        click.echo("Deriving your key (Argon2id, takes a moment)…", err=True)
    sess = ClientSession.login(url, username.lower(), _password(), totp)
    out = {"username": sess.username, "role": sess.me["role"], "fingerprint": sess.me["fingerprint"]}
    emit(out, as_json, lambda o: click.echo(f"Signed in as {o['username']} ({o['role']})."))


@click.command("password")
@url_option
@json_option
@handle_errors
def change_password(url, as_json):
    """Change your password. Your keys stay the same; your other sessions end.

    Non-interactive: the current password in VAULT_PASSWORD, the new one in VAULT_NEW_PASSWORD.
    """
    s = _session(url)
    current = _password()
    new = os.environ.get("VAULT_NEW_PASSWORD")
    if not new:
        if not sys.stdin.isatty():
            fail("no new password: set VAULT_NEW_PASSWORD or run in a terminal", as_json)
        new = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    if len(new) < 10:
        fail("the new password is too short: use at least 10 characters (a few words are easiest)", as_json)
    if new == current:
        fail("the new password is the same as the current one", as_json)
    if not as_json:
        click.echo("Deriving your keys (Argon2id, takes a moment)…", err=True)
    s.unlock(current)
    out = s.change_password(current, new)
    emit({"changed": True, "sessions_ended": out["sessions_ended"]}, as_json,
         lambda o: click.echo(f"Password changed. {o['sessions_ended']} other session(s) ended; "
                              "sign in again there with the new password."))


@click.command()
@url_option
@json_option
@handle_errors
def logout(url, as_json):
    """End the session on the server and forget the token here."""
    _session(url).logout()
    emit({"signed_out": True}, as_json, lambda o: click.echo("Signed out."))


@click.command()
@url_option
@json_option
@handle_errors
def whoami(url, as_json):
    """Show the signed-in account and its fingerprint."""
    s = _session(url)
    emit({k: s.me[k] for k in ("username", "role", "fingerprint", "totp_enabled")}, as_json)


@click.group()
def case():
    """Open cases, list them, manage members."""


@case.command("create")
@url_option
@click.argument("reference")
@click.option("--title", required=True, help="Searchable: visible to the server. Never put names here.")
@click.option("--region", help="Region code (e.g. bishkek, osh, jalal_abad).")
@json_option
@handle_errors
def case_create(url, reference, title, region, as_json):
    """Open a case; its key is made here and sealed to you and the recovery key."""
    s = _session(url, unlock=True)
    out = s.create_case(reference, title, region)
    emit(out, as_json, lambda o: click.echo(f"Case {o['reference']} created: {o['id']}"))


@case.command("list")
@url_option
@json_option
@handle_errors
def case_list(url, as_json):
    """The cases you are a member of."""
    cases = _session(url).cases()

    def human(rows):
        if not rows:
            click.echo("You are not a member of any case yet.")
        for c in rows:
            click.echo(f"{c['id']}  {c['reference']:<20} {c['items']:>5} items  {c['title']}")

    emit(cases, as_json, human)


@case.command("show")
@url_option
@click.argument("case_id")
@json_option
@handle_errors
def case_show(url, case_id, as_json):
    """A case's members (with fingerprints) and items."""
    s = _session(url)
    c = s.case(case_id)
    items = s.http.get(f"/cases/{case_id}/items")["items"]
    out = {**{k: c[k] for k in ("id", "reference", "title", "region", "key_version")},
           "members": [{k: m[k] for k in ("username", "role", "fingerprint")} for m in c["members"]],
           "items": items}

    def human(o):
        click.echo(f"{o['reference']}: {o['title']} (key version {o['key_version']})")
        for m in o["members"]:
            click.echo(f"  member {m['username']:<16} {m['role']:<7} {m['fingerprint']}")
        for i in o["items"]:
            click.echo(f"  item {i['id']}  {i['evidence_type']:<16} {i['metadata']['title']}")

    emit(out, as_json, human)


@case.command("add-member")
@url_option
@click.argument("case_id")
@click.argument("username")
@json_option
@handle_errors
def case_add_member(url, case_id, username, as_json):
    """Grant a colleague access: your client seals the case keys to their key."""
    s = _session(url, unlock=True)
    out = s.add_member(case_id, username)
    emit(out, as_json, lambda o: click.echo(
        f"{username} added. Their fingerprint is {o['fingerprint']}: compare it with them in person."))


@case.command("remove-member")
@url_option
@click.argument("case_id")
@click.argument("username")
@json_option
@handle_errors
def case_remove_member(url, case_id, username, as_json):
    """Remove a member and rotate the case key for new items."""
    s = _session(url, unlock=True)
    out = s.remove_member(case_id, username)
    emit(out, as_json, lambda o: click.echo(f"{username} removed; new items use key version {o['key_version']}."))


def _metadata(title, evidence_type, region, place, date_from, date_to, violations, methods, tags, language,
              detention_place_type):
    meta = {"title": title, "evidence_type": evidence_type}
    for k, v in (("region", region), ("place", place), ("incident_date_from", date_from),
                 ("incident_date_to", date_to), ("language", language), ("detention_place_type", detention_place_type)):
        if v:
            meta[k] = v
    for k, v in (("violations", violations), ("methods", methods), ("tags", tags)):
        if v:
            meta[k] = [x.strip() for x in v.split(",") if x.strip()]
    return meta


# Structured evidence: the JSON file is checked against its model before it
# is sealed, so a recipient never receives a malformed report.
STRUCTURED = {
    "forensic_report": ("ForensicReport", "application/vnd.vault.forensic-report+json"),
    "case_record": ("CaseRecord", "application/vnd.vault.case-record+json"),
}


def _check_structured(evidence_type: str, path: Path, as_json: bool) -> None:
    from pydantic import ValidationError

    from vault.domain import caserecord

    model = getattr(caserecord, STRUCTURED[evidence_type][0])
    try:
        model.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, UnicodeDecodeError) as exc:
        # Field paths only: the values are sealed content and stay off the screen log.
        if isinstance(exc, ValidationError):
            where = ", ".join(".".join(map(str, e["loc"])) + ": " + e["msg"] for e in exc.errors(include_input=False))
        else:
            where = "not valid UTF-8 JSON"
        fail(f"{path.name} is not a valid {evidence_type.replace('_', ' ')}: {where}", as_json)


@click.command()
@url_option
@click.argument("case_id")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--title", help="Searchable title (visible to the server; no names). Default: 'Evidence'.")
@click.option("--type", "evidence_type", default="document", show_default=True, help="Evidence type code.")
@click.option("--region")
@click.option("--place", help="Facility or unit (searchable).")
@click.option("--from", "date_from", help="Incident date from (YYYY-MM-DD).")
@click.option("--to", "date_to", help="Incident date to (YYYY-MM-DD).")
@click.option("--violations", help="Comma-separated violation codes.")
@click.option("--methods", help="Comma-separated method codes.")
@click.option("--tags", help="Comma-separated tags.")
@click.option("--language", type=click.Choice(["ky", "ru", "en"]))
@click.option("--detention-place-type")
@click.option("--sealed", "sealed_json", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="JSON file of sealed fields (victim, statement, description…): encrypted, never visible to the server.")
@click.option("--attach-to", help="Item id this file belongs to (e.g. a photo of a forensic report).")
@click.option("--restart", is_flag=True,
              help="Start over even if an earlier, stopped upload of the same file could be continued.")
@json_option
@handle_errors
def upload(url, case_id, files, title, evidence_type, region, place, date_from, date_to, violations, methods, tags,
           language, detention_place_type, sealed_json, attach_to, restart, as_json):
    """Encrypt and upload files to a case.

    A dropped connection is resumed by itself; an upload stopped by a crash,
    a closed laptop or Ctrl-C goes on where it stopped when the same command
    is run again for the same, unchanged file (its title and fields stay
    those given the first time).
    """
    from vault.client.transfer import upload_file

    sealed = json.loads(sealed_json.read_text(encoding="utf-8")) if sealed_json else None
    if sealed is not None and not isinstance(sealed, dict):
        fail("--sealed must be a JSON object", as_json)
    media_type = None
    if evidence_type in STRUCTURED:
        media_type = STRUCTURED[evidence_type][1]
        for f in files:
            _check_structured(evidence_type, f, as_json)
    s = _session(url, unlock=True)
    results = []
    for f in files:
        meta = _metadata(title or "Evidence", evidence_type, region, place, date_from, date_to, violations,
                         methods, tags, language, detention_place_type)
        size = f.stat().st_size
        with click.progressbar(length=size, label=f"Encrypting and sending {f.name}", file=sys.stderr,
                               hidden=as_json) as bar:
            out = upload_file(s, case_id, f, meta, sealed, attach_to, progress=lambda n: bar.update(n),
                              media_type=media_type, restart=restart)
        results.append(out)

    def show(rs):
        for r in rs:
            again = f"; continued an earlier upload, {r['resumed_from']} bytes were already stored" \
                if r.get("resumed_from") else ""
            click.echo(f"Stored {r['item_id']} (ciphertext sha256 {r['blob_sha256']}{again})")

    emit(results, as_json, show)


@click.command()
@url_option
@click.argument("item_id")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: original name).")
@click.option("--dir", "out_dir", type=click.Path(file_okay=False, path_type=Path), help="Folder to write into.")
@json_option
@handle_errors
def download(url, item_id, out, out_dir, as_json):
    """Download, verify and decrypt an item (nothing is written unless every check passes)."""
    from vault.client.transfer import download_item

    s = _session(url, unlock=True)
    size = s.http.get(f"/items/{item_id}")["blob_size"]
    with click.progressbar(length=size, label="Downloading and decrypting", file=sys.stderr, hidden=as_json) as bar:
        path, manifest = download_item(s, item_id, out, out_dir, progress=lambda n: bar.update(n))
    emit({"path": str(path), "sha256": manifest["sha256"], "size": manifest["size"], "uploader": manifest["uploader"],
          "verified": True}, as_json,
         lambda o: click.echo(f"Verified and saved {o['path']} ({o['size']} bytes, uploaded by {o['uploader']})"))


@click.command()
@url_option
@click.argument("target")
@json_option
@handle_errors
def verify(url, target, as_json):
    """Verify an export bundle offline (a .zip path), or one item online (an item id)."""
    if Path(target).exists():
        try:
            from vault.export.bundle import verify_command
        except ImportError:
            fail("bundle verification is not installed", as_json)
        sys.exit(verify_command(Path(target), as_json))
    from vault.client.transfer import download_item, fetch_item

    s = _session(url, unlock=True)
    item, manifest, _, _, _ = fetch_item(s, target)
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        download_item(s, target, Path(d) / "check")
    out = {"item_id": item["id"], "verified": True, "sha256": manifest["sha256"], "size": manifest["size"],
           "uploader": manifest["uploader"], "uploaded_at": item["created_at"],
           "uploader_sign_public": item["uploader"]["sign_public"]}
    emit(out, as_json, lambda o: click.echo(
        f"OK: item {o['item_id']} is unaltered: sha256 {o['sha256']}, {o['size']} bytes, "
        f"signed by {o['uploader']}, stored {o['uploaded_at']}"))


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
    s = _session(url)
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
    import base64

    from vault import crypto

    s = _session(url)
    fpr = crypto.fingerprint(base64.b64decode(s.http.get("/auth/params")["recovery_public"]), b"")
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
    import base64

    from vault import crypto
    from vault.domain import recovery_kit as recovery

    pub, files = recovery.write_kit(out_dir, organisation)
    emit({"recovery_public": base64.b64encode(pub).decode(), "fingerprint": crypto.fingerprint(pub, b""),
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
    import base64

    from vault import crypto
    from vault.client.session import TrustError
    from vault.domain import recovery_kit as recovery

    secret = recovery.load_kit(kit)
    s = _session(url)
    pub_pin = s.recovery_public()
    if crypto.box_public_from_secret(secret) != pub_pin:
        raise TrustError("this kit does not belong to this server's recovery key")
    user = s.http.get(f"/users/{username}")
    material = s.http.get(f"/admin/recovery/{user['id']}")
    if not as_json and sys.stdin.isatty():
        click.confirm(f"Grant {len(material['keys'])} case keys to {username} (fingerprint {user['fingerprint']})?",
                      abort=True)
    target = base64.b64decode(material["user"]["box_public"])
    grants = [{"case_id": k["case_id"], "version": k["version"],
               "sealed": base64.b64encode(crypto.seal(target, crypto.unseal(secret, base64.b64decode(k["sealed"]))))
               .decode()} for k in material["keys"]]
    out = s.http.post(f"/admin/recovery/{user['id']}/grants", {"grants": grants})
    emit(out, as_json, lambda o: click.echo(f"Restored {o['granted']} case keys for {username}."))


@click.group()
def admin():
    """Account administration through the API (an admin is not a reader)."""


@admin.command("invite")
@url_option
@click.option("--role", type=click.Choice(["admin", "lawyer", "medic"]), required=True)
@click.option("--reset", "reset_username")
@json_option
@handle_errors
def admin_invite(url, role, reset_username, as_json):
    """Make a one-time invitation."""
    out = _session(url).http.post("/admin/invitations", {"role": role, "reset_username": reset_username})
    emit(out, as_json, lambda o: click.echo(f"Invitation ({o['role']}, until {o['expires_at']}):\n  {o['invitation']}"))


@admin.command("users")
@url_option
@json_option
@handle_errors
def admin_users(url, as_json):
    """List accounts."""
    users = _session(url).http.get("/admin/users")["users"]
    emit(users, as_json, lambda us: [click.echo(
        f"{u['id']} {u['username']:<16} {u['role']:<7} {'DISABLED' if u['disabled'] else 'active':<8} {u['fingerprint']}")
        for u in us])


@admin.command("disable")
@url_option
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable instead.")
@json_option
@handle_errors
def admin_disable(url, username, enable, as_json):
    """Disable (or --enable) an account; its sessions end at once."""
    s = _session(url)
    uid = s.http.get(f"/users/{username}")["id"]
    out = s.http.post(f"/admin/users/{uid}/{'enable' if enable else 'disable'}")
    emit(out, as_json, lambda o: click.echo(f"{username} is now {'disabled' if o['disabled'] else 'enabled'}."))


COMMANDS = [register, login, logout, change_password, whoami, case, upload, download, verify, keys, recovery_kit, recover, admin]
