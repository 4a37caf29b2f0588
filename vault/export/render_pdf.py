"""Render a Document to PDF bytes with fpdf2, in memory.

The DejaVu fonts are embedded (subset) so Russian and Kyrgyz letters
(ң ө ү) print on any reader; the files and their licence are in fonts/.
Characters the fonts lack are replaced before rendering, because fpdf2
would otherwise log the missing glyphs — and a log line must never quote
sealed content.

fpdf2 breaks lines by measuring the line so far again for every character
it adds, so a line of n characters costs about n²/2 width look-ups. A line
is short unless its characters take no room: combining marks and format
characters (zero-width joiners, direction marks). So each glyph keeps at
most MAX_ZERO_WIDTH of them (fpdf2 does not shape text: more marks on one
letter print over each other anyway), and every text is charged its
estimated look-ups before fpdf2 lays it out; a document over WORK_BUDGET is
refused with DocumentTooComplex — the same document on any machine, never
a worker killed half-way.
"""

from __future__ import annotations

import re
from importlib import resources

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.line_break import BREAKING_SPACE_SYMBOLS

from vault.export.document import (
    AddressBlock,
    Document,
    DocumentTooComplex,
    Fields,
    Heading,
    ItemList,
    Para,
    SignatureBlock,
    Title,
    clean_text,
    roman,
)

FONT_FILES = {
    ("serif", ""): "DejaVuSerif.ttf",
    ("serif", "B"): "DejaVuSerif-Bold.ttf",
    ("sans", ""): "DejaVuSans.ttf",
    ("sans", "B"): "DejaVuSans-Bold.ttf",
}
_ALIGN = {"left": "L", "right": "R", "center": "C", "justify": "J"}

LEFT, RIGHT, TOP, BOTTOM = 25.0, 20.0, 20.0, 22.0  # mm
LABEL_WIDTH = 52.0
BODY_PT, SMALL_PT = 10.5, 8.5
LINE = 5.2  # mm per body line
GREY = (90, 90, 90)
RULE = (200, 200, 200)

MAX_ZERO_WIDTH = 4  # zero-advance glyphs kept after one glyph: enough for Hebrew points and an accent
# Costs in width look-ups, measured against fpdf2 2.8 (~0.1 µs each): a
# character's own handling, a call's (a block, a row), and what a document
# may spend (both drawings of render_pdf): ~550,000 characters of ordinary
# text (some 170 pages), or 8 s of one core of the CI machine at worst.
LINEAR = 100
CALL = 1500
WORK_BUDGET = 80_000_000
_SPACES = frozenset(BREAKING_SPACE_SYMBOLS)  # fpdf2 measures the line once more at each of these


class _Budget:
    """Layout work left for one document; charged before fpdf2 does the work."""

    def __init__(self, limit: int):
        self.limit = self.left = limit

    def charge(self, work: int) -> None:
        self.left -= work
        if self.left < 0:
            raise DocumentTooComplex(f"laying the PDF out would take more than {self.limit} steps")


def font_path(name: str) -> str:
    return str(resources.files("vault.export").joinpath("fonts", name))


