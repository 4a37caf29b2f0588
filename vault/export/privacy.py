"""How one export treats the victim's identity: neutral names, the anonymity checks, what the exporter sees.

Used by vault/export/bundle.py; the forms of the name are vault/export/anonymity.py, the scans
vault/export/leakscan.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass

import pluggy

from vault import plugins
from vault.domain.caserecord import CaseRecord
from vault.domain.exports import Exporter, ExportItem, ExportOptions, Problem
from vault.export import anonymity, leakscan
from vault.export.names import neutral_stem, safe_extension, safe_filename, unique_names


@dataclass(frozen=True)
class Privacy:
    """How one export treats the victim's identity (vault/export/anonymity.py).

    ``neutral``: attachments get neutral names (always, for recipients that publish or pass the
    text to the State). ``mode``: "publish"/"government" when the name must not appear (no
    consent), else None; then the documents, file names and annex are scanned as they are
    written and the manifests withheld. ``redact``: the user accepted the redaction.
    """

    neutral: bool = False
    mode: str | None = None
    identity: anonymity.Identity | None = None
    redact: bool = False
    language: str = "en"

    @property
    def anonymous(self) -> bool:
        return self.mode is not None and self.identity is not None


def privacy_for(exp: Exporter, case: CaseRecord, options: ExportOptions) -> Privacy:
    mode = anonymity.policy(exp, case)
    return Privacy(anonymity.neutral_names(exp), mode, anonymity.Identity.of(case, options.language) if mode else None,
                   bool(options.redact), options.language)


def forensic_renderer():
    """vault.export.forensic.recipient_copy, if this vault has it (else reports travel as their JSON)."""
    try:
        from vault.export.forensic import recipient_copy
    except ImportError:
        return None
    return recipient_copy


def bundle_names(items: list[ExportItem], privacy: Privacy) -> list[list[str]]:
    """The file names (under attachments/) of each item in the bundle, unique across the bundle.

    A forensic report is rendered to PDF and DOCX (two names) when the vault can; a neutral name
    is ``attachment-03-photo.jpg``; otherwise the original name, made safe.
    """
    render = forensic_renderer()
    wanted: list[list[str]] = []
    for n, item in enumerate(items, start=1):
        media = str(item.manifest.get("media_type") or "")
        forensic = render is not None and item.evidence_type == "forensic_report"
        if privacy.neutral:
            stem = neutral_stem(n, item.evidence_type)
            wanted.append([f"{stem}.pdf", f"{stem}.docx"] if forensic else
                          [f"{stem}.{safe_extension(item.filename, media)}"])
        elif forensic:
            stem = safe_filename(item.filename.rsplit(".", 1)[0], fallback=f"forensic-report-{n:02d}")
            wanted.append([f"{stem}.pdf", f"{stem}.docx"])
        else:
            wanted.append([safe_filename(item.filename, fallback=item.item_id)])
    flat = unique_names(name for names in wanted for name in names)
    out, at = [], 0
    for names in wanted:
        out.append(flat[at:at + len(names)])
        at += len(names)
    return out


def display_items(items: list[ExportItem], privacy: Privacy) -> list[ExportItem]:
    """The items as the exporter sees them: each named as the bundle names it (its documents list them)."""
    names = bundle_names(items, privacy)
    return [item if names[n][0] == item.filename else
            dataclasses.replace(item, manifest={**item.manifest, "filename": names[n][0]})
            for n, item in enumerate(items)]


def attachments_unread(privacy: Privacy, items: list[ExportItem]) -> list[Problem]:
    if not items:
        return []
    msg = ("The attachments are sent as they are. The vault reads the text of text, PDF and DOCX files and refuses "
           "the export if they name the victim, but it cannot read photographs, scans, audio or video: check that "
           "none of them identifies the victim (a passport copy does).")
    return [Problem("items", msg, "warning", {
        "en": msg,
        "ru": "Приложения отправляются как есть. Хранилище проверяет текст файлов TXT, PDF и DOCX и откажет в "
              "экспорте, если в них названо имя потерпевшего, но не может прочитать фотографии, сканы, аудио и "
              "видео: убедитесь, что ни одно из них не раскрывает личность потерпевшего (копия паспорта раскрывает).",
        "ky": "Тиркемелер кандай болсо ошондой жөнөтүлөт. Сактагыч TXT, PDF жана DOCX файлдарынын текстин текшерет "
              "жана аларда жабырлануучунун аты болсо экспортко уруксат бербейт, бирок сүрөттөрдү, скандарды, аудио "
              "жана видеону окуй албайт: алардын бири да жабырлануучуну таанытпасын текшериңиз (паспорттун "
              "көчүрмөсү таанытат).",
    })]


def anonymity_problems(pm: pluggy.PluginManager, enabled: Iterable[str], exp: Exporter, record: CaseRecord,
                       items: list[ExportItem], options: ExportOptions, privacy: Privacy) -> list[Problem]:
    """Every place of this export that would name the victim (record, documents, file names)."""
    if anonymity.mode_of(exp) == "decision" and anonymity.requests_anonymity(record):
        msg = (f"The victim asks {exp.target_body} to keep their identity out of its published decision. The "
               "complaint itself names them: the body needs the name and sends the complaint to the State party.")
        return [Problem("victim.request_anonymity", msg, "warning", {
            "en": msg,
            "ru": "Потерпевший просит не раскрывать его личность в опубликованном решении. Сама жалоба называет его: "
                  "орган должен знать имя и направляет жалобу государству-участнику.",
            "ky": "Жабырлануучу жарыяланган чечимде өзүнүн инсандыгын ачыкка чыгарбоону суранат. Арыздын өзүндө "
                  "анын аты бар: орган атты билиши керек жана арызды катышуучу мамлекетке жөнөтөт.",
        })]
    if not privacy.anonymous:
        return []
    identity = privacy.identity
    hits = leakscan.scan_record(record, identity)
    hits += leakscan.scan_names(((f"attachment name {item.filename}", item.filename) for item in items), identity)
    try:
        with anonymity.rendering() as session:
            rendered = plugins.export(pm, enabled, exp.name, record, display_items(items, privacy), options)
        seen = {(h.form.kind, h.matched.casefold()) for h in hits}
        for doc in session.documents:
            hits += [h for h in leakscan.scan_document(doc, identity) if (h.form.kind, h.matched.casefold()) not in seen]
        hits += leakscan.scan_names([(f"document file name {rendered.basename}", rendered.basename)], identity)
    except plugins.PluginFailed:
        pass  # the exporter cannot render this record yet (what is missing says why); the record was scanned
    # A file name never reaches the bundle (attachments get neutral names there): said, not refused.
    names = [h for h in hits if h.path == "items"]
    problems = leakscan.leak_problems([h for h in hits if h.path != "items"], privacy.mode, identity, privacy.redact)
    for h in names:
        msg = (f"{h.place}: «{h.matched}» names the victim; in this bundle the file has a neutral name and the "
               "custody annex leaves the original name out.")
        problems.append(Problem("items", msg, "warning", {
            "en": msg,
            "ru": f"{h.place}: «{h.matched}» называет потерпевшего; в пакете у файла нейтральное имя, а приложение о "
                  "цепочке хранения не содержит исходного имени.",
            "ky": f"{h.place}: «{h.matched}» жабырлануучуну атайт; пакетте файлдын аты нейтралдуу, ал эми сактоо "
                  "чынжырынын тиркемесинде баштапкы аты жок.",
        }))
    return problems + attachments_unread(privacy, items)
