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
    Table,
    Title,
    clean_text,
)
from vault.export.pdf_rows import (
    BODY,
    BODY_PT,
    BOTTOM,
    GREY,
    LEFT,
    LINE,
    MIN_LINES,
    RIGHT,
    RULE,
    SMALL_PT,
    SPARSE,
    TOP,
    Rows,
)

FONT_FILES = {
    ("serif", ""): "DejaVuSerif.ttf",
    ("serif", "B"): "DejaVuSerif-Bold.ttf",
    ("sans", ""): "DejaVuSans.ttf",
    ("sans", "B"): "DejaVuSans-Bold.ttf",
}
_ALIGN = {"left": "L", "right": "R", "center": "C", "justify": "J"}

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


def _prefix(text: str, lines: list[str]) -> int | None:
    """Where in ``text`` the printed ``lines`` end (fpdf2 drops the space or newline it breaks at)."""
    pos = 0
    for line in lines:
        found = text.find(line, pos)
        if found < 0:
            return None
        pos = found + len(line)
    return pos


def font_path(name: str) -> str:
    return str(resources.files("vault.export").joinpath("fonts", name))


class _PDF(Rows, FPDF):
    def __init__(self, doc: Document, break_at: tuple[int, int] | None = None, budget: _Budget | None = None):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc = doc
        self.break_at = break_at  # (block, row or item): start a page there (see render_pdf)
        self.budget = budget if budget is not None else _Budget(WORK_BUDGET)
        self.signature_alone = False
        self.text_page = 0  # the last page that received text of the document (small notes aside)
        self.block_no = 0
        self.bottoms: dict[int, float] = {}  # page -> lowest y its content reaches
        self._frame = False  # drawing the header or footer, not content
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
        result = super().multi_cell(w, h, text, *args, **kwargs)
        if not kwargs.get("dry_run"):
            self._mark(self.get_y())
        return result

    def cell(self, w=None, h=None, text="", *args, **kwargs):
        self.budget.charge(CALL + LINEAR * len(text))
        result = super().cell(w, h, text, *args, **kwargs)
        self._mark(self.get_y() + (h or 0))
        return result

    def _mark(self, y: float) -> None:
        if not self._frame:
            self.bottoms[self.page] = max(self.bottoms.get(self.page, TOP), y)

    def sparse_pages(self) -> list[int]:
        """Pages, the last one excepted, whose content ends in the top SPARSE share of the text area."""
        return [page for page in range(1, self.page) if self.bottoms.get(page, TOP) - TOP < SPARSE * BODY]

    def header(self) -> None:
        self._frame = True
        if self.doc.header_note:
            self.set_font("sans", "", SMALL_PT)
            self.set_text_color(*GREY)
            # Margins may be shifted while a hanging column breaks across pages.
            self.set_xy(LEFT, 10)
            self.cell(self.w - LEFT - RIGHT, 4, self.safe(self.doc.header_note), align="R")
            self.set_text_color(0, 0, 0)
        self.set_y(TOP)
        self._frame = False

    def footer(self) -> None:
        self._frame = True
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
        self._frame = False

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


    def lead(self, n: int) -> float:
        """The height the start of block ``n`` needs on a page: a heading before it keeps this much with it."""
        if n >= len(self.doc.blocks):
            return 0.0
        block = self.doc.blocks[n]
        if isinstance(block, Heading):
            return 10.0 + self.lead(n + 1) if block.level == 2 else 0.0
        if isinstance(block, Fields) and block.rows:
            return self.keep_height(self.field_cells(*block.rows[0]))
        if isinstance(block, Table) and block.rows:
            return self.row_height(self.table_cells(block, block.header, True)) + self.keep_height(
                self.table_cells(block, block.rows[0]))
        if isinstance(block, ItemList) and block.items:
            return self.keep_height(self.item_cells(block, 0), 0.4)
        if isinstance(block, Para):
            lines, height = self.para_lines(block)
            return height * (len(lines) if len(lines) <= MIN_LINES + 1 else MIN_LINES)
        return 3 * LINE

    def heading_block(self, block: Heading) -> None:
        size = 11.5 if block.level == 1 else 10.5
        self.set_font("sans", "B", size)
        text = self.safe(block.text)
        own = (4 if block.level == 1 else 2) + 6 * len(self.wrap(text, self.w - LEFT - RIGHT, 6)) + 3
        # Keep a heading with what follows it: the first row, item or lines that would move with it.
        if own + self.lead(self.block_no + 1) > self.room() and self.get_y() > TOP + 1:
            self.add_page()
        self.ln(4 if block.level == 1 else 2)
        self.set_font("sans", "B", size)
        self.multi_cell(0, 6, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if block.level == 1:
            self.set_draw_color(*RULE)
            self.line(LEFT, self.get_y() + 0.5, self.w - RIGHT, self.get_y() + 0.5)
        self.ln(2)

    def _para_style(self, block: Para) -> float:
        if block.small:
            self.set_font("sans", "", SMALL_PT)
            self.set_text_color(*GREY)
            return 4.0
        self.set_font(self.body, "B" if block.bold else "", BODY_PT)
        return LINE

    def para_lines(self, block: Para) -> tuple[list[str], float]:
        height = self._para_style(block)
        self.set_text_color(0, 0, 0)
        return self.wrap(self.safe(block.text), self.w - LEFT - RIGHT, height), height

    def para_block(self, block: Para) -> None:
        """A paragraph; a short one (up to MIN_LINES + 1 lines) is kept whole, a longer one leaves at least
        two lines at the foot of a page and MIN_LINES - 1 at the top of the next."""
        text = self.safe(block.text)
        lines, height = self.para_lines(block)
        fits = int((self.room() + 0.01) // height)
        first = None
        if len(lines) > fits:
            if len(lines) <= MIN_LINES + 1 or fits < 2:
                self.add_page()
            elif len(lines) - fits < MIN_LINES - 1:
                first = _prefix(text, lines[:len(lines) - MIN_LINES + 1])
        self._para_style(block)
        kw = {"align": _ALIGN[block.align], "new_x": XPos.LMARGIN, "new_y": YPos.NEXT}
        if first is not None:
            self.multi_cell(0, height, text[:first], **kw)
            self.add_page()
            self._para_style(block)
            text = text[first:].lstrip(" ").removeprefix("\n")
        self.multi_cell(0, height, text, **kw)
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


    def address_block(self, block: AddressBlock) -> None:
        x = LEFT + (self.w - LEFT - RIGHT) * 0.48
        for n, line in enumerate(block.lines):
            self.set_font(self.body, "B" if (n == 0 and block.bold_first) else "", BODY_PT)
            self._hanging(x, self.w - RIGHT - x, self.safe(line), LINE)
        self.ln(6)

    def signature_block(self, block: SignatureBlock) -> None:
        if self.will_page_break(8 + (LINE + 3) * (len(block.labels) + 1)):
            self.add_page()
        # Alone: on a page with nothing of what it signs but small notes (the form's closing line).
        self.signature_alone = self.text_page != self.page
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


def _break_points(doc: Document) -> list[tuple[int, int]]:
    """Where a page may be started so that the signature keeps company, best first: before the last
    numbered section, before the last row or item of the block the signature follows, or before that block."""
    blocks = doc.blocks
    signatures = [n for n, b in enumerate(blocks) if isinstance(b, SignatureBlock)]
    if not signatures or signatures[-1] == 0:
        return []
    sign = signatures[-1]
    last = blocks[sign - 1]
    points = [(n, 0) for n in range(sign - 1, -1, -1) if isinstance(blocks[n], Heading) and blocks[n].level == 1][:1]
    size = len(last.items) if isinstance(last, ItemList) else len(last.rows) if isinstance(last, Fields | Table) else 0
    if size >= 2:
        points.append((sign - 1, size - 1))
    if sign >= 2 and not isinstance(blocks[sign - 2], Heading) and not isinstance(last, Heading):
        points.append((sign - 1, 0))
    return points


def _faults(pdf: _PDF) -> tuple[int, int, int]:
    return int(pdf.signature_alone), len(pdf.sparse_pages()), pdf.page


def render_pdf(doc: Document, budget: int | None = None) -> bytes:
    """The Document as PDF bytes (A4, embedded DejaVu fonts, page numbers).

    A signature block must not stand alone on the last page, cut off from
    the text it signs, and no page but the last may be near-blank (its
    content ending in the top SPARSE of the page). If the first drawing
    breaks either rule, the page breaks of _break_points are tried (while
    the budget left allows another drawing as costly as the first) and the
    drawing with the fewest faults kept.
    Raises DocumentTooComplex past ``budget`` width look-ups (WORK_BUDGET by default).
    """
    spent = _Budget(WORK_BUDGET if budget is None else budget)
    best = _draw(doc, None, spent)
    cost = spent.limit - spent.left
    if _faults(best)[:2] != (0, 0):
        for point in _break_points(doc):
            if spent.left < cost:
                break
            candidate = _draw(doc, point, spent)
            if _faults(candidate) < _faults(best):
                best = candidate
            if _faults(best)[:2] == (0, 0):
                break
    return bytes(best.output())


def _draw(doc: Document, break_at: tuple[int, int] | None, budget: _Budget) -> _PDF:
    pdf = _PDF(doc, break_at, budget)
    pdf.set_title(pdf.safe(doc.title))
    pdf.set_author(pdf.safe(doc.author))
    pdf.set_creator("Evidence vault")
    pdf.set_lang(doc.language)
    pdf.add_page()
    draw = {
        Title: pdf.title_block, Heading: pdf.heading_block, Para: pdf.para_block, Fields: pdf.fields_block,
        Table: pdf.table_block, ItemList: pdf.list_block, AddressBlock: pdf.address_block,
        SignatureBlock: pdf.signature_block,
    }
    for n, block in enumerate(doc.blocks):
        pdf.block_no = n
        if break_at == (n, 0) and pdf.get_y() > TOP + 1:
            pdf.add_page()
        draw[type(block)](block)
        if not isinstance(block, SignatureBlock) and not (isinstance(block, Para) and block.small):
            pdf.text_page = pdf.page
    return pdf
