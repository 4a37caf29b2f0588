"""The `vault` command: server administration and the end-to-end client.

Every client command takes --json for scripts, and reads VAULT_URL,
VAULT_USER and VAULT_PASSWORD so it can run without prompts.

Where each command lives (one module per area; shared options in
common.py, printing, errors and exit codes in output.py):

    account.py   register, login, password, logout, whoami
    keys.py      keys accept|accept-recovery, recovery-kit, recover
    cases.py     case create|list|show|add-member|remove-member
    evidence.py  upload, download, verify
    exports.py   exporters, export
    search.py    search, server reindex
    admin.py     admin invite|pending|certify|users|disable (through the API)
    org.py       org show|pin|init-root|certify (the organisation root, the paper kit)
    server.py    server init|run|invite|fsck|audit-verify|info|backup|restore|migrate
    plugins.py   plugins list|enable|disable (on the server)
"""

from __future__ import annotations

import importlib

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="evidence-vault")
def main():
    """Evidence vault: end-to-end encrypted evidence with a chain of custody."""


def _register():
    from vault.cli import account, admin, cases, evidence, keys, org, server

    main.add_command(server.server)
    for module in (account, cases, evidence, keys, admin, org):
        for cmd in module.COMMANDS:
            main.add_command(cmd)
    # The parts beyond the core: if one cannot be imported, the others still work.
    for name in ("exports", "plugins", "search"):
        try:
            module = importlib.import_module(f"vault.cli.{name}")
        except ImportError:
            continue
        for cmd in module.COMMANDS:
            main.add_command(cmd)
        for cmd in getattr(module, "SERVER_COMMANDS", ()):
            server.server.add_command(cmd)


_register()
