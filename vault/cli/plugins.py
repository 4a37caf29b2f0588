"""`vault plugins list|enable|disable`, on the server against its data folder.

Like `vault server ...`, it works on the data folder directly: each change
is a row in the database (every worker sees it on its next request) and an
audit entry with the actor "server-cli". The exporters plugins offer are
used with `vault exporters` and `vault export` (vault/cli/exports.py).
"""

from __future__ import annotations

from pathlib import Path

import click

from vault.cli.common import data_option, open_vault_at
from vault.cli.output import emit, handle_errors, json_option

ACTOR = "server-cli"


@click.group("plugins")
def plugins_group():
    """List, enable and disable installed plugins (on the server, against its data folder)."""


def _show(rows: list[dict]) -> None:
    if not rows:
        click.echo("No plugins are installed.")
    for p in rows:
        state = "always on" if p["always_on"] else ("ENABLED" if p["enabled"] else "disabled")
        if not p["installed"]:
            state += " (not installed)"
        version = p["version"] or "-"
        changed = (f"changed {p['changed_at']} by {p['changed_by']}" if p["changed_at"]
                   else f"default ({'enabled' if p['default_enabled'] else 'disabled'})")
        click.echo(f"{p['name']:<20} {version:<10} {state:<10} {changed}")
        for e in p["exporters"]:
            click.echo(f"    exporter {e['name']:<14} {e['label']}  →  {e['target_body']}")


@plugins_group.command("list")
@data_option
@json_option
@handle_errors
def plugins_list(data_dir: Path, as_json: bool):
    """Installed plugins, whether each is enabled, and the exporters they offer."""
    from vault.services.plugins import plugin_listing

    v = open_vault_at(data_dir)
    with v.db.session() as s:
        rows = plugin_listing(s)
    emit(rows, as_json, _show)


def _toggle(data_dir: Path, name: str, enabled: bool, as_json: bool) -> None:
    """Set the state (a refusal, e.g. an unknown plugin, reaches handle_errors), then tell this process's hooks."""
    from vault.services.plugins import notify_state_changed, set_plugin_enabled

    v = open_vault_at(data_dir)
    with v.db.session() as s:
        out, changed = set_plugin_enabled(v, s, name, enabled, ACTOR)
    if changed:
        notify_state_changed(v, name, enabled, ACTOR)
    out = {**out, "changed": changed}

    def human(o):
        word = "enabled" if o["enabled"] else "disabled"
        click.echo(f"{o['name']} is {word}" + ("" if o["changed"] else " (it already was)") + ".")
        if o["changed"]:
            click.echo("Every server worker applies this from its next request; no restart is needed.")

    emit(out, as_json, human)


@plugins_group.command("enable")
@click.argument("name")
@data_option
@json_option
@handle_errors
def plugins_enable(name: str, data_dir: Path, as_json: bool):
    """Enable an installed plugin (audited as server-cli)."""
    _toggle(data_dir, name, True, as_json)


@plugins_group.command("disable")
@click.argument("name")
@data_option
@json_option
@handle_errors
def plugins_disable(name: str, data_dir: Path, as_json: bool):
    """Disable a plugin (audited as server-cli)."""
    _toggle(data_dir, name, False, as_json)


COMMANDS = [plugins_group]
