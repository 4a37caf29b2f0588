"""`vault admin invite|pending|certify|users|disable`: account administration through the API.

Invitations are made here, on the admin's computer: the code's secret is
derived from the admin's key and never sent, so only this admin's client can
check that a newcomer's keys are the ones made with it, and certify them.
The server-side twin, `vault server invite --kit`, is for the root only.
"""

from __future__ import annotations

import click

from vault.cli.common import confirm_fingerprint, open_session, url_option
from vault.cli.output import emit, handle_errors, json_option


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
    """Make a one-time invitation code (give it in person, or by a channel you trust)."""
    out = open_session(url, unlock=True).invite(role, reset_username)
    emit(out, as_json, lambda o: click.echo(
        f"Invitation for a {o['role']} (until {o['expires_at']}):\n  {o['code']}\nor the link\n  {o['link']}\n"
        "Give it only to that person. When they have registered, run `vault admin certify`."))


@admin.command("pending")
@url_option
@json_option
@handle_errors
def admin_pending(url, as_json):
    """Accounts waiting for a certificate (fingerprints computed here)."""
    from vault import crypto

    rows = [{**p, "fingerprint": crypto.fingerprint(crypto.b64d(p["box_public"]), crypto.b64d(p["sign_public"]))}
            for p in open_session(url).pending()]
    emit(rows, as_json, lambda rs: [click.echo(
        f"{p['username']:<16} {p['role']:<7} invited by {p['invited_by'] or 'the server machine (root)'}  "
        f"{p['fingerprint']}") for p in rs] or click.echo("Nobody is waiting."))


@admin.command("certify")
@url_option
@click.option("--user", "username", help="Certify this person after comparing fingerprints in person instead.")
@click.option("--fingerprint", help="With --user: their fingerprint as you compared it.")
@json_option
@handle_errors
def admin_certify(url, username, fingerprint, as_json):
    """Certify the people you invited whose keys match your invitation (or one person, compared in person)."""
    from vault import crypto

    s = open_session(url, unlock=True)
    if username is None:
        done = s.certify_pending()
    else:
        user = s.http.get(f"/users/{username}")
        fpr = crypto.fingerprint(crypto.b64d(user["box_public"]), crypto.b64d(user["sign_public"]))
        confirm_fingerprint(username, fpr, fingerprint, as_json)
        s.certify(user)
        done = [username]
    emit({"certified": done}, as_json, lambda d: click.echo(
        "Certified: " + ", ".join(d["certified"]) if d["certified"] else "Nobody you invited is waiting."))


@admin.command("users")
@url_option
@json_option
@handle_errors
def admin_users(url, as_json):
    """List accounts."""
    from vault import crypto

    s = open_session(url)
    users = s.http.get("/admin/users")["users"]
    for u in users:  # computed here, never the server's word; "certified" only if the chain checks out here
        u["fingerprint"] = crypto.fingerprint(crypto.b64d(u["box_public"]), crypto.b64d(u["sign_public"]))
        u["certified"] = s.trust.certified(u) is not None
    emit(users, as_json, lambda us: [click.echo(
        f"{u['id']} {u['username']:<16} {u['role']:<7} {'DISABLED' if u['disabled'] else 'active':<8} "
        f"{'certified' if u['certified'] else 'NOT CERTIFIED':<13} {u['fingerprint']}") for u in us])


@admin.command("disable")
@url_option
@click.argument("username")
@click.option("--enable", is_flag=True, help="Enable instead.")
@json_option
@handle_errors
def admin_disable(url, username, enable, as_json):
    """Disable (or --enable) an account; its sessions end at once."""
    s = open_session(url)
    uid = s.http.get(f"/users/{username}")["id"]
    out = s.http.post(f"/admin/users/{uid}/{'enable' if enable else 'disable'}")
    emit(out, as_json, lambda o: click.echo(f"{username} is now {'disabled' if o['disabled'] else 'enabled'}."))


COMMANDS = [admin]
