"""Render a Document to DOCX bytes with python-docx, in memory.

The DOCX is the editable version: plain styles (Normal, Heading 1/2, a
two-column table for label/value rows), Times New Roman and Arial — both
carry Cyrillic with the Kyrgyz letters on every office suite a recipient is
likely to use — and page numbers as Word fields in the footer.

As in the PDF, a table row is not split across pages (w:cantSplit; Word
still breaks a row taller than a page), a table's header row repeats on
each page (w:tblHeader), and a heading stays with what follows it.
"""

from __future__ import annotations

import io

from docx import Document as new_docx
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor, Twips

from vault.export.document import (
    AddressBlock,
    Document,
    Fields,
    Heading,
    ItemList,
    Para,
    SignatureBlock,
    Table,
    Title,
    clean_text,
    roman,
)

BODY_FONT = "Times New Roman"
HEAD_FONT = "Arial"
_ALIGN = {"left": WD_ALIGN_PARAGRAPH.LEFT, "right": WD_ALIGN_PARAGRAPH.RIGHT,
          "center": WD_ALIGN_PARAGRAPH.CENTER, "justify": WD_ALIGN_PARAGRAPH.JUSTIFY}
_LANG_TAGS = {"en": "en-GB", "ru": "ru-RU", "ky": "ky-KG", "fr": "fr-FR"}
GREY = RGBColor(0x5A, 0x5A, 0x5A)
TEXT_WIDTH_MM = 165  # A4 less 25 mm left and 20 mm right margins


def _set_fonts(style, name: str, size: float, lang: str, bold: bool | None = None) -> None:
    style.font.name = name
    style.font.size = Pt(size)
    style.font.color.rgb = RGBColor(0, 0, 0)
    if bold is not None:
        style.font.bold = bold
    rpr = style.element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    # Theme font attributes override explicit names: drop them so the
    # heading really is Arial and Cyrillic uses the same face.
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:cs"), name)
    lang_el = rpr.find(qn("w:lang"))
    if lang_el is None:
        lang_el = OxmlElement("w:lang")
        rpr.append(lang_el)
    lang_el.set(qn("w:val"), _LANG_TAGS.get(lang, "en-GB"))


def _field(paragraph, instr: str) -> None:
    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), instr)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    fld.append(run)
    paragraph._p.append(fld)


def _row_flag(row, tag: str) -> None:
    """Set an on/off property of a table row (w:cantSplit, w:tblHeader)."""
    props = row._tr.get_or_add_trPr()
    if props.find(qn(tag)) is None:
        props.append(OxmlElement(tag))


def _shade(cell, fill: str) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


