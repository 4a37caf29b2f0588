"""Each bundled exporter renders the full case: read back from DOCX and PDF, every value is there."""

from __future__ import annotations

import io
import re

import docx
import pytest
from pypdf import PdfReader

from tests.export.export_samples import ENABLED, full_case, options
from vault import plugins
from vault.domain.caserecord import parse_case


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    section = document.sections[0]
    parts += [p.text for p in section.header.paragraphs] + [p.text for p in section.footer.paragraphs]
    return "\n".join(parts)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def flat(text: str) -> str:
    return " ".join(text.split())


COMMON = ["Өмүрбеков", "Нурсултан", "Свердловский РОВД, кабинет 14"]
ORG = "Коалиция против пыток (Бишкек)"
PAGE_LABELS = {"en": "Page 1 of", "ru": "Страница 1 из", "ky": "Бет 1 /"}  # PDF only: DOCX has fields

EXPECTED = {
    ("omct", "en", None): [
        "Case submission for an OMCT urgent appeal", "KGZ ___/1125/___",
        "Өмүрбеков Нурсултан Төлөнбекович", "Male", "24 years", "студент, курьер",
        "Активист молодёжного движения «Жаңы муун»",
        "According to the information received from Коалиция против пыток (Бишкек):",
        "put a plastic bag over his head several times", "Torture; Denial of access to a lawyer",
        "12 March 2025 – 14 March 2025", "Beating; Asphyxiation (bag, gas mask, water)",
        "Police (Ministry of Internal Affairs), Свердловский РОВД, уголовный розыск",
        "ИВС ГУВД г. Бишкек, Temporary detention facility (IVS), Bishkek city (14 March 2025 – present)",
        "кровоподтёки на стопах, ссадины на запястьях", "получение признательных показаний",
        "Дж. Сулайманова, судебно-медицинский эксперт", "highly consistent with",
        "Прокуратура Свердловского района г. Бишкек", "Отказ в возбуждении уголовного дела",
        "10 September 2025", "Still detained", "СИЗО-1, г. Бишкек",
        "Угрозы повторного насилия после подачи жалобы", "is gravely concerned",
        "Please write to the authorities of Kyrgyzstan asking them to:",
        "guarantee the physical and psychological integrity of Mr Ömürbekov",
        "exclude the confession obtained under torture from the evidence",
        "Айгүл Жээнбекова", "aigul@example.org", "+996 555 000 111",
        "Фото стоп, 17.03.2025 — attachments/стопы_Өмүрбеков.jpg", ORG,
    ],
    ("un-srt", "en", None): [
        "Urgent appeal to the Special Rapporteur on torture", "Tölönbekovich (Төлөнбекович)", "Male",
        "4 May 2001", "24 years", "Кыргыз Республикасы", "ID 2345678", "Бишкек ш., Жаңы-Жер көчөсү, 12",
        "12 March 2025", "Бишкек, возле дома по ул. Жаңы-Жер, 12", "Police (Ministry of Internal Affairs)",
        "Причины не объяснили", "12 March 2025 – 14 March 2025 (без связи с семьёй и адвокатом)",
        "put a plastic bag over his head several times", "Beating; Asphyxiation (bag, gas mask, water)",
        "Кровоподтёки обеих стоп давностью 3–5 суток", "Заявление о пытках (ст. 143 УК КР)",
        "Айгүл Жээнбекова", "адвокат", "aigul@example.org", ORG,
        "The name may be transmitted to the government",
    ],
    ("un-srt", "ru", None): [
        "Срочное обращение к Специальному докладчику по вопросу о пытках", "4 мая 2001 г.", "24 лет",
        "Мужской", "Милиция (МВД)", "Пытки", "Избиение; Удушение (пакет, противогаз, вода)",
        "несколько раз надевали на голову полиэтиленовый пакет", "в высокой степени соответствует",
        "Имя может быть сообщено правительству", ORG,
    ],
    ("un-hrc", "ru", None): [
        "Сообщение в Комитет по правам человека", "Факультативным протоколом", "Кыргызская Республика",
        "Нарын облусу, Ат-Башы району, Ак-Муз айылы", "Статья 7 Пакта — Пытки с целью получения признания",
        "Статья 14(3)(g) Пакта — Принуждение к признанию", "Адвокат", "Бишкек, Токтогул көчөсү, 1",
        "20 марта 2025 г.", "Этот же вопрос не рассматривается", "Признать нарушение статей 7, 9 и 14 Пакта",
        "Угрозы повторного насилия в месте содержания", "Письменная доверенность (полномочие)",
        "прилагается", "не прилагается", "Подпись", "20 ноября 2025 г.",
    ],
    ("un-hrc", "en", "cat22"): [
        "Complaint to the Committee against Torture", "article 22 of the Convention against Torture",
        "Article 1 of the Convention — Пытка", "Kyrgyzstan", "Written authorisation to act", "attached",
        "Signature",
    ],
    ("ombudsman", "ru", None): [
        "Акыйкатчы (Омбудсмену) Кыргызской Республики", "Заявитель: Айгүл Жээнбекова",
        "Адрес для ответа: Бишкек, Токтогул көчөсү, 1", "ЖАЛОБА", "Өмүрбеков Нурсултан Төлөнбекович",
        "несколько раз надевали на голову полиэтиленовый пакет", "Пытки", "Избиение",
        "право не подвергаться пыткам", "право на квалифицированную юридическую помощь",
        "Прошу принять настоящую жалобу к рассмотрению", "обратиться в органы прокуратуры или в суд",
        "Медицинское освидетельствование", "Кровоподтёки обеих стоп", "Приложения", "Подпись", "Дата: 20 ноября 2025 г.",
        "№ 67",
    ],
    ("ombudsman", "ky", None): [
        "Кыргыз Республикасынын Акыйкатчысына (Омбудсменине)", "Арыз берүүчү: Айгүл Жээнбекова",
        "Жооп үчүн дарек: Бишкек, Токтогул көчөсү, 1", "АРЫЗ", "Өмүрбеков Нурсултан Төлөнбекович",
        "2001-жылдын 4-майы", "резина таяк менен таманыма уруп", "Кыйноо", "Сабоо; Муунтуу",
        "кыйноого жана башка ырайымсыз", "Көрүлгөн чаралар", "көрсөтүлгөн дарекке кабарлоону суранам",
        "Тиркемелер", "Колу", "Күнү: 2025-жылдын 20-ноябры",
    ],
}

