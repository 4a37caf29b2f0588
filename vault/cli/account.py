"""Your account: `vault register`, `login`, `password`, `logout`, `whoami`.

The password is turned into keys on this machine; the server sees neither.
"""

from __future__ import annotations

import os
import sys

import click

from vault.cli.common import ask_password, open_session, url_option
from vault.cli.output import emit, fail, handle_errors, json_option


@click.command()
@url_option
@click.option("--invite", "invitation", required=True,
              help="The invitation code (vault-invite-v1:…) or link your admin gave you.")
@click.option("--user", "username", envvar="VAULT_USER", required=True, help="Your user name (VAULT_USER).")
@json_option
@handle_errors
def register(url, invitation, username, as_json):
    """Create your account: your keys are made here and never leave unencrypted."""
    from vault.client.session import register as do_register

    pw = ask_password(confirm=True)
    if len(pw) < 10:
        fail("choose a password of at least 10 characters (a few unrelated words work well)", as_json)
    out = do_register(url, invitation, username, pw)

    def human(o):
        u = o["user"]
        click.echo(f"Registered {u['username']} ({u['role']}).")
        click.echo(f"Your key fingerprint: {o['fingerprint']}  (computed here; colleagues compare it with you)")
        click.echo(f"Organisation fingerprint: {o['org_fingerprint']}  (it matched your invitation)")
        click.echo("An admin must now certify your account before colleagues can add you to cases.")
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
    from vault.client.session import ClientSession, TrustError

    if not as_json:
        click.echo("Deriving your key (Argon2id, takes a moment)…", err=True)
    sess = ClientSession.login(url, username.lower(), ask_password(), totp)
    out = {"username": sess.username, "role": sess.me["role"], "fingerprint": _own_fingerprint(sess)}
    try:
        out["certified"] = sess.own_certificate() is not None
    except TrustError as exc:  # no organisation pinned here yet, or a certificate from the wrong admin
        out["certified"], out["warning"] = False, str(exc)

    def human(o):
        click.echo(f"Signed in as {o['username']} ({o['role']}).")
        if o.get("warning"):
            click.secho(o["warning"], fg="yellow")
        elif not o["certified"]:
            click.echo("Your account is not certified yet: ask your admin to run `vault admin certify`.")

    emit(out, as_json, human)


def _own_fingerprint(sess) -> str:
    from vault import crypto

    return crypto.fingerprint(sess.keys.box_public, sess.keys.sign_public)


@click.command("password")
@url_option
@json_option
@handle_errors
def change_password(url, as_json):
    """Change your password. Your keys stay the same; your other sessions end.

    Non-interactive: the current password in VAULT_PASSWORD, the new one in VAULT_NEW_PASSWORD.
    """
    s = open_session(url)
    current = ask_password()
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
    open_session(url).logout()
    emit({"signed_out": True}, as_json, lambda o: click.echo("Signed out."))


@click.command()
@url_option
@json_option
@handle_errors
def whoami(url, as_json):
    """Show the signed-in account and its fingerprint."""
    from vault import crypto

    s = open_session(url)
    out = {k: s.me[k] for k in ("username", "role", "totp_enabled")}
    # From the keys this computer pinned as its own at sign-in, not from the server's answer.
    from vault.client import state

    own = state.pinned(s.url, s.username, base=s.home) or {}
    out["fingerprint"] = crypto.fingerprint(crypto.b64d(own["box_public"]), crypto.b64d(own["sign_public"])) \
        if own else None
    emit(out, as_json)


COMMANDS = [register, login, logout, change_password, whoami]