class _Writer:
    def __init__(self, doc: Document):
        self.doc = doc
        self.out = new_docx()
        section = self.out.sections[0]
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin, section.right_margin = Mm(25), Mm(20)
        section.top_margin, section.bottom_margin = Mm(20), Mm(20)
        styles = self.out.styles
        _set_fonts(styles["Normal"], BODY_FONT if doc.serif_body else HEAD_FONT, 11, doc.language)
        styles["Normal"].paragraph_format.space_after = Pt(4)
        _set_fonts(styles["Heading 1"], HEAD_FONT, 12, doc.language, bold=True)
        _set_fonts(styles["Heading 2"], HEAD_FONT, 11, doc.language, bold=True)
        styles["Heading 1"].paragraph_format.space_before = Pt(12)
        styles["Heading 2"].paragraph_format.space_before = Pt(8)
        self._footer(section)
        if doc.header_note:
            p = section.header.paragraphs[0]
            p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            run = p.add_run(clean_text(doc.header_note))
            run.font.size, run.font.color.rgb = Pt(8), GREY

    def _footer(self, section) -> None:
        p = section.footer.paragraphs[0]
        p.paragraph_format.tab_stops.add_tab_stop(Twips(4680), WD_TAB_ALIGNMENT.CLEAR)
        p.paragraph_format.tab_stops.add_tab_stop(Mm(TEXT_WIDTH_MM), WD_TAB_ALIGNMENT.RIGHT)
        run = p.add_run(clean_text(self.doc.footer)[:120] + "\t")
        run.font.size, run.font.color.rgb = Pt(8), GREY
        # "Page {page} of {pages}" in the document's language, with live fields.
        label = self.doc.page_label("\x00PAGE\x00", "\x00NUMPAGES\x00")
        for n, part in enumerate(label.split("\x00")):
            if n % 2:
                _field(p, part)
            elif part:
                run = p.add_run(part)
                run.font.size, run.font.color.rgb = Pt(8), GREY

    def title(self, block: Title) -> None:
        p = self.out.add_paragraph()
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = p.add_run(clean_text(block.text))
        run.bold, run.font.size, run.font.name = True, Pt(14), HEAD_FONT
        if block.subtitle:
            p = self.out.add_paragraph()
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run = p.add_run(clean_text(block.subtitle))
            run.font.size, run.font.color.rgb = Pt(10), GREY
        p.paragraph_format.space_after = Pt(12)

    def heading(self, block: Heading) -> None:
        self.out.add_heading(clean_text(block.text), level=block.level)

    def para(self, block: Para) -> None:
        p = self.out.add_paragraph()
        p.alignment = _ALIGN[block.align]
        run = p.add_run(clean_text(block.text))
        run.bold = block.bold
        if block.small:
            run.font.size, run.font.color.rgb = Pt(8.5), GREY

    def fields(self, block: Fields) -> None:
        table = self.out.add_table(rows=0, cols=2)
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.LEFT
        widths = (Mm(52), Mm(TEXT_WIDTH_MM - 52))
        for label, value in block.rows:
            row = table.add_row()
            _row_flag(row, "w:cantSplit")
            cells = row.cells
            for cell, width in zip(cells, widths, strict=True):
                cell.width = width
            _shade(cells[0], "F2F2F2")
            run = cells[0].paragraphs[0].add_run(clean_text(label))
            run.bold, run.font.size, run.font.name = True, Pt(9.5), HEAD_FONT
            lines = clean_text(value).split("\n")
            cells[1].paragraphs[0].add_run(lines[0])
            for line in lines[1:]:
                cells[1].add_paragraph(line)
        self.out.add_paragraph().paragraph_format.space_after = Pt(2)

    def table(self, block: Table) -> None:
        table = self.out.add_table(rows=0, cols=len(block.header))
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.LEFT
        shares = block.widths or [1.0] * len(block.header)
        widths = [Mm(TEXT_WIDTH_MM * share / sum(shares)) for share in shares]
        for n, values in enumerate([block.header, *block.rows]):
            row = table.add_row()
            _row_flag(row, "w:cantSplit")
            if n == 0:
                _row_flag(row, "w:tblHeader")
            for cell, width, value in zip(row.cells, widths, values, strict=True):
                cell.width = width
                lines = clean_text(value).split("\n")
                run = cell.paragraphs[0].add_run(lines[0])
                run.font.size = Pt(9 if n == 0 else 10)
                if n == 0:
                    _shade(cell, "F2F2F2")
                    run.bold, run.font.name = True, HEAD_FONT
                for line in lines[1:]:
                    cell.add_paragraph().add_run(line).font.size = Pt(10)
        self.out.add_paragraph().paragraph_format.space_after = Pt(2)

    def item_list(self, block: ItemList) -> None:
        for n, item in enumerate(block.items, start=1):
            marker = {"roman": f"{roman(n)}.", "decimal": f"{n}.", "bullet": "•"}[block.style]
            p = self.out.add_paragraph()
            fmt = p.paragraph_format
            fmt.left_indent, fmt.first_line_indent = Mm(12), Mm(-8)
            fmt.tab_stops.add_tab_stop(Mm(12))
            p.add_run(f"{marker}\t{clean_text(item)}")

    def address(self, block: AddressBlock) -> None:
        for n, line in enumerate(block.lines):
            p = self.out.add_paragraph()
            p.paragraph_format.left_indent = Mm(80)
            p.paragraph_format.space_after = Pt(0)
            p.add_run(clean_text(line)).bold = n == 0 and block.bold_first
        self.out.add_paragraph()

    def signature(self, block: SignatureBlock) -> None:
        # Keep the signature lines on one page with each other.
        self.out.add_paragraph().paragraph_format.keep_with_next = True
        for label in block.labels:
            p = self.out.add_paragraph()
            p.paragraph_format.keep_with_next = True
            p.paragraph_format.space_before = Pt(10)
            filled = block.values.get(label)
            p.add_run(f"{clean_text(label)}: {clean_text(filled) if filled else '_' * 32}")
        if block.name:
            self.out.add_paragraph(clean_text(block.name))


def render_docx(doc: Document) -> bytes:
    """The Document as DOCX bytes (A4, page numbers, no author metadata beyond ``doc.author``)."""
    w = _Writer(doc)
    draw = {
        Title: w.title, Heading: w.heading, Para: w.para, Fields: w.fields, Table: w.table,
        ItemList: w.item_list, AddressBlock: w.address, SignatureBlock: w.signature,
    }
    for block in doc.blocks:
        draw[type(block)](block)
    props = w.out.core_properties
    props.title = clean_text(doc.title)[:250]
    props.author = clean_text(doc.author)[:250]
    props.last_modified_by = ""
    props.comments = ""
    props.language = _LANG_TAGS.get(doc.language, "en-GB")
    buf = io.BytesIO()
    w.out.save(buf)
    return buf.getvalue()
