"""The one place that builds the vault's pluggy plugin manager and calls its hooks.

Plugins are found through the ``evidence_vault`` entry-point group; the
bundled exporters (plugins/vault_plugin_*) are registered through that same
group by the project's pyproject, so a bundled plugin and a third-party one
are handled alike. When the vault runs from a source tree that was never
pip-installed (PYTHONPATH=.:plugins), the bundled plugins have no entry
points yet; they are then registered by module name so the tree still works.

Whether a plugin is enabled lives in the database (table ``plugin_state``),
not here: every function that calls hooks takes the set of enabled plugin
names, so this module needs no ORM and every worker sees the state it reads.
Built-in checks (vault.export.checks) are a plugin too, and always on.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace

import pluggy

from vault import hookspecs
from vault.domain.exports import EvidenceNotice, Exporter, ExportItem, ExportOptions, Problem, Rendered

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = hookspecs.PROJECT  # "evidence_vault"

# Entry-point name -> module; must match [project.entry-points."evidence_vault"].
BUNDLED_PLUGINS: dict[str, str] = {
    "omct": "vault_plugin_omct",
    "un": "vault_plugin_un",
    "ombudsman": "vault_plugin_ombudsman",
    "prosecutor": "vault_plugin_prosecutor",
}

# Part of the vault itself: registered always, cannot be disabled.
ALWAYS_ON: dict[str, str] = {"core-checks": "vault.export.checks"}


UNVERIFIED_FORM = {
    "ru": "Форма получателя, по которой составлен документ, не проверена по её действующей редакции. "
          "Проверьте перед отправкой.",
    "ky": "Документ түзүлгөн алуучунун формасы анын учурдагы редакциясы боюнча текшерилген эмес. "
          "Жөнөтүүдөн мурун текшериңиз.",
}


class UnknownExporter(LookupError):
    """No enabled plugin offers an exporter of that name."""


class PluginFailed(RuntimeError):
    """A plugin raised while validating or exporting.

    The original exception is deliberately not chained: its message may
    quote the case record (plaintext), and this error may reach a log.
    """


@dataclass(frozen=True)
class PluginInfo:
    """An installed plugin, for `vault plugins list` and the admin page."""

    name: str
    module: str
    distribution: str | None
    version: str | None
    hooks: tuple[str, ...]
    always_on: bool


def make_plugin_manager(*, load_entry_points: bool = True) -> pluggy.PluginManager:
    """A new plugin manager with every installed plugin registered (enabled or not)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name, module in ALWAYS_ON.items():
        pm.register(importlib.import_module(module), name=name)
    if load_entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for name, module in BUNDLED_PLUGINS.items():
        if pm.get_plugin(name) is None:
            try:
                pm.register(importlib.import_module(module), name=name)
            except ModuleNotFoundError:
                log.warning("bundled plugin %s is not importable", name)
    pm.check_pending()
    return pm


_pm: pluggy.PluginManager | None = None
_pm_lock = threading.Lock()


