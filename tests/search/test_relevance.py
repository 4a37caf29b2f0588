"""What a query must return, and what it must not, in Kyrgyz, Russian and English."""

from __future__ import annotations

import pytest

from tests.search.conftest import ids, make_doc
from vault.search import search

pytestmark = pytest.mark.usefixtures("both_engines")

CASES = ["case-A"]


def corpus() -> list[dict]:
    return [
        make_doc(item_id="ru-pytki", title="Пытки задержанных в ИВС", place="ИВС ГУВД г. Бишкек",
                 language="ru"),
        make_doc(item_id="ru-izbienie", title="Избиение при задержании", place="Отдел милиции Оша",
                 language="ru"),
        make_doc(item_id="ru-udushenie", title="Удушение пакетом", place="СИЗО-1", language="ru"),
        make_doc(item_id="ky-kyinoo", title="Кыйноолордун далилдери", place="Жалал-Абад шаарындагы ИИБ",
                 language="ky"),
        make_doc(item_id="ky-kamak", title="Камакта сабоо", place="Нарын шаарындагы түрмө", language="ky"),
        make_doc(item_id="ky-turmo", title="Түрмөлөрдө кармоо шарттары", place="Каракол", language="ky"),
        make_doc(item_id="en-tortured", title="Detainee tortured in police custody", place="Osh city police",
                 language="en"),
        make_doc(item_id="en-beating", title="Beating during arrest", place="Tokmok", language="en"),
        make_doc(item_id="en-naryn", title="Medical report", place="Naryn SIZO", language="en"),
        make_doc(item_id="en-jalal", title="Complaint", place="Dzhalal-Abad police station", language="en"),
        make_doc(item_id="none", title="Отчёт о мониторинге", place="Талас", language="ru"),
        # Place and person names in other spellings
        make_doc(item_id="ky-ysykkol", title="Ысык-Көлдө кармалган", place="Ысык-Көл облусу", language="ky"),
        make_doc(item_id="ru-issyk", title="Жалоба", place="Иссык-Куль", language="ru"),
        make_doc(item_id="en-issyk", title="Complaint", place="Issyk-Kul police", language="en"),
        make_doc(item_id="ru-batken", title="Жалоба", place="Баткен", language="ru"),
        make_doc(item_id="en-chuy", title="Complaint", place="Chuy region", language="en"),
        make_doc(item_id="ky-chui", title="Арыз", place="Чүй облусу", language="ky"),
        make_doc(item_id="en-tokmak", title="Complaint", place="Tokmak", language="en"),
        make_doc(item_id="ky-jeenbekov", title="Жээнбековдун арызы", language="ky"),
        make_doc(item_id="en-zheenbekov", title="Statement of Zheenbekov", language="en"),
        make_doc(item_id="ky-usonov", title="Үсөнов, күбө", language="ky"),
        make_doc(item_id="ru-usenov", title="Показания Усенова", language="ru"),
        make_doc(item_id="en-asanov", title="Asanov testimony", language="en"),
        # Russian genitive plurals with a fleeting vowel
        make_doc(item_id="ru-pytok", title="Следы пыток", language="ru"),
        make_doc(item_id="ru-palok", title="Следы от палок", language="ru"),
        make_doc(item_id="ru-polk", title="Воинский полк", language="ru"),
        make_doc(item_id="ru-oshibok", title="Протокол без ошибок", language="ru"),
        make_doc(item_id="ru-kamer", title="Осмотр камер", language="ru"),
        # Kyrgyz verbs in statements
        make_doc(item_id="ky-kyinashkan", title="Милиция кызматкерлери аны кыйнашкан", language="ky"),
        make_doc(item_id="ky-urdu", title="Тергөөчү аны урду", language="ky"),
        make_doc(item_id="ky-sabashty", title="Камерада сабашты", language="ky"),
        make_doc(item_id="ky-kyiyn", title="Кыйын абал", language="ky"),
        make_doc(item_id="ky-sabak", title="Сабак учурунда", language="ky"),
        make_doc(item_id="ky-urat", title="Тергөөчү аны күн сайын урат", language="ky"),   # present
        make_doc(item_id="ky-kyinashat", title="Камерада аны кыйнашат", language="ky"),  # plural present
        make_doc(item_id="ky-urbait", title="Эч ким урбайт деди", language="ky"),        # negated present
        make_doc(item_id="ky-kyinatty", title="Начальник аны кыйнатты", language="ky"),  # causative
        make_doc(item_id="ky-urdurdu", title="Башка кишиге урдурду", language="ky"),     # causative
        make_doc(item_id="ky-sabap-jatat", title="Түнү бою сабап жатышты", language="ky"),  # continuous
        make_doc(item_id="ky-sabagan-jok", title="Аны эч ким сабаган жок", language="ky"),  # «-ган жок»
        # Lookalikes: "they were lying", "patience", "literacy", "photo", "my father"
        make_doc(item_id="ky-jatyshty", title="Алар үйдө жатышты", language="ky"),
        make_doc(item_id="ky-sabyr", title="Сабыр кылуу керек", language="ky"),
        make_doc(item_id="ky-sabat", title="Айылда сабат ачуу курсу", language="ky"),
        make_doc(item_id="ky-surot", title="Сүрөт жана видеожазуу", language="ky"),
        make_doc(item_id="ky-atam", title="Атам менен келдим", language="ky"),
    ]


