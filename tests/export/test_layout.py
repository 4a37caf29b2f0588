"""Documents that read well on paper: no near-blank page, no table row split across two pages.

Every exporter the plugin manager offers is rendered in each of its languages and variants, on the
golden case (export_samples.full_case) and on a long one (long facts, many acts, places and remedies,
one row taller than MAX_KEEP), and so is the forensic report (vault/export/forensic.py) in en, ru and
ky. Each PDF page is rasterised with pdftoppm and measured (pixels darker than INK between the header
and the footer band), and its text read back with pypdf:

* no page but the last may end in the top FILLED share of the text area: a page that does is "a
  fragment or two" of content followed by white (the UN Special Rapporteur PDF's page 3 was);
* no page, the last included, may hold fewer than MIN_TEXT_LINES lines of text (a lone table fragment,
  a signature cut off from what it signs);
* every short value of the case record (a table row, up to SHORT characters) that the document prints
  is printed whole on one page: rows are never split, only a row too tall to move is continued, and
  then under its label marked "(continued)".
"""

from __future__ import annotations

import copy
import io
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader

from tests.export.export_samples import full_case, options
from tests.export.test_forensic_document import long_report, sample_report
from vault import plugins
from vault.domain.caserecord import ForensicReport, parse_case
from vault.export.document import Document, Fields, Para, word
from vault.export.forensic import forensic_document
from vault.export.pdf_rows import BODY, TOP
from vault.export.render_pdf import render_pdf

DPI = 40
INK = 160  # grey levels below this are text (the grey labels are 90); rules (200) and fills (242) are not
FILLED = 0.40  # a page other than the last must carry content below this share of the text area
MIN_TEXT_LINES = 3
SHORT = 400  # values up to this long fit in a row that is never split (well under MAX_KEEP)
MM = DPI / 25.4


def long_case() -> dict:
    """The golden case grown to many pages: long facts, twelve acts, many places and remedies."""
    case = copy.deepcopy(full_case())
    para = {"en": "The officers returned at night and beat him again on the soles of his feet, asking the "
                  "same questions about the robbery and threatening his younger brother. ",
            "ru": "Сотрудники вернулись ночью и снова били его по стопам, задавая те же вопросы о грабеже "
                  "и угрожая его младшему брату. ",
            "ky": "Кызматкерлер түнү кайра келип, тоноо жөнүндө ошол эле суроолорду берип, анын иниси "
                  "менен коркутуп, таманына кайра урушту. "}
    for lang, text in para.items():
        case["facts"][lang] = case["facts"][lang] + "\n\n" + "\n\n".join(
            f"{n}. " + text * (3 + n % 4) for n in range(1, 15))
    act = case["acts"][0]
    case["acts"] = [dict(copy.deepcopy(act), date_from=f"2025-03-{n:02d}", date_to=f"2025-03-{n:02d}",
                         place=f"Свердловский РОВД, кабинет {n}",
                         method_details="удары резиновой дубинкой по стопам (фалака); пакет на голову; "
                                        * (1 + n % 5),
                         injuries=f"кровоподтёки на стопах и спине, эпизод {n}") for n in range(1, 13)]
    places = case["detention"]["places"]
    case["detention"]["places"] = places + [dict(places[0], name=f"ИВС № {n}") for n in range(1, 7)]
    remedy = case["domestic_remedies"][0]
    case["domestic_remedies"] = [dict(remedy, body=f"Прокуратура, обращение {n}",
                                      outcome="Отказ в возбуждении уголовного дела. " * (1 + n % 3))
                                 for n in range(1, 9)]
    # One row taller than a page's MAX_KEEP: continued cleanly, never moved to leave a page empty.
    case["detention"]["present_risk"] = "Угрозы повторного насилия после подачи жалобы; " * 90
    return case


def _exports(pm) -> list[tuple[str, str, str | None]]:
    enabled = {info.name for info in plugins.installed_plugins(pm)}
    return [(name, lang, variant)
            for name, exp in sorted(plugins.exporters(pm, enabled).items())
            for lang in exp.languages
            for variant in [None, *(v.name for v in exp.variants)]]


