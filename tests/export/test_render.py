"""The shared Document renderers, and the mappings they are fed from."""

from __future__ import annotations

import io
import logging
import typing
from pathlib import Path

import docx
import pytest
from pydantic import BaseModel
from pypdf import PdfReader

from vault.domain.caserecord import CaseRecord
from vault.export.document import (
    AddressBlock,
    Document,
    Fields,
    ItemList,
    Para,
    SignatureBlock,
    format_date,
    format_period,
)
from vault.export.mapping import load_mapping
from vault.export.names import safe_filename, unique_names
from vault.export.render_docx import render_docx
from vault.export.render_pdf import render_pdf

MAPPINGS = {
    "omct": load_mapping("vault_plugin_omct"),
    "un-srt": load_mapping("vault_plugin_un", "srt.json"),
    "un-hrc": load_mapping("vault_plugin_un", "hrc.json"),
    "ombudsman": load_mapping("vault_plugin_ombudsman"),
}


def sample_document() -> Document:
    doc = Document(title="Тест ң ө ү", subtitle="sub", language="ky", footer="footer " * 40,
                   header_note="Купуя")
    doc.add(AddressBlock(["Кыргыз Республикасынын Акыйкатчысына", "", "Арыз берүүчү: Айгүл"]))
    doc.add_title()
    doc.heading("1. Бөлүм")
    doc.add(Para("Long paragraph with an emoji 😀 and a control char \x07. " + "Жаңы сөз " * 900,
                 align="justify"))
    doc.add(Fields([("Label", "value ң\nsecond line"), ("Long", "ө " * 3000)]))
    doc.add(ItemList(["first", "second"], style="roman"))
    doc.add(SignatureBlock(["Күнү", "Колу"], name="Айгүл", values={"Күнү": "2025-жылдын 1-майы"}))
    return doc


def test_renderers_handle_every_block_long_text_and_odd_characters(caplog):
    with caplog.at_level(logging.DEBUG):
        pdf = render_pdf(sample_document())
        docx_bytes = render_docx(sample_document())
    assert "😀" not in caplog.text and "Жаңы" not in caplog.text  # nothing sealed in any log
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 3
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Жаңы сөз" in text and "ii." in text and "😀" not in text
    assert f"Бет 1 / {len(reader.pages)}" in text
    paragraphs = [p.text for p in docx.Document(io.BytesIO(docx_bytes)).paragraphs]
    assert any("😀" in p for p in paragraphs)  # DOCX keeps it: Word has fallback fonts
    assert not any("\x07" in p for p in paragraphs)


def test_dates_in_three_languages():
    import datetime as dt

    day = dt.date(2025, 3, 12)
    assert format_date(day, "en") == "12 March 2025"
    assert format_date(day, "ru") == "12 марта 2025 г."
    assert format_date(day, "ky") == "2025-жылдын 12-марты"
    assert format_period(day, None, "ky", open_ended=True) == "2025-жылдын 12-марты – азыркы учурга чейин"
    assert format_period(None, day, "ru") == "по 12 марта 2025 г."


@pytest.mark.parametrize(("name", "expected"), [
    ("../../etc/passwd", "passwd"), ("..\\..\\boot.ini", "boot.ini"), ("/abs/x.jpg", "x.jpg"),
    ("a\x00b.txt", "a_b.txt"), ("...", "fallback"), ("NUL", "_NUL"), ("com1.txt", "_com1.txt"),
    ("фото ң.jpg", "фото ң.jpg"), ("x" * 300 + ".jpeg", "x" * 115 + ".jpeg"),
])
def test_safe_filename(name, expected):
    assert safe_filename(name, fallback="fallback") == expected


def test_unique_names():
    assert unique_names(["a.jpg", "A.jpg", "a.jpg", "b"]) == ["a.jpg", "A (2).jpg", "a (3).jpg", "b"]