# query -> (records it must return, records it must not return)
EXPECTATIONS = {
    # Russian word forms
    "пытка": ({"ru-pytki"}, {"ru-izbienie", "ky-kyinoo", "en-beating", "none"}),
    "пыткам": ({"ru-pytki"}, {"ru-udushenie"}),
    "избиения": ({"ru-izbienie"}, {"ru-pytki", "en-beating"}),
    "задержание": ({"ru-izbienie"}, {"ru-udushenie", "none"}),
    "задержаний": ({"ru-izbienie"}, {"ru-udushenie", "none"}),
    "избиений": ({"ru-izbienie"}, {"ru-pytki"}),
    # Russian fleeting vowels: пытка / пыток, палка / палок, ...
    "пытки": ({"ru-pytki", "ru-pytok"}, {"ru-palok", "ky-kyinashkan"}),
    "пыток": ({"ru-pytki", "ru-pytok"}, {"ru-izbienie", "ru-polk"}),
    "палка": ({"ru-palok"}, {"ru-polk"}),
    "палок": ({"ru-palok"}, {"ru-polk", "ru-pytok"}),
    "полк": ({"ru-polk"}, {"ru-palok"}),
    "ошибка": ({"ru-oshibok"}, {"ru-pytok"}),
    "камера": ({"ru-kamer"}, {"ky-kamak"}),
    "камерах": ({"ru-kamer"}, {"ky-kamak", "ru-pytok"}),
    # English word forms
    "tortured": ({"en-tortured"}, {"en-beating", "ru-pytki"}),
    "torturing": ({"en-tortured"}, {"en-beating"}),
    "torture": ({"en-tortured"}, {"en-naryn"}),
    "beatings": ({"en-beating"}, {"en-tortured", "ru-izbienie"}),
    # Kyrgyz word forms
    "кыйноо": ({"ky-kyinoo", "ky-kyinashkan", "ky-kyinashat", "ky-kyinatty"},
               {"ky-kamak", "ru-pytki", "ky-kyiyn", "ky-sabyr"}),
    "кыйноолор": ({"ky-kyinoo"}, {"ky-turmo"}),
    "камак": ({"ky-kamak"}, {"ky-kyinoo"}),
    "түрмө": ({"ky-kamak", "ky-turmo"}, {"ky-kyinoo"}),
    "кармоо": ({"ky-turmo", "ky-ysykkol"}, {"ky-kamak"}),
    # Kyrgyz verb forms and verbal nouns
    "кыйнады": ({"ky-kyinoo", "ky-kyinashkan"}, {"ky-kyiyn", "ky-kamak"}),
    "кыйнашты": ({"ky-kyinoo", "ky-kyinashkan"}, {"ky-kyiyn"}),
    "уруу": ({"ky-urdu", "ky-urat", "ky-urbait", "ky-urdurdu"}, {"ky-kamak", "ky-surot"}),
    "уруп": ({"ky-urdu"}, {"ky-sabashty"}),
    "сабоо": ({"ky-kamak", "ky-sabashty", "ky-sabap-jatat", "ky-sabagan-jok"},
              {"ky-sabak", "ky-urdu", "ky-sabyr", "ky-sabat"}),
    "сабады": ({"ky-kamak", "ky-sabashty"}, {"ky-sabak"}),
    "сабак": ({"ky-sabak"}, {"ky-kamak", "ky-sabashty", "ky-sabap-jatat"}),
    "кыйын": ({"ky-kyiyn"}, {"ky-kyinoo", "ky-kyinashkan"}),
    "кармады": ({"ky-turmo", "ky-ysykkol"}, {"ky-kamak"}),
    # Present/future, causative, continuous and «-ган жок» forms
    "урат": ({"ky-urdu", "ky-urat", "ky-urbait", "ky-urdurdu"}, {"ky-sabashty", "ky-atam"}),
    "кыйнайт": ({"ky-kyinoo", "ky-kyinashat", "ky-kyinatty"}, {"ky-kyiyn", "ky-urat"}),
    "кыйнатты": ({"ky-kyinoo", "ky-kyinashkan", "ky-kyinashat"}, {"ky-kyiyn", "ky-sabat"}),
    "сабайт": ({"ky-kamak", "ky-sabashty", "ky-sabap-jatat", "ky-sabagan-jok"},
               {"ky-sabak", "ky-sabyr", "ky-sabat", "ky-jatyshty"}),
    "жатышты": ({"ky-sabap-jatat", "ky-jatyshty"},
                {"ky-kamak", "ky-sabashty", "ky-kyinoo", "ky-urdu", "ky-kyinashkan", "ky-sabagan-jok"}),
    "сабыр": ({"ky-sabyr"}, {"ky-kamak", "ky-sabashty", "ky-sabap-jatat"}),
    "сүрдү": (set(), {"ky-surot"}),                             # "pushed" ~ "photo"
    "атып": (set(), {"ky-atam"}),                               # "shooting" ~ "my father"
    # Transliteration, both ways
    "Jalal-Abad": ({"ky-kyinoo", "en-jalal"}, {"ky-kamak", "ru-pytki"}),
    "Жалал-Абад": ({"ky-kyinoo", "en-jalal"}, {"en-naryn"}),
    "Djalal-Abad": ({"ky-kyinoo", "en-jalal"}, set()),
    "Jalalabad": ({"ky-kyinoo", "en-jalal"}, set()),
    "Bishkek": ({"ru-pytki"}, {"ru-izbienie"}),
    "Ош": ({"en-tortured", "ru-izbienie"}, {"en-naryn", "ky-kamak"}),
    "Нарын": ({"ky-kamak", "en-naryn"}, {"ky-turmo"}),
    "Karakol": ({"ky-turmo"}, {"ky-kamak"}),
    "Токмок": ({"en-beating", "en-tokmak"}, {"en-tortured"}),
    "Tokmak": ({"en-beating", "en-tokmak"}, {"ru-batken"}),
    "Ысык-Көл": ({"ky-ysykkol", "ru-issyk", "en-issyk"}, {"ky-turmo", "en-naryn"}),
    "Issyk-Kul": ({"ky-ysykkol", "ru-issyk", "en-issyk"}, {"ky-turmo"}),
    "Issyk-Kol": ({"ky-ysykkol", "ru-issyk", "en-issyk"}, set()),
    "Ysyk-Kol": ({"ky-ysykkol", "ru-issyk", "en-issyk"}, set()),
    "Иссык-Куль": ({"ky-ysykkol", "ru-issyk", "en-issyk"}, set()),
    "Naryn": ({"ky-kamak", "en-naryn"}, {"ky-turmo", "ky-ysykkol"}),
    "Talas": ({"none"}, {"ru-batken"}),
    "Талас": ({"none"}, {"ru-batken"}),
    "Batken": ({"ru-batken"}, {"none", "en-beating"}),
    "Баткен": ({"ru-batken"}, {"none"}),
    "Osh": ({"en-tortured", "ru-izbienie"}, {"en-naryn"}),
    "Чүй": ({"ky-chui", "en-chuy"}, {"en-naryn"}),
    "Chui": ({"ky-chui", "en-chuy"}, set()),
    "Chuy": ({"ky-chui", "en-chuy"}, set()),
    "Dzhalal-Abad": ({"ky-kyinoo", "en-jalal"}, {"ky-kamak"}),
    "Бишкек": ({"ru-pytki"}, {"ru-izbienie"}),
    "Каракол": ({"ky-turmo"}, {"ky-kamak", "ky-ysykkol"}),
    "Жээнбеков": ({"ky-jeenbekov", "en-zheenbekov"}, {"ky-usonov"}),
    "Jeenbekov": ({"ky-jeenbekov", "en-zheenbekov"}, set()),
    "Zheenbekov": ({"ky-jeenbekov", "en-zheenbekov"}, set()),
    "Үсөнов": ({"ky-usonov", "ru-usenov"}, {"en-asanov"}),
    "Usenov": ({"ky-usonov", "ru-usenov"}, {"en-asanov"}),
    "Usonov": ({"ky-usonov", "ru-usenov"}, {"en-asanov"}),
    "Asanov": ({"en-asanov"}, {"ky-usonov", "ru-usenov"}),
    # Several words are all required; stop words are not
    "пытки в ИВС": ({"ru-pytki"}, {"ru-udushenie"}),
    "tortured in Osh": ({"en-tortured"}, {"ru-izbienie"}),
    "Osh police": ({"en-tortured"}, {"ru-izbienie", "en-jalal"}),
}


