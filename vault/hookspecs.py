"""Every hook a vault plugin can implement, and the values the hooks carry, in one place.

Plugins are pluggy plugins of the project ``evidence_vault`` (the way pytest
and datasette do it). A plugin is a module or object with functions marked
``@hookimpl`` whose names are the hook names below; it is found through the
``evidence_vault`` entry-point group (vault/plugins.py) and only runs while
an admin has it enabled. Every hook here must be documented in
docs/plugins.md and exercised by a test (tests/plugins/test_hookspecs.py
checks both).

Exporters receive the case record and the evidence in plaintext: they run
where the keys are (the Python client, or the server's in-memory export
endpoint when a browser asked for the export) and must never write that
plaintext to disk or to a log.

The values the hooks carry (Exporter, Problem, ExportItem, ...) are in
vault/domain/exports.py; plugins import both from vault.plugin_api.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pluggy import HookimplMarker, HookspecMarker

from vault.domain.exports import EvidenceNotice, Exporter, ExportItem, ExportOptions, Problem, Rendered

if TYPE_CHECKING:
    from vault.domain.caserecord import CaseRecord

PROJECT = "evidence_vault"

hookspec = HookspecMarker(PROJECT)
hookimpl = HookimplMarker(PROJECT)


# --------------------------------------------------------------------------- the hooks

@hookspec
def vault_exporters() -> list[Exporter]:
    """Called when the vault lists what can be exported (web form, CLI, API).

    Return the Exporter descriptions this plugin offers: name, label, target
    body, languages, output formats, required fields, the version of the
    recipient's form that is followed, and optional variants. Exporter names
    are global: two plugins must not offer the same name.
    """


@hookspec
def vault_validate(
    exporter: str, case: CaseRecord, items: list[ExportItem], options: ExportOptions
) -> list[Problem] | None:
    """Called before an export is produced, to show the user what is missing.

    ``exporter`` is an exporter name. Return the Problems for that recipient
    (severity "missing" for what the recipient needs, "warning" for risks
    such as a time limit), or None when this plugin has nothing to say about
    that exporter. The lists from all enabled plugins are concatenated, so a
    plugin may add checks to another plugin's exporter.
    """


@hookspec(firstresult=True)
def vault_export(
    exporter: str, case: CaseRecord, items: list[ExportItem], options: ExportOptions
) -> Rendered | None:
    """Called to render the documents of an export; the first non-None answer wins.

    Return a Rendered (DOCX bytes, PDF bytes, base file name) for an exporter
    this plugin owns, or None for any other name. Render in memory only.
    The vault wraps the result with the attachments and the custody annex
    (vault/export/bundle.py); the plugin does not build the bundle.
    """


@hookspec
def vault_evidence_added(item: EvidenceNotice) -> None:
    """Called after an evidence item is stored and committed, for notification plugins.

    ``item`` carries server-visible metadata only (ids, uploader, time, type,
    ciphertext size), never sealed content. Return nothing; an exception in
    a plugin is logged and does not undo the upload.
    """


@hookspec
def vault_plugin_state_changed(name: str, enabled: bool, actor: str) -> None:
    """Called after an admin enabled or disabled the plugin ``name``.

    ``actor`` is the admin's user name. Every enabled plugin is called,
    including the one just enabled (a plugin being disabled is not called).
    Return nothing.
    """