def _model_of(annotation):
    """The pydantic model inside Optional[...] / list[...], if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_of(arg)
        if found:
            return found
    return None


def _check_path(model: type[BaseModel], path: str) -> None:
    for part in path.split("."):
        if part in model.model_fields:
            inner = _model_of(model.model_fields[part].annotation)
            if inner is None:
                return
            model = inner
        elif isinstance(getattr(model, part, None), property):
            return
        else:
            raise AssertionError(f"{path}: {part!r} is not a field of {model.__name__}")


def _element_model(path: str) -> type[BaseModel]:
    model: type[BaseModel] = CaseRecord
    for part in path.split("."):
        model = _model_of(model.model_fields[part].annotation)
    return model


@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_mapping_paths_name_real_fields(name):
    mapping = MAPPINGS[name]
    for rule in mapping["requirements"]:
        assert "en" in rule["message"] and "ru" in rule["message"] and "ky" in rule["message"]
        fields = rule.get("fields") or [rule["field"]]
        if rule["rule"] == "each":
            _check_path(_element_model(rule["list"]), rule["field"])
            continue
        for path in fields + [rule.get("path", "facts")]:
            if not path.startswith("@"):
                _check_path(CaseRecord, path)
        assert not rule.get("path", fields[0]).startswith("@"), "a rule on an @ value needs a record path"
    for section in mapping["sections"]:
        base = _element_model(section["list"]) if section.get("kind") == "each" else CaseRecord
        for row in section.get("rows", []):
            if not row["field"].startswith("@"):
                _check_path(base, row["field"])


def test_fonts_and_licence_ship_with_the_package():
    fonts = Path(__file__).resolve().parents[2] / "vault" / "export" / "fonts"
    assert {p.name for p in fonts.iterdir()} >= {"DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSerif.ttf",
                                                 "DejaVuSerif-Bold.ttf", "LICENSE.txt"}
    assert "Bitstream" in (fonts / "LICENSE.txt").read_text()


def _longest_mark_run(text: str) -> int:
    """The most combining marks on one base character, counted in NFD (as Unicode's stream-safe rule counts)."""
    import unicodedata

    longest = run = 0
    for ch in unicodedata.normalize("NFD", text):
        run = run + 1 if unicodedata.combining(ch) else 0
        longest = max(longest, run)
    return longest


def test_combining_marks_are_bounded_before_rendering(pm):
    """'e' and 32,000 U+0301 in the facts took 58 s in the PDF renderer: at most 30 marks reach either document."""
    from tests.export.export_samples import ENABLED, full_case, options
    from vault import plugins
    from vault.domain.caserecord import parse_case

    case = full_case()
    case["facts"]["en"] = "e" + "\u0301" * 32_000
    rendered = plugins.export(pm, ENABLED, "omct", parse_case(case), [], options("en"))
    paragraphs = [p.text for p in docx.Document(io.BytesIO(rendered.docx)).paragraphs]
    assert any(p.startswith("é\u0301") for p in paragraphs)  # the marks are there, cut, not dropped
    assert max(map(_longest_mark_run, paragraphs)) == 30
    pdf_text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(rendered.pdf)).pages)
    assert 0 < _longest_mark_run(pdf_text) <= 30


def test_layout_work_is_budgeted_not_timed():
    """Each text is charged its estimated line-breaking work before fpdf2 does it: over the budget, a clean
    DocumentTooComplex, the same on any machine."""
    from vault.export.document import DocumentTooComplex

    assert render_pdf(sample_document()).startswith(b"%PDF")  # well within the default budget
    with pytest.raises(DocumentTooComplex, match="more than 1000 steps"):
        render_pdf(sample_document(), budget=1000)
    # Hair spaces with zero-width joiners: 2,000 characters to a line, each measuring the line so far
    # (~13 s in fpdf2). Refused by the default budget before any of that work is done.
    doc = Document(title="t", language="en")
    doc.add(Para(("\u200a" + "\u200d" * 4) * 20_000))
    with pytest.raises(DocumentTooComplex):
        render_pdf(doc)
