"""Plugins: which are enabled (a table read on every request), and the exporters they offer.

Whether a plugin is enabled lives in the database table ``plugin_state``,
never in a worker's memory: ``enabled_plugins(s)`` reads it on each request
that needs it (one small query), so a change made through one gunicorn
worker, or by ``vault plugins enable|disable`` on the server, holds in every
worker from its next request, without a restart.

Default state, for a plugin that has no row yet (nobody ever changed it):

* the bundled plugins (``omct``, ``un``, ``ombudsman``) are **enabled**: they
  ship with the vault, are tested with it, and producing these documents is
  what the coalition runs the vault for; an admin can still disable each;
* any other installed plugin (third-party, found through the entry-point
  group) is **disabled** until an admin enables it: installing code on the
  server is not the same decision as letting it see case content;
* ``core-checks`` is part of the vault and always on.

Used by the API routes (vault/api/plugins.py, vault/api/exports.py), the export
and upload services, and by ``vault plugins`` on the server (vault/cli/plugins.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pluggy
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vault import plugins
from vault.db.models import PluginState, utcnow
from vault.domain.exports import Exporter
from vault.services.errors import Refused

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
# Large enough for a case with its documents and photos; larger exports go
# through the Python client (no size limit, nothing crosses the server).
# Settable per data folder: [vault.extra] max_export_bytes = ... in the settings file.
DEFAULT_MAX_EXPORT_BYTES = 64 * 1024 * 1024

# Set by the interface that hosts an app (vault/api/plugins.py): returns the
# plugin manager that app carries, or None. Kept as a hook so this layer need
# not know about Flask; without it (the server CLI) the process-wide manager is used.
_manager_lookup: Callable[[], pluggy.PluginManager | None] | None = None


def set_manager_lookup(lookup: Callable[[], pluggy.PluginManager | None] | None) -> None:
    """Called once by the web interface, so an app may carry its own plugin manager (tests give one)."""
    global _manager_lookup
    _manager_lookup = lookup


def default_enabled(name: str) -> bool:
    """The state of a plugin nobody has changed yet (see the module docstring)."""
    return name in plugins.BUNDLED_PLUGINS or name in plugins.ALWAYS_ON


def plugin_manager() -> pluggy.PluginManager:
    """The plugin manager of the current app if it carries one, else the process-wide one."""
    pm = _manager_lookup() if _manager_lookup is not None else None
    return pm or plugins.get_plugin_manager()


def max_export_bytes(config) -> int:
    """The largest browser export request, in bytes ([vault.extra] max_export_bytes in the settings file)."""
    extra = config.extra if isinstance(config.extra, dict) else {}
    return int(extra.get("max_export_bytes", DEFAULT_MAX_EXPORT_BYTES))


def _installed(pm: pluggy.PluginManager) -> dict[str, plugins.PluginInfo]:
    return {info.name: info for info in plugins.installed_plugins(pm)}


def _rows(s: Session) -> dict[str, PluginState]:
    return {row.name: row for row in s.execute(select(PluginState)).scalars()}


def enabled_plugins(s: Session, pm: pluggy.PluginManager | None = None) -> set[str]:
    """The names of the installed plugins that are enabled now, read from the database."""
    pm = pm or plugin_manager()
    rows = _rows(s)
    out = set()
    for name in _installed(pm):
        row = rows.get(name)
        if name in plugins.ALWAYS_ON or (row.enabled if row is not None else default_enabled(name)):
            out.add(name)
    return out


def _translations(found) -> dict[str, dict[str, str]]:
    return {lang: dict(texts) for lang, texts in found.items()}


def exporter_dict(exp: Exporter) -> dict:
    """What the export dialog shows about one exporter."""
    return {
        "name": exp.name, "label": exp.label, "target_body": exp.target_body, "description": exp.description,
        "plugin": exp.plugin, "languages": list(exp.languages), "formats": list(exp.output_formats),
        "required_fields": list(exp.required_fields), "form_version": exp.form_version,
        "form_verified": exp.form_verified,
        "translations": _translations(exp.translations),
        "variants": [{"name": v.name, "label": v.label, "note": v.note, "translations": _translations(v.translations),
                      "states": sorted(v.states) if v.states is not None else None} for v in exp.variants],
    }


def exporter_listing(s: Session, config, pm: pluggy.PluginManager | None = None) -> dict:
    """The exporters of enabled plugins, for the export dialog, and the size limit of a browser export."""
    pm = pm or plugin_manager()
    offered = plugins.exporters(pm, enabled_plugins(s, pm))
    return {"exporters": [exporter_dict(offered[n]) for n in sorted(offered)],
            "max_export_bytes": max_export_bytes(config)}


def _plugin_dict(info: plugins.PluginInfo | None, name: str, row: PluginState | None,
                 offered: list[Exporter]) -> dict:
    installed = info is not None
    always_on = name in plugins.ALWAYS_ON
    if always_on:
        enabled = True
    elif row is not None:
        enabled = bool(row.enabled) and installed
    else:
        enabled = installed and default_enabled(name)
    return {
        "name": name, "installed": installed, "enabled": enabled, "always_on": always_on,
        "default_enabled": default_enabled(name), "bundled": name in plugins.BUNDLED_PLUGINS,
        "version": info.version if info else None, "distribution": info.distribution if info else None,
        "module": info.module if info else None, "hooks": list(info.hooks) if info else [],
        "exporters": [{"name": e.name, "label": e.label, "target_body": e.target_body,
                       "translations": _translations(e.translations)} for e in offered],
        "changed_at": row.changed_at.isoformat() + "Z" if row is not None else None,
        "changed_by": row.changed_by if row is not None else None,
    }


def _offered_by(pm: pluggy.PluginManager, name: str) -> list[Exporter]:
    return sorted((e for e in plugins.exporters(pm, {name}).values() if e.plugin == name), key=lambda e: e.name)


def plugin_listing(s: Session, pm: pluggy.PluginManager | None = None) -> list[dict]:
    """Every installed plugin (and any plugin that has a state row but is no longer installed)."""
    pm = pm or plugin_manager()
    installed = _installed(pm)
    rows = _rows(s)
    names = sorted(set(installed) | set(rows))
    return [_plugin_dict(installed.get(n), n, rows.get(n), _offered_by(pm, n) if n in installed else [])
            for n in names]


def set_plugin_enabled(vault, s: Session, name: str, enabled: bool, actor: str,
                       pm: pluggy.PluginManager | None = None) -> tuple[dict, bool]:
    """Enable or disable an installed plugin inside the caller's transaction; audited.

    Returns (the plugin's listing entry, whether anything changed). Raises
    Refused: 404 for a plugin that is not installed (only installed plugins
    can be enabled; nothing is ever installed through the web), 422 for
    ``core-checks``. Call notify_state_changed after the transaction commits.
    """
    pm = pm or plugin_manager()
    installed = _installed(pm)
    row = s.get(PluginState, name) if _NAME.fullmatch(name) else None
    if name not in installed and not (row is not None and not enabled):
        raise Refused(404, "plugin_not_installed",
                      f"No plugin called {name!r} is installed on the server. Plugins are installed with pip "
                      "on the server and the vault restarted (docs/plugins.md); only installed plugins can be "
                      "enabled.", installed=sorted(installed))
    if name in plugins.ALWAYS_ON:
        if enabled:
            return _plugin_dict(installed[name], name, row, []), False
        raise Refused(422, "always_on", f"{name} is part of the vault and cannot be disabled.")
    # For a plugin no longer installed, the row is what counts: disabling it keeps it
    # disabled should it be installed again.
    before = row.enabled if row is not None else default_enabled(name)
    if before == enabled:
        return _plugin_dict(installed.get(name), name, row, _offered_by(pm, name) if name in installed else []), False
    now = utcnow()
    if row is None:
        row = PluginState(name=name, enabled=enabled, changed_at=now, changed_by=actor)
        s.add(row)
    else:
        row.enabled, row.changed_at, row.changed_by = enabled, now, actor
    info = installed.get(name)
    vault.audit(s, actor, "plugin_enabled" if enabled else "plugin_disabled", "plugin:" + name,
                {"version": info.version if info else None, "distribution": info.distribution if info else None})
    s.flush()
    return _plugin_dict(info, name, row, _offered_by(pm, name) if info else []), True


def notify_state_changed(vault, name: str, enabled: bool, actor: str, pm: pluggy.PluginManager | None = None):
    """Fire vault_plugin_state_changed in this process, with the state as committed."""
    pm = pm or plugin_manager()
    with vault.db.session() as s:
        after = enabled_plugins(s, pm)
    plugins.notify_plugin_state_changed(pm, after, name, enabled, actor)


def change_plugin_state(vault, name: str, enabled: bool, actor: str) -> dict:
    """Enable or disable a plugin in its own transaction, then tell the plugins; the entry and `changed`."""
    try:
        with vault.db.session() as s:
            out, changed = set_plugin_enabled(vault, s, name, enabled, actor)
    except IntegrityError as exc:  # two admins created the row at the same moment
        raise Refused(409, "conflict", "Someone changed this plugin at the same moment; try again.") from exc
    if changed:
        notify_state_changed(vault, name, enabled, actor)
    return {**out, "changed": changed}


def enabled_exporter(s: Session, name: str, pm: pluggy.PluginManager | None = None) -> tuple[Exporter, set[str]]:
    """The exporter ``name`` if its plugin is enabled, with the enabled set; a clear 4xx otherwise."""
    pm = pm or plugin_manager()
    enabled = enabled_plugins(s, pm)
    offered = plugins.exporters(pm, enabled)
    if name in offered:
        return offered[name], enabled
    every = plugins.exporters(pm, set(_installed(pm)))
    if name in every:
        raise Refused(403, "exporter_disabled",
                      f"The exporter {name!r} ({every[name].label}) is disabled on this vault: its plugin "
                      f"{every[name].plugin!r} is not enabled. Ask your organisation's admin.")
    raise Refused(404, "unknown_exporter", f"There is no exporter called {name!r}.",
                  available=sorted(offered))
