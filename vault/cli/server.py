"""`vault server ...`: run on the server machine, against the data folder.

They call vault.ops (the operations) and vault.services; `vault server
reindex` is in vault/cli/search.py, `vault plugins` in vault/cli/plugins.py.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from vault.cli.common import data_option, open_vault_at, row_progress
from vault.cli.output import emit, fail, handle_errors, json_option, progress_bar


@click.group()
def server():
    """Set up, run and maintain the server."""


@server.command()
@data_option
@click.option("--recovery-public", help="Base64 public key of a recovery kit made offline with `vault recovery-kit`.")
@click.option("--root-public", help="With --recovery-public: the kit's organisation root public key (base64).")
@click.option("--kit-dir", type=click.Path(path_type=Path), default=Path("recovery-kit"), show_default=True,
              help="Where to write a new recovery kit if no public key is given (outside the data folder).")
@click.option("--organisation", default="", help="Name printed on the recovery kit.")
@json_option
@handle_errors
def init(data_dir, recovery_public, root_public, kit_dir, organisation, as_json):
    """Create a data folder, the server's keys and the first admin's invitation code."""
    import base64

    from vault import crypto, ops
    from vault.client.trust import Invitation
    from vault.config import load_config
    from vault.domain import recovery_kit as recovery

    cfg = load_config(data_dir)
    files, secret = [], None
    if recovery_public:
        try:
            pub, root = base64.b64decode(recovery_public), base64.b64decode(root_public or "")
        except ValueError:
            pub = root = b""
        if len(pub) != 32 or len(root) != 32:
            fail("--recovery-public and --root-public must both be given, as printed by `vault recovery-kit`",
                 as_json)
    else:
        if kit_dir.resolve().is_relative_to(cfg.data_dir):
            fail("the recovery kit must not be written inside the data folder", as_json)
        if (kit_dir / "recovery-key.txt").exists():
            fail(f"{kit_dir} already holds a recovery kit; choose another --kit-dir", as_json)
        pub, files = recovery.write_kit(kit_dir, organisation)
        secret = recovery.load_kit(files[0])
        root = recovery.root_public(secret)
    try:
        v = ops.init(cfg, pub, root)
    except ops.InitError as exc:
        fail(str(exc), as_json)
    inv = ops.invite(v, "admin")
    org_fpr = crypto.org_fingerprint(pub, root)
    # The kit is in hand (made just now), so the first admin's invitation is the root's: its
    # secret, derived from the kit, lets `vault org certify --kit` check the admin's keys. A kit
    # made offline is not here: then the secret is random and the kit holder certifies the
    # first admin after comparing fingerprints (`vault org certify --kit … --user NAME`).
    isecret = crypto.invitation_secret(crypto.root_sign_seed(secret), inv["id"], "admin") if secret \
        else crypto.random_bytes(16)
    code = Invitation(inv["invitation"], isecret, org_fpr, org_fpr).code()
    del secret
    out = {"data_dir": str(cfg.data_dir), "org_fingerprint": org_fpr,
           "recovery_kit": [str(f) for f in files], "admin_invitation": code,
           "invitation_expires_at": inv["expires_at"]}

    def human(o):
        click.echo(f"Vault created in {o['data_dir']}")
        if files:
            click.secho(f"Recovery kit written to {kit_dir}/ — PRINT recovery-kit.html, keep it in a safe away from "
                        "the office, then DELETE the folder. Without it, a forgotten password cannot be recovered.",
                        fg="yellow")
        click.echo(f"Organisation fingerprint: {o['org_fingerprint']}")
        click.echo(f"First admin invitation (valid until {o['invitation_expires_at']}):\n  {o['admin_invitation']}")
        click.echo("Start the server with `vault server run`, then register: open the web page /register, "
                   "or `vault register --invite <code>`. Then certify the admin with the paper kit: "
                   "`vault org certify --kit recovery-key.txt`.")

    emit(out, as_json, human)


@server.command()
@data_option
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="Address to listen on.")
@click.option("--workers", type=int, default=None, help="gunicorn workers (default: 2 per core, at most 8).")
def run(data_dir, bind, workers):
    """Serve the vault with gunicorn (web UI and API)."""
    from vault.services.vault import NotInitialised

    try:
        open_vault_at(data_dir)
    except NotInitialised as exc:
        fail(str(exc))
    os.environ["VAULT_DATA"] = str(data_dir.resolve())
    conf = Path(__file__).resolve().parents[2] / "config" / "gunicorn.conf.py"
    args = [sys.executable, "-m", "gunicorn", "-c", str(conf), "--bind", bind]
    if workers:
        args += ["--workers", str(workers)]
    args.append("vault.wsgi:app")
    click.echo(f"Evidence vault on http://{bind}/  (logs in {data_dir / 'logs'}; Ctrl-C stops)")
    os.execv(sys.executable, args)  # noqa: S606 - fixed argv, no shell


@server.command()
@data_option
@click.option("--role", type=click.Choice(["admin", "lawyer", "medic"]), default="admin", show_default=True)
@click.option("--reset", "reset_username", help="Re-key this existing user after a lost password.")
@click.option("--kit", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="The paper kit (recovery-key.txt): only the root may invite from the server machine.")
@json_option
@handle_errors
def invite(data_dir, role, reset_username, kit, as_json):
    """An invitation from the organisation root, on the server machine (e.g. the only admin lost a password).

    Everyone else is invited by an admin's own client (`vault admin invite`):
    an invitation made here without the kit would let whoever runs it on the
    server vouch for keys, which is what the server must never do.
    """
    from vault import crypto, ops
    from vault.client.trust import Invitation
    from vault.domain import recovery_kit as recovery

    secret = recovery.load_kit(kit)
    v = open_vault_at(data_dir)
    with v.db.session() as s:
        if crypto.box_public_from_secret(secret) != v.recovery_public(s):
            fail("this kit is not this vault's recovery kit", as_json)
    root = recovery.root_public(secret)
    try:
        out = ops.invite(v, role, reset_username)
    except ops.InitError as exc:
        fail(str(exc), as_json)
    with v.db.session() as s:
        pub = v.recovery_public(s)
    fpr = crypto.org_fingerprint(pub, root)
    isecret = crypto.invitation_secret(crypto.root_sign_seed(secret), out["id"], out["role"])
    out = {**out, "invitation": Invitation(out["invitation"], isecret, fpr, fpr).code()}
    emit(out, as_json, lambda o: click.echo(f"Invitation for a {o['role']} (valid until {o['expires_at']}):\n  "
                                            f"{o['invitation']}\nCertify them afterwards: `vault org certify --kit …`"))


@server.command()
@data_option
@click.option("--dry-run", is_flag=True, help="Report only; remove nothing.")
@click.option("--deep", is_flag=True, help="Also re-hash every blob (reads all data).")
@json_option
@handle_errors
def fsck(data_dir, dry_run, deep, as_json):
    """Check blobs against the database and receipts; remove crash leftovers."""
    from vault import ops
    from vault.db.models import Item
    from vault.storage.files import StorageError

    v = open_vault_at(data_dir)
    try:
        with row_progress(v, Item, "Checking items") as bar:
            r = ops.fsck(v, repair=not dry_run, deep=deep, progress=bar.step)
    except StorageError as exc:
        fail(f"the blob store {v.blobs.describe()} cannot be used: {exc}", as_json)

    def human(d):
        click.echo(f"{d['items_checked']} items checked")
        for key, label in [("orphan_blobs", "orphan blobs"), ("stale_uploads", "stale upload files"),
                           ("missing_blobs", "items with a MISSING blob"), ("bad_size", "blobs of the wrong size"),
                           ("bad_hash", "blobs with a WRONG hash"), ("bad_receipt", "items with an INVALID receipt"),
                           ("stray_files", "stray files in the blob store"),
                           ("store_leftovers", "unfinished writes in the blob store")]:
            if d[key]:
                click.echo(f"{label}: {len(d[key])}")
                for x in d[key][:20]:
                    click.echo(f"  {x}")
        click.echo(f"removed: {d['removed']}")
        click.echo("OK" if d["ok"] else "PROBLEMS FOUND: restore the named items from a backup")

    emit(r.as_dict(), as_json, human)
    sys.exit(0 if r.ok else 1)


@server.command("audit-verify")
@data_option
@json_option
@handle_errors
def audit_verify(data_dir, as_json):
    """Verify the audit chain and its signed checkpoints; name the first broken entry."""
    from vault import ops
    from vault.db.models import AuditEntry

    v = open_vault_at(data_dir)
    with row_progress(v, AuditEntry, "Verifying audit log") as bar:
        r = ops.audit_verify(v, bar.step)
    emit(r.as_dict(), as_json, lambda d: click.echo(
        f"OK: {d['entries']} entries, {d['checkpoints']} signed checkpoints" if d["ok"]
        else f"BROKEN at entry {d['first_bad_seq']}: {d['reason']}"))
    sys.exit(0 if r.ok else 1)


@server.command()
@data_option
@json_option
@handle_errors
def info(data_dir, as_json):
    """The organisation fingerprint as this server holds it, and the server's signing key.

    Only useful on the server machine itself: a client never takes a
    fingerprint from the server, it computes it from the keys it uses.
    """
    from vault import crypto
    from vault.db.models import Setting

    v = open_vault_at(data_dir)
    with v.db.session() as s:
        rec = v.recovery_public(s)
        root = s.get(Setting, "root_sign_public")
        root = crypto.b64d(root.value) if root else None
    emit({"org_fingerprint": crypto.org_fingerprint(rec, root) if root else None,
          "recovery_fingerprint": crypto.fingerprint(rec, b""),
          "server_sign_public": crypto.b64e(v.sign_public),
          "database": v.config.db_url.split("://")[0], "blob_store": v.blobs.describe()}, as_json)


@server.command()
@data_option
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--portable", is_flag=True,
              help="Dump the database in the form that restores into SQLite or PostgreSQL (always so for "
                   "PostgreSQL); use it to move from SQLite to PostgreSQL.")
@click.option("--no-blobs", is_flag=True,
              help="Leave the blobs out: only for a bucket that is versioned and replicated (docs/storage.md).")
@json_option
@handle_errors
def backup(data_dir, out, portable, no_blobs, as_json):
    """Write a consistent backup (ciphertext only) to a tar file, blobs included from whichever store."""
    from vault import ops
    from vault.db.models import Base
    from vault.storage.files import StorageError

    if out.is_dir() or not out.parent.is_dir():
        fail(f"{out} must be a file name in an existing folder", as_json)
    v = open_vault_at(data_dir)
    portable = ops.writes_portable(v.config, portable)
    try:
        n = (0 if no_blobs else sum(1 for _ in v.blobs.blobs())) + 2
        n += len(Base.metadata.sorted_tables) if portable else 0
        with progress_bar(n, "Backing up") as bar:
            count = ops.backup(v, out, bar.step, blobs=not no_blobs, portable=portable)
    except ops.InitError as exc:
        fail(str(exc), as_json)
    except StorageError as exc:
        fail(f"the blob store {v.blobs.describe()} cannot be read: {exc}; nothing was written, try again "
             "once it is back", as_json)
    emit({"backup": str(out), "files": count, "database": "portable" if portable else "sqlite-file"}, as_json,
         lambda d: click.echo(f"Backup written to {d['backup']} ({d['files']} files, database as "
                              f"{'a portable dump' if portable else 'an SQLite file'}). It holds the server's "
                              "keys: store it as safely as the server."))


@server.command()
@click.argument("archive", type=click.Path(path_type=Path, exists=True))
@data_option
@click.option("--database-url",
              help="Restore a portable backup into this empty database (e.g. postgresql://vault@db/vault) instead "
                   "of a new SQLite file in the folder (VAULT_DATABASE_URL).")
@json_option
@handle_errors
def restore(archive, data_dir, database_url, as_json):
    """Restore a backup into a new, empty data folder (blobs into the folder, or the bucket VAULT_BLOB_URL names)."""
    from vault import ops
    from vault.config import load_config
    from vault.storage.files import StorageError

    overrides = {"database_url": database_url} if database_url else {}
    try:
        n = ops.restore(archive, data_dir, load_config(data_dir, **overrides))
    except ops.InitError as exc:
        fail(str(exc), as_json)
    except StorageError as exc:
        fail(f"the blob store cannot be written: {exc}; restore again into a new folder and an empty prefix",
             as_json)
    emit({"restored": n, "data_dir": str(data_dir)}, as_json,
         lambda d: click.echo(f"Restored {d['restored']} files into {d['data_dir']}; run `vault server fsck` "
                              "and `vault server audit-verify`."))


@server.command()
@data_option
def migrate(data_dir):
    """Bring the database schema up to date."""
    from vault.config import load_config
    from vault.db import migrate as m

    m.upgrade(load_config(data_dir).db_url)
    click.echo("Schema is up to date.")