def pages_measured(pdf: bytes, tmp: Path) -> list[tuple[float, int]]:
    """For each page: how far down the text area its content reaches (0-1), and its lines of text."""
    (tmp / "doc.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(DPI), "-gray", str(tmp / "doc.pdf"), str(tmp / "p")], check=True)
    texts = [page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages]
    shots = sorted(tmp.glob("p-*.pgm"))
    assert len(shots) == len(texts)
    out = []
    for shot, text in zip(shots, texts, strict=True):
        image = Image.open(shot)
        width = image.width
        top, bottom = int(16 * MM), int((297 - 16) * MM)  # between the header note and the footer rule
        data = image.crop((0, top, width, bottom)).point(lambda v: 255 if v < INK else 0)
        box = data.getbbox()
        reach = ((box[3] + top) / MM - TOP) / BODY if box else 0.0
        lines = [line for line in text.splitlines() if line.strip()]
        out.append((reach, len(lines) - 2))  # less the header note and the footer line
        shot.unlink()
    return out


def check_pages(pdf: bytes, tmp: Path, what: str) -> int:
    measured = pages_measured(pdf, tmp)
    for n, (reach, lines) in enumerate(measured, start=1):
        if n < len(measured):
            assert reach >= FILLED, f"{what}: page {n} of {len(measured)} is near-blank (content ends at {reach:.0%})"
        assert lines >= MIN_TEXT_LINES, f"{what}: page {n} holds only {lines} line(s) of text"
    return len(measured)


def flat(text: str) -> str:
    return " ".join(text.split())


def short_values(record: dict) -> set[str]:
    found: set[str] = set()

    def walk(value: object) -> None:
        if isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str) and 12 <= len(value) <= SHORT:
            found.add(flat(value))

    walk(record)
    return found


def check_rows_whole(pdf: bytes, values: set[str], what: str) -> None:
    pages = [flat(page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages]
    whole = " ".join(pages)
    for value in values:
        if value in whole:
            assert any(value in page for page in pages), f"{what}: {value[:60]!r} is split across pages"


@pytest.mark.parametrize("which", ["golden", "long"])
def test_every_exporter_lays_out_without_blank_pages_or_split_rows(pm, items, tmp_path, which):
    record = full_case() if which == "golden" else long_case()
    case = parse_case(record)
    values = short_values(record)
    enabled = {info.name for info in plugins.installed_plugins(pm)}
    combos = _exports(pm)
    assert {"omct", "un-srt", "un-hrc", "ombudsman"} <= {name for name, _, _ in combos}
    for name, lang, variant in combos:
        what = f"{name}/{lang}/{variant or '-'}/{which}"
        rendered = plugins.export(pm, enabled, name, case, items, options(lang, variant))
        pages = check_pages(rendered.pdf, tmp_path, what)
        check_rows_whole(rendered.pdf, values, what)
        if which == "long":
            assert pages >= 3, what


@pytest.mark.parametrize("lang", ["en", "ru", "ky"])
@pytest.mark.parametrize("make", [sample_report, long_report])
def test_forensic_report_lays_out_without_blank_pages_or_split_rows(tmp_path, lang, make):
    report = make()
    pdf = render_pdf(forensic_document(ForensicReport.model_validate(report), lang))
    check_pages(pdf, tmp_path, f"forensic/{lang}/{make.__name__}")
    check_rows_whole(pdf, short_values(report), f"forensic/{lang}/{make.__name__}")


def test_a_row_taller_than_a_page_is_continued_under_its_label(tmp_path):
    """A row moves whole when it fits on a page; one taller than MAX_KEEP goes on under "label (continued)"."""
    doc = Document(title="Rows", language="ky", footer="rows")
    doc.add_title()
    doc.add(Para("Кириш сөз. " * 150))
    doc.add(Fields([("Кыска", "бир сап"), ("Орто", "Жаңы сөз. " * 80), ("Узун", "Өмүр үчүн коркунуч. " * 400),
                    ("Акыркы", "аягы")]))
    pdf = render_pdf(doc)
    pages = [flat(page.extract_text() or "") for page in PdfReader(io.BytesIO(pdf)).pages]
    check_pages(pdf, tmp_path, "rows")
    medium = flat("Жаңы сөз. " * 80)
    assert any(medium in page for page in pages), "the 8-line row was split"
    first = next(n for n, page in enumerate(pages) if "Узун Өмүр" in page)
    assert f"Узун {word('continued', 'ky')}" in pages[first + 1]
    assert "Акыркы аягы" in pages[-1]
