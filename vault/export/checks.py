"""Built-in plugin ("core-checks"): checks every export needs, whatever the recipient.

Registered by vault.plugins and always on. It shows that built-in features
are plugins like any other: it only implements ``vault_validate``.
"""

from __future__ import annotations

from vault.domain.caserecord import CaseRecord
from vault.domain.exports import ExportItem, ExportOptions, Problem
from vault.hookspecs import hookimpl

LANG_NAMES = {"en": "English", "ru": "Russian", "ky": "Kyrgyz", "fr": "French"}


def _facts_language(case: CaseRecord, lang: str) -> list[Problem]:
    if not case.facts or lang in case.facts:
        return []
    have = ", ".join(LANG_NAMES.get(code, code) for code in case.facts)
    want = LANG_NAMES.get(lang, lang)
    return [Problem(
        path=f"facts.{lang}", severity="warning",
        message=f"The statement of facts is written only in {have}; the document will be in {want}. "
                f"Add the facts in {want}, or they will appear untranslated.",
        messages={
            "en": f"The statement of facts is written only in {have}; the document will be in {want}. "
                  f"Add the facts in {want}, or they will appear untranslated.",
            "ru": "Изложение фактов отсутствует на языке документа; факты будут приведены без перевода.",
            "ky": "Фактылардын баяндамасы документтин тилинде жок; фактылар котормосуз берилет.",
        },
    )]


def _attachments(case: CaseRecord, items: list[ExportItem]) -> list[Problem]:
    # The user chooses what goes to each recipient (`vault export --attach`, the page's checkboxes):
    # leaving a listed attachment out (the passport copy from an OMCT appeal) is a choice, said
    # and never refused. A recipient that needs a kind of attachment says so in its own rules.
    chosen = {item.item_id for item in items}
    problems = []
    for n, ref in enumerate(case.attachments):
        if ref.item_id not in chosen:
            title = f" ({ref.title})" if ref.title else ""
            problems.append(Problem(
                path=f"attachments[{n}].item_id", severity="warning",
                message=f"An attachment listed in the case record{title} is not chosen for this export: it will "
                        "not be sent.",
                messages={
                    "en": f"An attachment listed in the case record{title} is not chosen for this export: it will "
                          "not be sent.",
                    "ru": f"Приложение из карточки дела{title} не выбрано для этого экспорта и не будет отправлено.",
                    "ky": f"Иштин картасындагы тиркеме{title} бул экспорт үчүн тандалган жок жана жөнөтүлбөйт.",
                },
            ))
    cases = {str(item.manifest.get("case_id")) for item in items}
    if len(cases) > 1:
        problems.append(Problem(
            path="items", severity="warning",
            message="The chosen attachments come from more than one case.",
            messages={
                "en": "The chosen attachments come from more than one case.",
                "ru": "Выбранные приложения относятся к разным делам.",
                "ky": "Тандалган тиркемелер ар башка иштерге тиешелүү.",
            },
        ))
    return problems


# What an item manifest holds since sealed fields travel apart from it
# (crypto.seal_fields): custody facts only, and the hash of the sealed fields.
MANIFEST_KEYS = frozenset({
    "v", "item_id", "case_id", "sha256", "size", "media_type", "filename", "captured_at", "created_at",
    "uploader", "uploader_id", "evidence_type", "attached_to", "sealed_sha256",
})


def _content_in_manifests(items: list[ExportItem]) -> list[Problem]:
    # The annex must carry each manifest's exact signed bytes for the
    # signature to verify. A current manifest holds custody facts only (its
    # sealed fields are a separate envelope, named by "sealed_sha256"), but a
    # manifest signed by an older or foreign client may still carry sealed
    # fields ("sealed") or other keys: they would reach the recipient. Say so
    # before anything is sent.
    if all(set(item.manifest) <= MANIFEST_KEYS for item in items):
        return []
    return [Problem(
        path="items", severity="warning",
        message="The custody annex carries each attachment's signed manifest. Some manifests hold more than "
                "custody data (for example sealed fields: description, statement, names); the recipient "
                "will be able to read them.",
        messages={
            "en": "The custody annex carries each attachment's signed manifest. Some manifests hold more than "
                  "custody data (for example sealed fields: description, statement, names); the recipient "
                  "will be able to read them.",
            "ru": "Приложение о цепочке хранения содержит подписанный манифест каждого файла. Некоторые "
                  "манифесты содержат не только данные о хранении (например, закрытые поля: описание, "
                  "показания, имена). Получатель сможет их прочитать.",
            "ky": "Сактоо чынжырынын тиркемесинде ар бир файлдын кол коюлган манифести бар. Айрым "
                  "манифесттерде сактоо маалыматынан тышкары (мисалы, жабык талаалар: сүрөттөмө, көрсөтмө, "
                  "аттар) бар. Алуучу аларды окуй алат.",
        },
    )]


@hookimpl
def vault_validate(exporter: str, case: CaseRecord, items: list[ExportItem],
                   options: ExportOptions) -> list[Problem]:
    return _facts_language(case, options.language) + _attachments(case, items) + _content_in_manifests(items)
