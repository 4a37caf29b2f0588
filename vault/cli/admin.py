"""`vault admin invite|users|disable`: account administration through the API.

The server-side twin, `vault server invite`, works on the data folder instead.
"""

from __future__ import annotations

import click

from vault.cli.common import open_session, url_option
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
    """Make a one-time invitation."""
    out = open_session(url).http.post("/admin/invitations", {"role": role, "reset_username": reset_username})
    emit(out, as_json, lambda o: click.echo(f"Invitation ({o['role']}, until {o['expires_at']}):\n  {o['invitation']}"))


@admin.command("users")
@url_option
@json_option
@handle_errors
def admin_users(url, as_json):
    """List accounts."""
    users = open_session(url).http.get("/admin/users")["users"]
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
    s = open_session(url)
    uid = s.http.get(f"/users/{username}")["id"]
    out = s.http.post(f"/admin/users/{uid}/{'enable' if enable else 'disable'}")
    emit(out, as_json, lambda o: click.echo(f"{username} is now {'disabled' if o['disabled'] else 'enabled'}."))


COMMANDS = [admin]