@pytest.mark.parametrize("text", sorted(EXPECTATIONS))
def test_query_returns_what_it_means(build, text: str) -> None:
    must, must_not = EXPECTATIONS[text]
    path = build(corpus())
    found = ids(search(str(path), text, allowed_case_ids=CASES, per_page=50))
    assert must <= found, f"{text!r} missed {must - found}"
    assert not found & must_not, f"{text!r} wrongly returned {found & must_not}"


def test_syntax_or_exclusion_and_phrase(build) -> None:
    path = str(build(corpus()))
    assert ids(search(path, "пытка OR кыйноо", allowed_case_ids=CASES)) == {
        "ru-pytki", "ru-pytok", "ky-kyinoo", "ky-kyinashkan", "ky-kyinashat", "ky-kyinatty"}
    assert ids(search(path, "police -Osh", allowed_case_ids=CASES)) == {"en-jalal", "en-issyk"}
    assert ids(search(path, "police -Osh -Issyk-Kul", allowed_case_ids=CASES)) == {"en-jalal"}
    assert ids(search(path, '"Detainee tortured"', allowed_case_ids=CASES)) == {"en-tortured"}
    assert ids(search(path, '"tortured detainee"', allowed_case_ids=CASES)) == set()  # order matters
    # A phrase matches inflected forms, across the parts of a compound.
    assert ids(search(path, '"Жалал-Абад шаары"', allowed_case_ids=CASES)) == {"ky-kyinoo"}
    assert ids(search(path, '"шаары Жалал-Абад"', allowed_case_ids=CASES)) == set()
    assert ids(search(path, '-"Пытки задержанных" ИВС', allowed_case_ids=CASES)) == set()