def get_plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, built on first use.

    Installing a plugin needs a restart of the process (pip install is an
    admin's action on the machine; nothing is installed through the web).
    """
    global _pm
    with _pm_lock:
        if _pm is None:
            _pm = make_plugin_manager()
        return _pm


def installed_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Every registered plugin with its distribution, version and hooks."""
    dists = {id(plugin): dist for plugin, dist in pm.list_plugin_distinfo()}
    infos = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:
            continue
        dist = dists.get(id(plugin))
        hooks = tuple(sorted(caller.name for caller in pm.get_hookcallers(plugin) or ()))
        infos.append(PluginInfo(
            name=name,
            module=getattr(plugin, "__name__", type(plugin).__name__),
            distribution=dist.metadata["name"] if dist else None,
            version=dist.version if dist else None,
            hooks=hooks,
            always_on=name in ALWAYS_ON,
        ))
    return sorted(infos, key=lambda i: i.name)


def _active(pm: pluggy.PluginManager, enabled: Iterable[str]) -> set[str]:
    wanted = set(enabled) | set(ALWAYS_ON)
    return {name for name, plugin in pm.list_name_plugin() if plugin is not None and name in wanted}


def _caller(pm: pluggy.PluginManager, hook: str, active: set[str]):
    """The hook restricted to the active plugins."""
    others = [p for n, p in pm.list_name_plugin() if p is not None and n not in active]
    return pm.subset_hook_caller(hook, remove_plugins=others)


def exporters(pm: pluggy.PluginManager, enabled: Iterable[str]) -> dict[str, Exporter]:
    """The exporters offered by enabled plugins, by exporter name.

    A plugin that fails to describe its exporters is skipped (and logged)
    rather than hiding every other exporter. If two plugins offer the same
    name, the plugin whose name sorts first keeps it and the clash is logged.
    """
    active = _active(pm, enabled)
    found: dict[str, Exporter] = {}
    impls = sorted(pm.hook.vault_exporters.get_hookimpls(), key=lambda i: i.plugin_name)
    for impl in impls:
        if impl.plugin_name not in active:
            continue
        try:
            offered = list(impl.function() or ())
        except Exception as exc:  # a broken plugin must not hide the others
            log.error("plugin %s failed in vault_exporters: %s", impl.plugin_name, type(exc).__name__)
            continue
        for exp in offered:
            if exp.name in found:
                log.error("exporter %s offered by %s and %s; keeping %s", exp.name,
                          found[exp.name].plugin, impl.plugin_name, found[exp.name].plugin)
                continue
            found[exp.name] = replace(exp, plugin=impl.plugin_name)
    return found


def _owner(pm: pluggy.PluginManager, enabled: Iterable[str], exporter: str) -> Exporter:
    offered = exporters(pm, enabled)
    if exporter not in offered:
        raise UnknownExporter(f"no enabled plugin offers the exporter {exporter!r}")
    return offered[exporter]


def validate(pm: pluggy.PluginManager, enabled: Iterable[str], exporter: str, case,
             items: list[ExportItem], options: ExportOptions) -> list[Problem]:
    """What the recipient of ``exporter`` still needs, from every enabled plugin."""
    exp = _owner(pm, enabled, exporter)
    if options.language not in exp.languages:
        return [Problem("options.language",
                        f"{exp.target_body} accepts documents in: {', '.join(exp.languages)}")]
    call = _caller(pm, "vault_validate", _active(pm, enabled))
    try:
        results = call(exporter=exporter, case=case, items=items, options=options)
    except Exception as exc:
        raise PluginFailed(f"validation failed in a plugin: {type(exc).__name__}") from None
    problems = [problem for result in results if result for problem in result]
    if not exp.form_verified:
        # Said to the user before sending, never printed in the document itself.
        problems.append(Problem(
            "form", severity="warning",
            message=f"{exp.label}: the recipient's form could not be checked against its current version "
                    f"(this exporter follows: {exp.form_version}). Check before sending.",
            messages=UNVERIFIED_FORM,
        ))
    return problems


def export(pm: pluggy.PluginManager, enabled: Iterable[str], exporter: str, case,
           items: list[ExportItem], options: ExportOptions) -> Rendered:
    """The rendered documents, from the one plugin that owns ``exporter``."""
    exp = _owner(pm, enabled, exporter)
    call = _caller(pm, "vault_export", {exp.plugin})
    try:
        rendered = call(exporter=exporter, case=case, items=items, options=options)
    except Exception as exc:
        raise PluginFailed(f"plugin {exp.plugin} failed to export: {type(exc).__name__}") from None
    if rendered is None:
        raise PluginFailed(f"plugin {exp.plugin} returned nothing for {exporter!r}")
    return rendered


def _notify(pm: pluggy.PluginManager, active: set[str], hook: str, **kwargs) -> None:
    # Called one plugin at a time so that one failing notifier does not
    # silence the others; the event has already happened and is not undone.
    for impl in getattr(pm.hook, hook).get_hookimpls():
        if impl.plugin_name not in active:
            continue
        try:
            impl.function(**{k: kwargs[k] for k in impl.argnames})
        except Exception as exc:
            log.error("plugin %s failed in %s: %s", impl.plugin_name, hook, type(exc).__name__)


def notify_evidence_added(pm: pluggy.PluginManager, enabled: Iterable[str], item: EvidenceNotice) -> None:
    """Tell enabled notification plugins that an item was stored."""
    _notify(pm, _active(pm, enabled), "vault_evidence_added", item=item)


def notify_plugin_state_changed(pm: pluggy.PluginManager, enabled: Iterable[str], name: str,
                                now_enabled: bool, actor: str) -> None:
    """Tell enabled plugins (``enabled`` is the state after the change) about the change."""
    _notify(pm, _active(pm, enabled), "vault_plugin_state_changed",
            name=name, enabled=now_enabled, actor=actor)
