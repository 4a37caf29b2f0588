"""A third-party vault plugin, as small as a useful one can be.

It offers one exporter, ``demo-letter``: a one-page letter in English or
Russian acknowledging the case, built with the vault's own Document model
and renderers. It also records the notification events it receives, so the
tests can see them.
"""

from __future__ import annotations

from vault.plugin_api import (
    CaseRecord,
    Document,
    EvidenceNotice,
    Exporter,
    ExportItem,
    ExportOptions,
    Problem,
    Rendered,
    base_context,
    hookimpl,
    render,
)

NAME = "demo-letter"
EVENTS: list[tuple] = []


@hookimpl
def vault_exporters() -> list[Exporter]:
    return [Exporter(
        name=NAME, label="Demo acknowledgement letter", target_body="Nobody (test plugin)",
        languages=("en", "ru"), form_version="demo form v1", form_verified=True,
        required_fields=("victim.family_name",),
    )]


@hookimpl
def vault_validate(exporter: str, case: CaseRecord, items: list[ExportItem],
                   options: ExportOptions) -> list[Problem] | None:
    if exporter != NAME:
        return None
    if not case.victim.family_name:
        return [Problem("victim.family_name", "The demo letter needs the victim's family name.")]
    return []


@hookimpl
def vault_export(exporter: str, case: CaseRecord, items: list[ExportItem],
                 options: ExportOptions) -> Rendered | None:
    if exporter != NAME:
        return None
    ctx = base_context(case, items, options)
    doc = Document(title="Acknowledgement", language=options.language, footer="demo-letter")
    doc.add_title()
    doc.para(f"Case of {case.victim.family_name}, received on {ctx['document_date']}.")
    return render(doc, "demo-letter")


@hookimpl
def vault_evidence_added(item: EvidenceNotice) -> None:
    EVENTS.append(("evidence_added", item.item_id))


@hookimpl
def vault_plugin_state_changed(name: str, enabled: bool, actor: str) -> None:
    EVENTS.append(("state_changed", name, enabled, actor))
