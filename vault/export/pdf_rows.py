"""Rows kept whole across pages: the PDF renderer's label/value rows, tables and list items.

A row that does not fit on the page moves whole to the next one (a table's
header drawn again above it); only a row taller than MAX_KEEP, which would
leave that much of a page empty, is continued, at a line boundary, with at
least MIN_LINES lines on each side and its label marked "(continued)".
Text is broken into lines first (fpdf2's own line breaking, dry run), so the
height of a row is known before anything is drawn.

Rows is a mixin of render_pdf._PDF, which supplies the fonts, ``safe``
and the work budget (every line break is charged there).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from fpdf.enums import MethodReturnValue, XPos, YPos

from vault.export.document import Fields, ItemList, Table, roman, word

LEFT, RIGHT, TOP, BOTTOM = 25.0, 20.0, 20.0, 22.0  # mm
LABEL_WIDTH = 52.0
BODY_PT, SMALL_PT = 10.5, 8.5
LINE = 5.2  # mm per body line
BODY = 297.0 - TOP - BOTTOM  # mm of text on an A4 page
# A table row (or list item, or short paragraph) that does not fit moves whole to the next page, unless
# it is taller than this: moving it could leave more than this much of a page empty, so it is continued
# across the break at a line boundary instead (its label marked "(continued)").
MAX_KEEP = 0.45 * BODY
MIN_LINES = 3  # lines of a continued row (or paragraph) kept on each side of a break
SPARSE = 0.25  # a page, not the last, whose content ends within this share of the text area is near-blank
PAD = 1.0  # mm above and below a table cell's text
GREY = (90, 90, 90)
RULE = (200, 200, 200)


@dataclass(frozen=True)
class Cell:
    """One cell of a row: where it stands, its font, and its text already broken into lines."""

    x: float
    w: float
    font: tuple[str, str, float]
    line_h: float
    color: tuple[int, int, int]
    fill: tuple[int, int, int] | None
    dy: float  # drop below the row's top, to line a small label up with the text beside it
    lines: list[str]


class Rows:
    """Drawing rows of cells; see the module's docstring."""

    def room(self) -> float:
        return self.page_break_trigger - self.get_y()

    def wrap(self, text: str, width: float, height: float) -> list[str]:
        """``text`` in the lines fpdf2 prints in a column ``width`` mm wide, in the current font."""
        if not text:
            return []
        return self.multi_cell(width, height, text, align="L", dry_run=True, output=MethodReturnValue.LINES)

    def cell_of(self, x: float, w: float, text: str, font: tuple[str, str, float], line_h: float,
                color: tuple[int, int, int] = (0, 0, 0), fill: tuple[int, int, int] | None = None,
                dy: float = 0.0) -> Cell:
        self.set_font(*font)
        return Cell(x, w, font, line_h, color, fill, dy, self.wrap(text, w, line_h))

    @staticmethod
    def row_height(cells: list[Cell], pad: float = PAD) -> float:
        return max((c.dy + len(c.lines) * c.line_h for c in cells), default=0.0) + 2 * pad

    def keep_height(self, cells: list[Cell], pad: float = PAD) -> float:
        """What of a row must fit for it to start on this page: all of it, or MIN_LINES if it may be continued."""
        height = self.row_height(cells, pad)
        return height if height <= MAX_KEEP else min(height, MIN_LINES * LINE + 2 * pad)

    def new_page(self, heads: Callable[[], None] | None = None) -> None:
        self.add_page()
        if heads:
            heads()

    def draw_cells(self, cells: list[Cell], pad: float = PAD, rule: bool = True) -> None:
        top, height = self.get_y(), self.row_height(cells, pad)
        for c in cells:
            if c.fill:
                self.set_fill_color(*c.fill)
                self.rect(c.x, top, c.w, height, style="F")
        for c in cells:
            if c.lines:
                self.set_font(*c.font)
                self.set_text_color(*c.color)
                self.set_xy(c.x, top + pad + c.dy)
                self.multi_cell(c.w, c.line_h, "\n".join(c.lines), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0, 0, 0)
        self.set_xy(LEFT, top + height)
        self._mark(top + height)
        if rule:
            self.set_draw_color(*RULE)
            self.line(LEFT, top + height, self.w - RIGHT, top + height)

    def draw_row(self, cells: list[Cell], continued: list[str | None], heads: Callable[[], None] | None = None,
                 pad: float = PAD, rule: bool = True) -> None:
        """One row, whole on one page: moved to the next if it does not fit; continued only if it is taller
        than MAX_KEEP, at a line boundary, MIN_LINES at least on each side, the ``continued`` text shown in
        a cell whose own text has ended, ``heads`` (a table's header) drawn again on the new page."""
        if self.row_height(cells, pad) > self.room() + 0.01 and (
                self.row_height(cells, pad) <= MAX_KEEP or self.room() < self.keep_height(cells, pad)):
            self.new_page(heads)
        while self.row_height(cells, pad) > self.room() + 0.01:
            take = []
            for c in cells:
                fit = max(int((self.room() - 2 * pad - c.dy + 0.01) // c.line_h), 0)
                n = min(len(c.lines), fit)
                if 0 < len(c.lines) - n < MIN_LINES:  # no lone line at the top of the next page
                    n = max(len(c.lines) - MIN_LINES, 0)
                take.append(n)
            self.draw_cells([replace(c, lines=c.lines[:n]) for c, n in zip(cells, take, strict=True)], pad, rule)
            self.new_page(heads)
            rest = []
            for c, n, note in zip(cells, take, continued, strict=True):
                lines = c.lines[n:]
                if not lines and note:
                    self.set_font(c.font[0], "", c.font[2])
                    lines = self.wrap(note, c.w, c.line_h)
                rest.append(replace(c, lines=lines, color=GREY if not c.lines[n:] else c.color))
            cells = rest
        self.draw_cells(cells, pad, rule)

    def _break(self, index: int, heads: Callable[[], None] | None = None) -> None:
        if index and self.break_at == (self.block_no, index):
            self.new_page(heads)

    def field_cells(self, label: str, value: str) -> list[Cell]:
        value_x = LEFT + LABEL_WIDTH + 3
        return [self.cell_of(LEFT, LABEL_WIDTH, self.safe(label), ("sans", "B", 9), 4.6, GREY, dy=0.6),
                self.cell_of(value_x, self.w - RIGHT - value_x, self.safe(value), (self.body, "", BODY_PT), LINE)]

    def fields_block(self, block: Fields) -> None:
        for n, (label, value) in enumerate(block.rows):
            self._break(n)
            self.draw_row(self.field_cells(label, value), [f"{self.safe(label)} {word('continued', self.doc.language)}",
                                                           None])
            self.ln(0.6)
        self.ln(1.5)

    def table_cells(self, block: Table, row: list[str], header: bool = False) -> list[Cell]:
        widths = block.widths or [1.0] * len(block.header)
        scale = (self.w - LEFT - RIGHT) / sum(widths)
        cells, x = [], LEFT
        for text, share in zip(row, widths, strict=True):
            font = ("sans", "B", 8.5) if header else (self.body, "", 9.5)
            cells.append(self.cell_of(x, share * scale, self.safe(text), font, 4.2 if header else 4.8,
                                      fill=(242, 242, 242) if header else None))
            x += share * scale
        return cells

    def table_block(self, block: Table) -> None:
        def heads() -> None:
            self.draw_cells(self.table_cells(block, block.header, True))

        first = self.table_cells(block, block.rows[0]) if block.rows else []
        if self.row_height(self.table_cells(block, block.header, True)) + self.keep_height(first) > self.room():
            self.add_page()
        heads()
        for n, row in enumerate(block.rows):
            self._break(n, heads)
            self.draw_row(self.table_cells(block, row), [self.safe(row[0])] + [None] * (len(row) - 1), heads)
        self.ln(3)

    def item_cells(self, block: ItemList, n: int) -> list[Cell]:
        marker = {"roman": f"{roman(n + 1)}.", "decimal": f"{n + 1}.", "bullet": "•"}[block.style]
        font = (self.body, "", BODY_PT)
        return [self.cell_of(LEFT + 4, 8, marker, font, LINE),
                self.cell_of(LEFT + 12, self.w - RIGHT - LEFT - 12, self.safe(block.items[n]), font, LINE)]

    def list_block(self, block: ItemList) -> None:
        for n in range(len(block.items)):
            self._break(n)
            self.draw_row(self.item_cells(block, n), [None, None], pad=0.4, rule=False)
        self.ln(1.5)