RAW_CODE = re.compile(r"\b[a-z]+(?:_[a-z]+)+\b")


@pytest.mark.parametrize(("exporter", "lang", "variant"), sorted(EXPECTED, key=str))
def test_hook_vault_export(pm, items, exporter, lang, variant):
    case = parse_case(full_case())
    rendered = plugins.export(pm, ENABLED, exporter, case, items, options(lang, variant))
    assert rendered.language == lang
    assert "/" not in rendered.basename and "Өмүрбеков" not in rendered.basename  # no name in file names
    texts = {"docx": flat(docx_text(rendered.docx)), "pdf": flat(pdf_text(rendered.pdf))}
    for kind, text in texts.items():
        for value in COMMON + EXPECTED[(exporter, lang, variant)]:
            assert flat(value) in text, f"{kind}: {value!r} missing"
        assert {"ң", "ө", "ү"} <= set(text), f"{kind}: Kyrgyz letters lost"
        assert kind == "docx" or PAGE_LABELS[lang] in text
        assert "None" not in text and "victim." not in text
        assert not RAW_CODE.search(text.replace("стопы_Өмүрбеков", "")), RAW_CODE.findall(text)


def test_pdf_embeds_the_unicode_fonts(pm, items):
    rendered = plugins.export(pm, ENABLED, "ombudsman", parse_case(full_case()), items, options("ky"))
    reader = PdfReader(io.BytesIO(rendered.pdf))
    fonts = {str(f.get_object()["/BaseFont"]) for f in reader.pages[0]["/Resources"]["/Font"].values()}
    assert any("DejaVuSerif" in f for f in fonts) and any("DejaVuSans" in f for f in fonts)
    assert reader.metadata.title == "АРЫЗ"


def test_omct_withholds_the_name_without_consent(pm, items):
    data = full_case()
    data["victim"]["consent_publish_name"] = False
    rendered = plugins.export(pm, ENABLED, "omct", parse_case(data), items, options("en"))
    for text in (docx_text(rendered.docx), pdf_text(rendered.pdf)):
        assert "Өмүрбеков Нурсултан" not in flat(text)
        assert "N.Ö. (pseudonym" in flat(text)


def test_docx_is_a4_with_page_number_fields(pm, items):
    rendered = plugins.export(pm, ENABLED, "un-srt", parse_case(full_case()), items, options("en"))
    document = docx.Document(io.BytesIO(rendered.docx))
    section = document.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    footer_xml = section.footer._element.xml
    assert 'w:instr="PAGE"' in footer_xml and 'w:instr="NUMPAGES"' in footer_xml
    assert document.core_properties.author == "Коалиция против пыток (Бишкек)"
    assert document.core_properties.comments == ""


def test_signature_never_stands_alone_on_the_last_page(pm, items):
    rendered = plugins.export(pm, ENABLED, "ombudsman", parse_case(full_case()), items, options("ky"))
    last = flat(PdfReader(io.BytesIO(rendered.pdf)).pages[-1].extract_text())
    assert "Колу" in last and "Тиркемелер" in last
