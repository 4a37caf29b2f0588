"""Options and helpers the command modules share, so none imports another's.

Client commands (which talk to a server over HTTP) take `url_option` and
get a signed-in session from `open_session`; server commands (run on the
server machine, against its data folder) take `data_option` and open the
vault with `open_vault_at`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from vault.cli.output import fail, progress_bar

url_option = click.option("--url", envvar="VAULT_URL", default="http://127.0.0.1:8000", show_default=True,
                          help="The vault server (VAULT_URL).")

data_option = click.option("--data", "data_dir", envvar="VAULT_DATA", type=click.Path(path_type=Path),
                           required=True, help="The server's data folder (VAULT_DATA).")


def ask_password(confirm: bool = False) -> str:
    """VAULT_PASSWORD if set, else a prompt; a script without either stops with a clear error."""
    pw = os.environ.get("VAULT_PASSWORD")
    if pw:
        return pw
    if not sys.stdin.isatty():
        fail("no password: set VAULT_PASSWORD or run in a terminal")
    return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)


def open_session(url: str, unlock: bool = False):
    """The session `vault login` saved for `url`; `unlock` for commands that need the private keys."""
    from vault.client.session import ClientSession

    sess = ClientSession.resume(url)
    if unlock:
        sess.unlock(ask_password())
    return sess


def open_vault_at(data_dir: Path):
    """The server's vault in `data_dir` (server commands only: it opens the database and blob store)."""
    from vault.config import load_config
    from vault.services.vault import open_vault

    return open_vault(load_config(data_dir))


def row_progress(v, model, label: str, *, hidden: bool = False):
    """A progress bar (see output.progress_bar) as long as the table of `model` has rows, for work row by row."""
    from sqlalchemy import func, select

    with v.db.session() as s:
        total = s.execute(select(func.count()).select_from(model)).scalar_one()
    return progress_bar(total, label, hidden=hidden)


def confirm_fingerprint(username: str, fpr: str, given: str | None, as_json: bool) -> None:
    """Only a fingerprint compared with the person, and computed here, lets their keys be certified or used."""
    if given is not None:
        if given.replace(" ", "") != fpr.replace(" ", ""):
            fail(f"{username}'s keys have the fingerprint {fpr}, not the one you compared; nothing was done", as_json)
        return
    if as_json or not sys.stdin.isatty():
        fail(f"{username}'s fingerprint, computed here, is {fpr}: compare it with them in person, then repeat "
             f"with --fingerprint '{fpr}'", as_json)
    click.confirm(f"{username}'s fingerprint, computed here: {fpr}\nDid they read you exactly this number?",
                  abort=True)