def test_vocabulary_labels_are_searchable(build) -> None:
    """A record coded "electric_shock" is found by the word in any language."""
    path = str(build([
        make_doc(item_id="coded", title="Statement", methods=["electric_shock"], violations=["torture"]),
        make_doc(item_id="plain", title="Statement"),
    ]))
    for text in ("электроток", "electric shock", "кыйноо", "пытки"):
        assert ids(search(path, text, allowed_case_ids=CASES)) == {"coded"}, text


def test_title_match_outranks_label_match(build) -> None:
    path = str(build([
        make_doc(item_id="label-only", title="Statement", violations=["torture"]),
        make_doc(item_id="in-title", title="Torture in custody"),
    ]))
    hits = search(path, "torture", allowed_case_ids=CASES)["hits"]
    assert [h["item_id"] for h in hits] == ["in-title", "label-only"]
    assert hits[0]["score"] > hits[1]["score"] > 0


@pytest.mark.parametrize("text", [
    '"unclosed phrase', "((( OR", "-", "- - -", "OR", "OR OR пытка", "AND NOT", "*?~^", 'a:b "c', "' \" ' \"",
    "NOT", "\x00\x01", "пытка -", "😀", "field:value", "[1 TO 5]", "\\", "-\"\"",
])
def test_odd_syntax_never_crashes(build, text: str) -> None:
    path = str(build(corpus()))
    result = search(path, text, allowed_case_ids=CASES)
    assert isinstance(result["total"], int)
