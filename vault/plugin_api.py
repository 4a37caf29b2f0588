"""Everything a vault plugin may import, in one module (documented in docs/plugin-api.md).

A plugin imports from here (or ``from vault import hookimpl``) and from
nowhere else in vault: the modules behind these names (vault.export.*,
vault.domain.*, vault.hookspecs) may be reorganised, this list is the
promise. The bundled plugins are held to it by a test
(tests/plugins/test_plugin_api.py) and by the import contracts in
pyproject.toml; that test also fails if a name here is missing from
docs/plugin-api.md.

What a plugin gets:

* the hook marker ``hookimpl`` and the values the hooks carry (``Exporter``,
  ``Variant``, ``Problem``, ``ExportItem``, ``ExportOptions``, ``Rendered``,
  ``EvidenceNotice``);
* the case record (``CaseRecord`` and its parts, ``ForensicReport``);
* the document model and its words (``Document`` and the blocks, ``word``,
  ``format_date``...), rendered by ``render``;
* the mapping helpers that keep a recipient's form as data
  (``load_mapping``, ``check_requirements``, ``build_sections``,
  ``exporter_from_mapping``...) and the shared ``@`` values (``base_context``);
* file names and vocabulary labels (``safe_filename``, ``label``).
"""

from __future__ import annotations

from vault.domain.caserecord import (
    Act,
    Applicant,
    Arrest,
    ArticleClaim,
    AttachmentRef,
    Authorisation,
    Autopsy,
    CaseRecord,
    Detention,
    DetentionPlace,
    DomesticRemedy,
    Examination,
    ForensicFinding,
    ForensicReport,
    InterimMeasures,
    Medical,
    OtherProcedure,
    Period,
    Perpetrator,
    Requests,
    Source,
    Victim,
)
from vault.domain.exports import (
    EvidenceNotice,
    Exporter,
    ExportItem,
    ExportOptions,
    Problem,
    Rendered,
    Severity,
    Variant,
)
from vault.domain.vocab import codes, huridocs_code, label
from vault.export.context import (
    ROMANIZATION,
    attached_categories,
    attachment_lines,
    base_context,
    facts_for,
    latin_name,
    render,
    romanize,
    state_name,
)
from vault.export.document import (
    AddressBlock,
    Block,
    Document,
    Fields,
    Heading,
    ItemList,
    Para,
    SignatureBlock,
    Table,
    Title,
    clean_text,
    format_date,
    format_period,
    roman,
    word,
    yes_no,
)
from vault.export.forensic import forensic_document, forensic_summary, read_forensic_report
from vault.export.mapping import (
    applies,
    build_sections,
    check_requirements,
    cite_messages,
    exporter_from_mapping,
    format_value,
    is_empty,
    load_mapping,
    note,
    other_spellings,
    required_fields,
    resolve,
    tr,
    untranslated_text,
)
from vault.export.names import attachment_paths, safe_filename
from vault.hookspecs import hookimpl

__all__ = [
    # hooks and the values they carry
    "hookimpl", "Exporter", "Variant", "Problem", "Severity", "ExportItem", "ExportOptions", "Rendered",
    "EvidenceNotice",
    # the case record
    "CaseRecord", "Victim", "Arrest", "Detention", "DetentionPlace", "Period", "Act", "Perpetrator", "Medical",
    "Examination", "Autopsy", "DomesticRemedy", "OtherProcedure", "ArticleClaim", "InterimMeasures", "Source",
    "Applicant", "Authorisation", "AttachmentRef", "Requests", "ForensicReport", "ForensicFinding",
    # the document
    "Document", "Block", "Title", "Heading", "Para", "Fields", "Table", "ItemList", "AddressBlock", "SignatureBlock",
    "word", "format_date", "format_period", "yes_no", "clean_text", "roman",
    # the forensic report as a document, and summed up for another one
    "forensic_document", "forensic_summary", "read_forensic_report",
    # mappings as data
    "load_mapping", "exporter_from_mapping", "required_fields", "check_requirements", "build_sections", "note",
    "tr", "resolve", "is_empty", "format_value", "applies", "cite_messages", "untranslated_text",
    "other_spellings",
    # shared values and rendering
    "base_context", "render", "state_name", "facts_for", "attachment_lines", "attached_categories",
    # names and vocabularies
    "safe_filename", "attachment_paths", "label", "codes", "huridocs_code", "romanize", "ROMANIZATION", "latin_name",
]
