"""Synthetic multilingual metadata records for the search benchmark.

Titles and places mix Kyrgyz, Russian and English, inflected the way they are
written (locative, genitive, plural), with the usual spellings of place names
in both scripts, so the analyzers do realistic work.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from vault.domain.vocab import DETENTION_PLACE_TYPES, EVIDENCE_TYPES, METHODS, REGIONS, VIOLATIONS

CITIES = {
    "ky": ["Бишкекте", "Ошто", "Жалал-Абадда", "Караколдо", "Нарында", "Токмокто", "Таласта",
           "Баткенде", "Кара-Балтада", "Өзгөндө", "Ысык-Көлдө", "Кызыл-Кыяда"],
    "ru": ["Бишкеке", "Оше", "Джалал-Абаде", "Караколе", "Нарыне", "Токмоке", "Таласе",
           "Баткене", "Кара-Балте", "Узгене", "Чолпон-Ате", "Кызыл-Кие"],
    "en": ["Bishkek", "Osh", "Jalal-Abad", "Djalal-Abad", "Karakol", "Naryn", "Tokmok", "Talas",
           "Batken", "Kara-Balta", "Uzgen", "Dzhalal-Abad"],
}
FACILITIES = {
    "ky": ["ИИБ", "убактылуу кармоо жайы", "тергөө абагы", "түрмө", "УКМК имараты",
           "милиция бөлүмү", "аскер бөлүгү", "психиатриялык оорукана"],
    "ru": ["ИВС", "СИЗО", "ОВД", "РОВД", "ГУВД", "исправительная колония", "здание ГКНБ",
           "отдел милиции", "психиатрическая больница"],
    "en": ["IVS", "SIZO", "police station", "district police department", "penal colony",
           "GKNB building", "temporary detention facility", "military unit"],
}
TITLES = {
    "ky": ["{m} {place} кармоодо", "{place} кыйноолордун далилдери", "{m}: күбөнүн көрсөтмөсү",
           "{place} камакта {m}", "Жабырлануучунун арызы, {m}", "{m} боюнча медициналык корутунду"],
    "ru": ["{m} в {place}", "Показания о пытках в {place}", "{m} при задержании",
           "Заключение судмедэксперта: {m}", "Жалоба на {m} сотрудниками {place}",
           "Пытки задержанных в {place}"],
    "en": ["{m} in {place}", "Statement on torture at {place}", "{m} during arrest",
           "Forensic report: {m}", "Complaint about {m} by officers of {place}",
           "Detainees tortured in {place}"],
}
METHOD_WORDS = {
    "ky": ["сабоо", "электр тогу менен кыйноо", "муунтуу", "күйгүзүү", "коркутуулар", "уруп-сабоолор"],
    "ru": ["избиение", "пытки электротоком", "удушение пакетом", "ожоги", "угрозы родственникам",
           "побои", "избиения"],
    "en": ["beating", "electric shocks", "asphyxiation", "burns", "threats to family", "beaten",
           "suspension"],
}
# What the benchmark types: stems and variants that real users would.
QUERY_WORDS = [
    "пытка", "пытки", "избиение", "удушение", "ИВС", "СИЗО", "Бишкек", "Ош", "Джалал-Абад",
    "кыйноо", "сабоо", "камак", "Нарын", "Каракол", "Токмок", "түрмө", "милиция",
    "torture", "tortured", "beating", "Bishkek", "Jalal-Abad", "Karakol", "police", "shock",
    "burns", "threats", "Osh", "Naryn", "statement",
]


def make_records(rng: random.Random, n: int, n_cases: int) -> list[dict[str, Any]]:
    cases = [(f"case-{i:05d}", f"KG-{2010 + i % 15}-{i:04d}") for i in range(n_cases)]
    start = date(2010, 1, 1)
    records = []
    for i in range(n):
        lang = rng.choices(("ky", "ru", "en"), weights=(35, 45, 20))[0]
        case_id, reference = cases[rng.randrange(n_cases)]
        city = rng.choice(CITIES[lang])
        facility = rng.choice(FACILITIES[lang])
        place = f"{facility} {city}" if lang != "en" else f"{city} {facility}"
        method = rng.choice(METHOD_WORDS[lang])
        title = rng.choice(TITLES[lang]).format(m=method, place=city).capitalize()
        d0 = start + timedelta(days=rng.randrange(5500))
        has_date = rng.random() < 0.9
        records.append({
            "item_id": f"item-{i:07d}",
            "case_id": case_id,
            "case_reference": reference,
            "case_title": rng.choice(TITLES[lang]).format(m=rng.choice(METHOD_WORDS[lang]), place=city),
            "title": title,
            "place": place,
            "incident_date_from": d0.isoformat() if has_date else None,
            "incident_date_to": (d0 + timedelta(days=rng.randrange(30))).isoformat() if has_date else None,
            "region": rng.choice(REGIONS),
            "detention_place_type": rng.choice(DETENTION_PLACE_TYPES),
            "violations": rng.sample(VIOLATIONS, rng.randint(1, 3)),
            "methods": rng.sample(METHODS, rng.randint(0, 3)),
            "evidence_type": rng.choice(EVIDENCE_TYPES),
            "tags": rng.sample(["urgent", "UN", "OMCT", "ombudsman", "medical", "appeal"], rng.randint(0, 2)),
            "language": lang if rng.random() < 0.7 else None,
            "uploader_role": rng.choice(("lawyer", "lawyer", "medic")),
            "uploaded_at": f"{(d0 + timedelta(days=400)).isoformat()}T10:{i % 60:02d}:00Z",
        })
    return records