class _PDF(FPDF):
    def __init__(self, doc: Document, break_before: int | None = None, budget: _Budget | None = None):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc = doc
        self.break_before = break_before
        self.budget = budget if budget is not None else _Budget(WORK_BUDGET)
        self.signature_alone = False
        self.set_margins(LEFT, TOP, RIGHT)
        self.set_auto_page_break(True, margin=BOTTOM)
        for (family, style), name in FONT_FILES.items():
            self.add_font(family, style, font_path(name))
        self._supported = set(self.fonts["serif"].cmap) & set(self.fonts["sans"].cmap)
        zero = "".join(re.escape(chr(cp)) for cp in sorted(self._supported)
                       if any(font.cw[cp] == 0 for font in self.fonts.values()))
        self._zero_run = re.compile(f"([{zero}]{{{MAX_ZERO_WIDTH}}})[{zero}]+" if zero else r"(?!)")
        self.body = "serif" if doc.serif_body else "sans"

    def safe(self, text: str) -> str:
        text = clean_text(text)
        text = "".join(ch if ord(ch) in self._supported or ch in "\n\t" else "?" for ch in text)
        return self._zero_run.sub(r"\1", text)

    # -- the work budget ----------------------------------------------------

    def _layout_work(self, text: str, width: float) -> int:
        """fpdf2's width look-ups for ``text`` in a column ``width`` mm wide: each character costs LINEAR
        and the length of its line so far (lines filled greedily, as long as fpdf2's or longer)."""
        cw = self.current_font.cw  # advance per code point, in 1/1000 em
        room = width * self.k * 1000 / self.font_size_pt
        work = CALL + LINEAR * len(text)
        for line in text.split("\n"):
            n = used = 0
            for ch in line:
                advance = cw[ord(ch)]
                used += advance
                if used > room and n:
                    n, used = 0, advance
                n += 1
                work += 2 * n if ch in _SPACES else n
        return work

    def multi_cell(self, w, h=None, text="", *args, **kwargs):
        width = (w or self.w - self.r_margin - self.x) - 2 * self.c_margin
        self.budget.charge(self._layout_work(text, max(width, 1.0)))
        return super().multi_cell(w, h, text, *args, **kwargs)

    def cell(self, w=None, h=None, text="", *args, **kwargs):
        self.budget.charge(CALL + LINEAR * len(text))
        return super().cell(w, h, text, *args, **kwargs)

    def header(self) -> None:
        if self.doc.header_note:
            self.set_font("sans", "", SMALL_PT)
            self.set_text_color(*GREY)
            # Margins may be shifted while a hanging column breaks across pages.
            self.set_xy(LEFT, 10)
            self.cell(self.w - LEFT - RIGHT, 4, self.safe(self.doc.header_note), align="R")
            self.set_text_color(0, 0, 0)
        self.set_y(TOP)

    def footer(self) -> None:
        self.set_xy(LEFT, self.h - 14)
        self.set_draw_color(*RULE)
        self.line(LEFT, self.get_y() - 1.5, self.w - RIGHT, self.get_y() - 1.5)
        self.set_font("sans", "", SMALL_PT)
        self.set_text_color(*GREY)
        width = self.w - LEFT - RIGHT
        page = self.doc.page_label(self.page_no(), "{nb}")
        room = width - self.get_string_width(page.replace("{nb}", "999")) - 6
        text = self.safe(self.doc.footer)
        if self.get_string_width(text) > room:
            while text and self.get_string_width(text + "…") > room:
                text = text[:-1]
            text = text.rstrip() + "…"
        self.cell(room, 4, text, align="L")
        self.cell(width - room, 4, page, align="R")
        self.set_text_color(0, 0, 0)

    # -- blocks -------------------------------------------------------------

    def title_block(self, block: Title) -> None:
        self.ln(2)
        self.set_font("sans", "B", 14)
        self.multi_cell(0, 7, self.safe(block.text), align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if block.subtitle:
            self.ln(1)
            self.set_font("sans", "", 10)
            self.set_text_color(*GREY)
            self.multi_cell(0, 5, self.safe(block.subtitle), align="C",
                            new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.set_text_color(0, 0, 0)
        self.ln(5)

    def heading_block(self, block: Heading) -> None:
        # Keep a heading with at least three lines of what follows it.
        if self.will_page_break(8 + 3 * LINE):
            self.add_page()
        self.ln(4 if block.level == 1 else 2)
        size = 11.5 if block.level == 1 else 10.5
        self.set_font("sans", "B", size)
        self.multi_cell(0, 6, self.safe(block.text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if block.level == 1:
            self.set_draw_color(*RULE)
            self.line(LEFT, self.get_y() + 0.5, self.w - RIGHT, self.get_y() + 0.5)
        self.ln(2)

    def para_block(self, block: Para) -> None:
        if block.small:
            self.set_font("sans", "", SMALL_PT)
            self.set_text_color(*GREY)
        else:
            self.set_font(self.body, "B" if block.bold else "", BODY_PT)
        self.multi_cell(0, LINE if not block.small else 4, self.safe(block.text),
                        align=_ALIGN[block.align], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        self.ln(1.5)

    def _hanging(self, x: float, width: float, text: str, height: float) -> None:
        # A multi_cell whose continuation lines, even across a page break,
        # stay in the column starting at x.
        old = self.l_margin
        self.set_left_margin(x)
        self.set_x(x)
        self.multi_cell(width, height, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_left_margin(old)

    def fields_block(self, block: Fields) -> None:
        value_x = LEFT + LABEL_WIDTH + 3
        value_w = self.w - RIGHT - value_x
        for label, value in block.rows:
            if self.will_page_break(2 * LINE):
                self.add_page()
            top, page = self.get_y(), self.page
            self.set_font("sans", "B", 9)
            self.set_text_color(*GREY)
            self.set_xy(LEFT, top + 0.6)
            self.multi_cell(LABEL_WIDTH, 4.6, self.safe(label), align="L",
                            new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            label_end = self.get_y()
            self.set_text_color(0, 0, 0)
            self.set_font(self.body, "", BODY_PT)
            self.set_y(top)
            self._hanging(value_x, value_w, self.safe(value), LINE)
            end = self.get_y() if self.page != page else max(label_end, self.get_y())
            self.set_y(end + 1)
            self.set_draw_color(*RULE)
            self.line(LEFT, self.get_y(), self.w - RIGHT, self.get_y())
            self.ln(1.2)
        self.ln(1.5)

    def list_block(self, block: ItemList) -> None:
        self.set_font(self.body, "", BODY_PT)
        for n, item in enumerate(block.items, start=1):
            marker = {"roman": f"{roman(n)}.", "decimal": f"{n}.", "bullet": "•"}[block.style]
            self.set_x(LEFT + 4)
            self.cell(8, LINE, marker)
            self._hanging(LEFT + 12, self.w - RIGHT - LEFT - 12, self.safe(item), LINE)
            self.ln(0.8)
        self.ln(1.5)

    def address_block(self, block: AddressBlock) -> None:
        x = LEFT + (self.w - LEFT - RIGHT) * 0.48
        for n, line in enumerate(block.lines):
            self.set_font(self.body, "B" if (n == 0 and block.bold_first) else "", BODY_PT)
            self._hanging(x, self.w - RIGHT - x, self.safe(line), LINE)
        self.ln(6)

    def signature_block(self, block: SignatureBlock) -> None:
        if self.will_page_break(8 + (LINE + 3) * (len(block.labels) + 1)):
            self.add_page()
            self.signature_alone = True
        self.ln(6)
        self.set_font(self.body, "", BODY_PT)
        for label in block.labels:
            self.cell(35, LINE, self.safe(label) + ":")
            if block.values.get(label):
                self.cell(0, LINE, self.safe(block.values[label]))
            else:
                self.set_draw_color(0, 0, 0)
                y = self.get_y() + LINE
                self.line(self.get_x(), y, self.get_x() + 70, y)
            self.ln(LINE + 3)
        if block.name:
            self.multi_cell(0, LINE, self.safe(block.name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def render_pdf(doc: Document, budget: int | None = None) -> bytes:
    """The Document as PDF bytes (A4, embedded DejaVu fonts, page numbers).

    A signature block must not stand alone on the last page, cut off from
    the text it signs: if it would, the last section is moved over with it.
    Raises DocumentTooComplex past ``budget`` width look-ups (both drawings; WORK_BUDGET by default).
    """
    spent = _Budget(WORK_BUDGET if budget is None else budget)
    pdf = _draw(doc, None, spent)
    if pdf.signature_alone:
        headings = [n for n, b in enumerate(doc.blocks) if isinstance(b, Heading) and b.level == 1]
        if headings:
            pdf = _draw(doc, headings[-1], spent)
    return bytes(pdf.output())


def _draw(doc: Document, break_before: int | None, budget: _Budget) -> _PDF:
    pdf = _PDF(doc, break_before, budget)
    pdf.set_title(pdf.safe(doc.title))
    pdf.set_author(pdf.safe(doc.author))
    pdf.set_creator("Evidence vault")
    pdf.set_lang(doc.language)
    pdf.add_page()
    draw = {
        Title: pdf.title_block, Heading: pdf.heading_block, Para: pdf.para_block, Fields: pdf.fields_block,
        ItemList: pdf.list_block, AddressBlock: pdf.address_block, SignatureBlock: pdf.signature_block,
    }
    for n, block in enumerate(doc.blocks):
        if n == break_before:
            pdf.add_page()
        draw[type(block)](block)
    return pdf
