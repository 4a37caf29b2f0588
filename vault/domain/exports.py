"""The values that cross the plugin hooks: what an exporter is, what it is given, what it returns.

Plain frozen dataclasses, so that a plugin needs nothing from the web app or
the ORM. They sit in the domain layer because every layer above uses them:
the hooks (vault.hookspecs), the plugin manager (vault.plugins), the export
code, the services and the Python client. Plugins import them from
vault.plugin_api.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import BinaryIO, Literal

Severity = Literal["missing", "warning"]


@dataclass(frozen=True)
class Variant:
    """An optional form of an exporter's document (e.g. the CAT article 22 complaint).

    ``states`` lists the ISO 3166 alpha-3 codes for which the variant is
    offered by default; None means every state. A state that is not listed
    can still be chosen explicitly, and validation then says why it is risky.
    """

    name: str
    label: str
    states: frozenset[str] | None = None
    note: str = ""
    # {"ru": {"label": …, "note": …}, "ky": {…}}: shown to users of those UI languages.
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def offered_for(self, state: str) -> bool:
        return self.states is None or state.upper() in self.states


@dataclass(frozen=True)
class Exporter:
    """What a plugin offers: one kind of document for one recipient.

    ``plugin`` is filled in by vault.plugins.exporters() with the name of the
    plugin that offers it; plugins leave it empty.
    """

    name: str
    label: str
    target_body: str
    languages: tuple[str, ...]
    form_version: str
    form_verified: bool
    required_fields: tuple[str, ...] = ()
    output_formats: tuple[str, ...] = ("docx", "pdf")
    variants: tuple[Variant, ...] = ()
    description: str = ""
    plugin: str = ""
    # {"ru": {"label": …, "target_body": …, "description": …}, "ky": {…}}: the
    # web UI speaks English, Russian and Kyrgyz, so an exporter's texts do too;
    # a missing language or key falls back to the English field.
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # When the victim's name must not appear in the bundle (vault/export/anonymity.py):
    # "publish" (the recipient may publish the text: hidden unless victim.consent_publish_name),
    # "government" (it is sent to the State: hidden unless consent_transmit_name_to_government),
    # "decision" (the body needs the name; victim.request_anonymity asks it to keep the name out of
    # its published decision), "none"; None: not declared (the vault's default for the exporter).
    anonymity: str | None = None

    def variants_for(self, state: str) -> tuple[Variant, ...]:
        """The variants to offer by default for a case against ``state``."""
        return tuple(v for v in self.variants if v.offered_for(state))


@dataclass(frozen=True)
class Problem:
    """One thing a recipient needs that the case record lacks, or a risk to flag.

    ``path`` names the case-record field (``victim.date_of_birth``,
    ``acts[0].place``) so the UI can point at it; ``message`` says it in the
    recipient's terms, in English; ``messages`` has the same text in other UI
    languages (en, ru, ky) where available.
    """

    path: str
    message: str
    severity: Severity = "missing"
    messages: Mapping[str, str] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        return self.messages.get(lang) or self.message

    def to_dict(self) -> dict:
        return {"path": self.path, "severity": self.severity, "message": self.message,
                "messages": dict(self.messages)}


@dataclass(frozen=True)
class ExportOptions:
    """The user's choices for one export.

    ``document_date`` is the date printed on the document and used for the
    time-limit warnings (today if not given); ``variant`` names one of the
    exporter's Variants.
    """

    language: str
    variant: str | None = None
    document_date: dt.date | None = None
    # The user accepted the proposed redaction: every form of the victim's name (and their ID
    # number, date of birth, home address) is replaced before rendering (vault/export/anonymity.py).
    redact: bool = False

    @property
    def date(self) -> dt.date:
        return self.document_date or dt.date.today()


@dataclass(frozen=True)
class Rendered:
    """The documents an exporter produced, rendered in memory.

    ``basename`` has no extension and no directory; the bundle adds ``.docx``
    and ``.pdf``.
    """

    docx: bytes
    pdf: bytes
    basename: str
    language: str


@dataclass
class ExportItem:
    """An evidence item chosen for an export, already decrypted by the client.

    ``manifest_bytes`` are the exact bytes the uploader signed and
    ``manifest`` their parsed form; ``open`` returns the plaintext as a
    binary stream (read in chunks, so large files stay out of memory).
    ``uploader_box_public`` (optional) lets the annex print the same
    fingerprint people compare in person (vault.crypto.fingerprint).
    ``uploader_certificates`` (optional) is the uploader's certificate chain
    as the server lists it (docs/trust.md): the annex carries it so that
    `vault verify` can tie the manifest's signer to the organisation root.
    Nobody vouches for it here; the recipient's check does.
    """

    item_id: str
    manifest: dict
    manifest_bytes: bytes
    manifest_signature: bytes
    uploader_sign_public: bytes
    uploader: str
    uploaded_at: str
    open: Callable[[], BinaryIO]
    uploader_box_public: bytes | None = None
    uploader_certificates: list | None = None

    @property
    def filename(self) -> str:
        return str(self.manifest.get("filename") or self.item_id)

    @property
    def evidence_type(self) -> str:
        return str(self.manifest.get("evidence_type") or "other")


@dataclass(frozen=True)
class EvidenceNotice:
    """What notification plugins learn about a new item: server-visible metadata only.

    Never sealed content: no file name, no description, no victim identity.
    """

    item_id: str
    case_id: str
    uploader: str
    uploaded_at: str
    evidence_type: str
    size: int


# --------------------------------------------------------------------------- the hooks
