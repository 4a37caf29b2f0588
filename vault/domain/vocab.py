"""Controlled vocabularies of the vault, as data, in English, Russian and Kyrgyz.

The codes are stable identifiers shared by the case record, the searchable
metadata and the search filters: never rename a code, only add new ones.
Labels are what people read; the exporters print them in the recipient's
language.

Where a term corresponds to an entry of the HURIDOCS Events Standard Formats
its HURIDOCS code is given ("Torture" 020111110000, "Death as a consequence
of torture" 010190010000). Every other term is vault-local (``huridocs`` is
None). HURIDOCS publishes English and Russian lists; the Kyrgyz labels are a
first translation made for the vault and should be reviewed by the
coalition's Kyrgyz-speaking lawyers as they are used.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES: tuple[str, ...] = ("en", "ru", "ky")


@dataclass(frozen=True)
class Term:
    """One code of a vocabulary with its labels and, if known, its HURIDOCS code."""

    code: str
    en: str
    ru: str
    ky: str
    huridocs: str | None = None  # None: vault-local term


def _t(code: str, en: str, ru: str, ky: str, huridocs: str | None = None) -> Term:
    return Term(code, en, ru, ky, huridocs)


_REGIONS = (
    _t("bishkek", "Bishkek city", "г. Бишкек", "Бишкек шаары"),
    _t("osh_city", "Osh city", "г. Ош", "Ош шаары"),
    _t("chui", "Chüy Region", "Чуйская область", "Чүй облусу"),
    _t("issyk_kul", "Issyk-Kul Region", "Иссык-Кульская область", "Ысык-Көл облусу"),
    _t("naryn", "Naryn Region", "Нарынская область", "Нарын облусу"),
    _t("talas", "Talas Region", "Таласская область", "Талас облусу"),
    _t("jalal_abad", "Jalal-Abad Region", "Джалал-Абадская область", "Жалал-Абад облусу"),
    _t("osh", "Osh Region", "Ошская область", "Ош облусу"),
    _t("batken", "Batken Region", "Баткенская область", "Баткен облусу"),
)

_DETENTION_PLACE_TYPES = (
    _t("police_station", "Police station", "Отдел милиции (ОВД)", "Милиция бөлүмү (ИИБ)"),
    _t("temporary_detention", "Temporary detention facility (IVS)",
       "Изолятор временного содержания (ИВС)", "Убактылуу кармоо жайы (ИВС)"),
    _t("pretrial_detention", "Pre-trial detention centre (SIZO)",
       "Следственный изолятор (СИЗО)", "Тергөө абагы (СИЗО)"),
    _t("prison", "Prison or penal colony", "Исправительное учреждение (колония, тюрьма)",
       "Жазаны аткаруу мекемеси (колония, түрмө)"),
    _t("security_service", "State Committee for National Security (GKNB) facility",
       "Учреждение ГКНБ", "УКМК мекемеси"),
    _t("military", "Military facility", "Военное учреждение (гауптвахта, воинская часть)",
       "Аскердик мекеме (гауптвахта, аскер бөлүгү)"),
    _t("psychiatric", "Psychiatric institution", "Психиатрическое учреждение",
       "Психиатриялык мекеме"),
    _t("migration_centre", "Detention centre for foreigners or migrants",
       "Центр содержания иностранцев или мигрантов",
       "Чет элдиктерди же мигранттарды кармоо борбору"),
    _t("unofficial", "Unofficial place of detention", "Неофициальное место содержания",
       "Расмий эмес кармоо жайы"),
    _t("other", "Other place", "Другое место", "Башка жай"),
)

_VIOLATIONS = (
    _t("torture", "Torture", "Пытки", "Кыйноо", "020111110000"),
    _t("death_from_torture", "Death as a consequence of torture", "Смерть в результате пыток",
       "Кыйноонун кесепетинен келип чыккан өлүм", "010190010000"),
    _t("cruel_treatment", "Cruel, inhuman or degrading treatment",
       "Жестокое, бесчеловечное или унижающее достоинство обращение",
       "Ырайымсыз, адамгерчиликсиз же ар-намысты кемсинткен мамиле"),
    _t("sexual_violence", "Sexual violence", "Сексуальное насилие", "Сексуалдык зомбулук"),
    _t("threats", "Threats", "Угрозы", "Коркутуу"),
    _t("arbitrary_detention", "Arbitrary detention", "Произвольное задержание",
       "Өзүм билемдик менен кармоо"),
    _t("incommunicado", "Incommunicado detention",
       "Содержание без связи с внешним миром", "Тышкы дүйнө менен байланышсыз кармоо"),
    _t("denial_of_counsel", "Denial of access to a lawyer", "Отказ в доступе к адвокату",
       "Адвокат менен жолугушууга жол бербөө"),
    _t("denial_of_medical_care", "Denial of medical care", "Отказ в медицинской помощи",
       "Медициналык жардам көрсөтүүдөн баш тартуу"),
    _t("enforced_disappearance", "Enforced disappearance", "Насильственное исчезновение",
       "Мажбурлап дайынсыз жоготуу"),
    _t("other", "Other violation", "Другое нарушение", "Башка укук бузуу"),
)

_METHODS = (
    _t("beating", "Beating", "Избиение", "Сабоо"),
    _t("electric_shock", "Electric shock", "Воздействие электротоком", "Электр тогу менен кыйноо"),
    _t("forced_positions", "Forced (stress) positions", "Принудительные (стрессовые) позы",
       "Мажбурлап оор абалда кармоо"),
    _t("suspension", "Suspension", "Подвешивание", "Асып коюу"),
    _t("asphyxiation", "Asphyxiation (bag, gas mask, water)", "Удушение (пакет, противогаз, вода)",
       "Муунтуу (пакет, противогаз, суу)"),
    _t("burns", "Burns", "Ожоги", "Күйгүзүү"),
    _t("sexual", "Sexual torture", "Сексуальные пытки", "Сексуалдык кыйноо"),
    _t("deprivation", "Deprivation of sleep, food, water or light",
       "Лишение сна, пищи, воды или света", "Уйкудан, тамактан, суудан же жарыктан ажыратуу"),
    _t("psychological", "Psychological torture (humiliation, mock execution)",
       "Психологические пытки (унижение, имитация казни)",
       "Психологиялык кыйноо (кемсинтүү, жасалма өлүм жазасы)"),
    _t("threats_to_family", "Threats against relatives", "Угрозы родственникам",
       "Туугандарын коркутуу"),
    _t("other", "Other method", "Другой метод", "Башка ыкма"),
)

_EVIDENCE_TYPES = (
    _t("statement", "Statement or testimony", "Заявление или показания", "Арыз же көрсөтмө"),
    _t("photo", "Photograph", "Фотография", "Сүрөт"),
    _t("video", "Video recording", "Видеозапись", "Видеожазуу"),
    _t("audio", "Audio recording", "Аудиозапись", "Аудиожазуу"),
    _t("document", "Document", "Документ", "Документ"),
    _t("medical_record", "Medical record", "Медицинский документ", "Медициналык документ"),
    _t("forensic_report", "Forensic medical report (Istanbul Protocol)",
       "Судебно-медицинское заключение (Стамбульский протокол)",
       "Соттук-медициналык корутунду (Стамбул протоколу)"),
    _t("court_document", "Court document", "Судебный документ", "Соттун документи"),
    _t("case_record", "Structured case record", "Структурированная карточка дела",
       "Иштин түзүмдөлгөн картасы"),
    _t("other", "Other evidence", "Другое доказательство", "Башка далил"),
)

_PERPETRATOR_TYPES = (
    _t("police", "Police (Ministry of Internal Affairs)", "Милиция (МВД)", "Милиция (ИИМ)"),
    _t("security_service", "State Committee for National Security (GKNB)",
       "Государственный комитет национальной безопасности (ГКНБ)",
       "Улуттук коопсуздук боюнча мамлекеттик комитет (УКМК)"),
    _t("prison_staff", "Prison staff", "Сотрудники учреждений исполнения наказаний",
       "Жазаны аткаруу мекемесинин кызматкерлери"),
    _t("military", "Military", "Военнослужащие", "Аскер кызматчылары"),
    _t("prosecutor", "Prosecutor's office", "Прокуратура", "Прокуратура"),
    _t("other_official", "Other public official", "Иное должностное лицо", "Башка кызмат адамы"),
    _t("private_with_consent", "Private person acting with official consent",
       "Частное лицо, действующее с согласия должностных лиц",
       "Кызмат адамдарынын макулдугу менен аракеттенген жеке адам"),
    _t("unknown", "Unknown", "Неизвестно", "Белгисиз"),
    _t("other", "Other", "Другое", "Башка"),
)

# Istanbul Protocol (2022 edition) degrees of consistency between a finding and the alleged method:
# the list (a)-(e) closing para. 418 of chapter V (also given in chapter IV, before para. 377); see
# vault/export/forensic.py and docs/exports.md. The order is meaningful.
_CONSISTENCY = (
    _t("not_consistent", "not consistent with", "не соответствует", "дал келбейт"),
    _t("consistent", "consistent with", "соответствует", "дал келет"),
    _t("highly_consistent", "highly consistent with", "в высокой степени соответствует",
       "жогорку даражада дал келет"),
    _t("typical", "typical of", "типично для", "мүнөздүү"),
    _t("diagnostic", "diagnostic of", "специфично (диагностично) для", "диагностикалык"),
)

_SEX = (
    _t("female", "Female", "Женский", "Аял"),
    _t("male", "Male", "Мужской", "Эркек"),
    _t("other", "Other", "Другой", "Башка"),
    _t("unknown", "Not stated", "Не указан", "Көрсөтүлгөн эмес"),
)

# Istanbul Protocol Annex IV regions of the physical examination.
_BODY_REGIONS = (
    _t("skin", "Skin", "Кожные покровы", "Тери"),
    _t("face", "Face and head", "Лицо и голова", "Бет жана баш"),
    _t("chest", "Chest", "Грудная клетка", "Көкүрөк"),
    _t("abdomen", "Abdomen", "Живот", "Курсак"),
    _t("musculoskeletal", "Musculoskeletal system", "Опорно-двигательный аппарат",
       "Таяныч-кыймыл аппараты"),
    _t("genitourinary", "Genito-urinary system", "Мочеполовая система", "Заара-жыныс системасы"),
    _t("nervous_system", "Central and peripheral nervous system",
       "Центральная и периферическая нервная система",
       "Борбордук жана перифериялык нерв системасы"),
)

_CUSTODY_STATUS = (
    _t("detained", "Still detained", "Под стражей", "Камакта"),
    _t("released", "Released", "Освобождён(а)", "Бошотулган"),
    _t("missing", "Whereabouts unknown", "Местонахождение неизвестно", "Кайда экени белгисиз"),
    _t("deceased", "Deceased", "Умер(ла)", "Каза болгон"),
    _t("unknown", "Not known", "Неизвестно", "Белгисиз"),
)

# Categories of attachments, as the UN treaty bodies' checklist groups them.
_ATTACHMENT_CATEGORIES = (
    _t("authorisation", "Written authorisation to act", "Письменная доверенность (полномочие)",
       "Ишеним кат (жазуу жүзүндөгү ыйгарым укук)"),
    _t("domestic_decision", "Decisions of domestic authorities and courts",
       "Решения национальных органов и судов", "Улуттук органдардын жана соттордун чечимдери"),
    _t("medical", "Medical evidence", "Медицинские документы", "Медициналык документтер"),
    _t("evidence", "Other evidence", "Иные доказательства", "Башка далилдер"),
    _t("national_law", "Relevant national law", "Применимое национальное законодательство",
       "Тиешелүү улуттук мыйзамдар"),
    _t("identity", "Copy of identity document", "Копия документа, удостоверяющего личность",
       "Өздүгүн тастыктаган документтин көчүрмөсү"),
    _t("other", "Other documents", "Другие документы", "Башка документтер"),
)

# Why a victim cannot authorise someone to act (the Human Rights Committee's
# exception to the written authorisation: OHCHR model complaint form).
_VICTIM_STATUS = (
    _t("deceased", "Deceased", "Умер(ла)", "Каза болгон"),
    _t("disappeared", "Disappeared (whereabouts unknown)", "Исчез(ла) (местонахождение неизвестно)",
       "Дайынсыз жоголгон (кайда экени белгисиз)"),
    _t("incommunicado", "Held incommunicado", "Содержится без связи с внешним миром",
       "Тышкы дүйнө менен байланышсыз кармалууда"),
)

# The steps of the domestic chain in a Kyrgyz torture case, in order: the
# crime report, the prosecutor's refusal to open a criminal case, the court
# appeal against that refusal (Criminal Procedure Code), the appeal and the
# cassation. The Human Rights Committee's exhaustion check reads the chain.
_REMEDY_TYPES = (
    _t("crime_report", "Crime report or complaint to the prosecutor",
       "Заявление о преступлении или жалоба прокурору", "Кылмыш тууралуу арыз же прокурорго даттануу"),
    _t("prosecutor_refusal", "Prosecutor's refusal to open a criminal case",
       "Отказ прокурора в возбуждении уголовного дела",
       "Прокурордун кылмыш ишин козгоодон баш тартуусу"),
    _t("court_appeal_refusal", "Court appeal against the refusal (investigating judge)",
       "Обжалование отказа в суд (следственному судье)",
       "Баш тартууну сотко (тергөө судьясына) даттануу"),
    _t("appeal", "Appeal to the higher court", "Апелляционная жалоба", "Апелляциялык даттануу"),
    _t("cassation", "Cassation (Supreme Court)", "Кассационная жалоба (Верховный суд)",
       "Кассациялык даттануу (Жогорку сот)"),
    _t("criminal_case", "Criminal case opened (investigation or trial)",
       "Возбуждено уголовное дело (следствие или суд)", "Кылмыш иши козголгон (тергөө же сот)"),
    _t("other", "Other complaint or authority", "Иная жалоба или орган", "Башка даттануу же орган"),
)

VOCABULARIES: dict[str, tuple[Term, ...]] = {
    "REGIONS": _REGIONS,
    "DETENTION_PLACE_TYPES": _DETENTION_PLACE_TYPES,
    "VIOLATIONS": _VIOLATIONS,
    "METHODS": _METHODS,
    "EVIDENCE_TYPES": _EVIDENCE_TYPES,
    "PERPETRATOR_TYPES": _PERPETRATOR_TYPES,
    "CONSISTENCY": _CONSISTENCY,
    "SEX": _SEX,
    "BODY_REGIONS": _BODY_REGIONS,
    "CUSTODY_STATUS": _CUSTODY_STATUS,
    "ATTACHMENT_CATEGORIES": _ATTACHMENT_CATEGORIES,
    "VICTIM_STATUS": _VICTIM_STATUS,
    "REMEDY_TYPES": _REMEDY_TYPES,
}

_INDEX: dict[str, dict[str, Term]] = {
    name: {term.code: term for term in terms} for name, terms in VOCABULARIES.items()
}


def codes(vocab_name: str) -> tuple[str, ...]:
    """The codes of one vocabulary, in display order."""
    return tuple(term.code for term in VOCABULARIES[vocab_name])


REGIONS = codes("REGIONS")
DETENTION_PLACE_TYPES = codes("DETENTION_PLACE_TYPES")
VIOLATIONS = codes("VIOLATIONS")
METHODS = codes("METHODS")
EVIDENCE_TYPES = codes("EVIDENCE_TYPES")
PERPETRATOR_TYPES = codes("PERPETRATOR_TYPES")
CONSISTENCY = codes("CONSISTENCY")
SEX = codes("SEX")
BODY_REGIONS = codes("BODY_REGIONS")
CUSTODY_STATUS = codes("CUSTODY_STATUS")
ATTACHMENT_CATEGORIES = codes("ATTACHMENT_CATEGORIES")
VICTIM_STATUS = codes("VICTIM_STATUS")
REMEDY_TYPES = codes("REMEDY_TYPES")


def term(vocab_name: str, code: str) -> Term:
    """The Term for a code; KeyError names the vocabulary if the code is unknown."""
    try:
        return _INDEX[vocab_name][code]
    except KeyError:
        raise KeyError(f"{code!r} is not a code of vocabulary {vocab_name}") from None


def label(vocab_name: str, code: str, lang: str) -> str:
    """The label of ``code`` in ``lang`` (en, ru or ky); unknown languages fall back to English."""
    found = term(vocab_name, code)
    return getattr(found, lang) if lang in LANGUAGES else found.en


def huridocs_code(vocab_name: str, code: str) -> str | None:
    """The HURIDOCS Events Standard Formats code, or None for a vault-local term."""
    return term(vocab_name, code).huridocs
