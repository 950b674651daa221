"""The report as PDF, drawn with fpdf2 (pure Python: ``pip install`` is all it needs) from the same blocks as the
HTML report; the graph is the same SVG picture, which fpdf2 draws as vector paths.

The PDF's standard fonts hold Latin-1 only: other characters are shown as ``?`` (the HTML and JSON reports keep
them)."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

from nblineage.governance.report import ReportContent
from nblineage.governance.report_doc import (
    CODE,
    GRAPH,
    HEADING,
    MISSING,
    PARAGRAPH,
    SUBHEADING,
    TABLE,
    Block,
    document,
    title,
)
from nblineage.governance.text import printable
from nblineage.widgets.static_svg import LEGEND, render_svg

FONT, MONO = "Helvetica", "Courier"
FOOTER_CHARS = 100  # of the title repeated at the foot of each page
PX = 0.2646  # millimetres per CSS pixel
BREAK_EVERY = 16  # a column is at least this many characters wide; fpdf2 breaks longer words where they end
WIDEST_COLUMN = 80.0  # mm
GRAPH_ROOM = 120.0  # mm of the page the graph may take at least; less left, and it starts a new page


_PLAIN = str.maketrans(
    {
        "\N{HORIZONTAL ELLIPSIS}": "...",
        "\N{REPLACEMENT CHARACTER}": "?",
        "\N{EM DASH}": "-",
        "\N{EN DASH}": "-",
        "\N{LEFT SINGLE QUOTATION MARK}": "'",
        "\N{RIGHT SINGLE QUOTATION MARK}": "'",
        "\N{LEFT DOUBLE QUOTATION MARK}": '"',
        "\N{RIGHT DOUBLE QUOTATION MARK}": '"',
        "\N{SOFT HYPHEN}": "-",
    }
)


def latin(value: object) -> str:
    """Text the standard fonts can draw: control characters as ``?``, an ellipsis as ``...``, dashes and quotes as
    ASCII, the rest of Unicode outside Latin-1 as ``?``."""
    text = printable(value).translate(_PLAIN)
    return text.encode("latin-1", "replace").decode("latin-1")


def render_pdf(content: ReportContent) -> bytes:
    """The report's PDF bytes."""
    from fpdf import FPDF

    class Pdf(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FONT, size=8)
            self.set_text_color(107, 114, 128)
            shown = latin(title(content))
            shown = shown if len(shown) <= FOOTER_CHARS else shown[: FOOTER_CHARS - 3] + "..."
            self.cell(0, 5, f"{shown} - page {self.page_no()}", align="C")

    pdf = Pdf(orientation="portrait", unit="mm", format="A4")
    pdf.set_title(latin(title(content)))
    pdf.set_creator(latin(f"{content.tool} {content.tool_version}"))
    pdf.set_auto_page_break(True, margin=16)
    pdf.set_margins(14, 14, 14)
    pdf.add_page()
    pdf.set_font(FONT, "B", 18)
    pdf.multi_cell(0, 9, latin(title(content)), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    blocks = document(content)
    for block, after in zip(blocks, [*blocks[1:], None], strict=True):
        if block.kind == HEADING and after is not None and after.kind == GRAPH and pdf.get_y() > pdf.h - GRAPH_ROOM:
            pdf.add_page()  # the graph's heading goes with it
        _block(pdf, block, content)
    pdf.ln(4)
    _text(
        pdf,
        f"Made by {content.tool} {content.tool_version} at {content.created} from the store {content.store}.",
        size=8,
        colour=(107, 114, 128),
    )
    return bytes(pdf.output())


def _block(pdf, block: Block, content: ReportContent) -> None:
    if block.kind == HEADING:
        if pdf.get_y() > pdf.h - 50:
            pdf.add_page()
        pdf.ln(3)
        pdf.set_font(FONT, "B", 13)
        pdf.set_text_color(17, 24, 39)
        pdf.multi_cell(0, 7, latin(block.text), align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(209, 213, 219)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
        pdf.ln(1.5)
    elif block.kind == SUBHEADING:
        pdf.set_font(FONT, "B", 10.5)
        pdf.multi_cell(0, 6, latin(block.text), align="L", new_x="LMARGIN", new_y="NEXT")
    elif block.kind == PARAGRAPH:
        _text(pdf, block.text)
    elif block.kind == MISSING:
        _text(pdf, block.text, colour=(146, 64, 14), fill=(255, 251, 235))
    elif block.kind == CODE:
        pdf.set_font(MONO, size=7.5)
        pdf.set_fill_color(249, 250, 251)
        code = "\n".join(latin(line.expandtabs(4)) for line in block.text.splitlines())
        pdf.multi_cell(0, 3.6, code, fill=True, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)
    elif block.kind == GRAPH:
        _graph(pdf, content)
    elif block.kind == TABLE:
        _table(pdf, block)
    else:
        raise ValueError(f"unknown block {block.kind}")


def _text(pdf, text: str, size: float = 9.5, colour=(17, 24, 39), fill=None) -> None:
    pdf.set_font(FONT, size=size)
    pdf.set_text_color(*colour)
    if fill:
        pdf.set_fill_color(*fill)
    pdf.multi_cell(0, size * 0.5, latin(text), fill=bool(fill), align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(17, 24, 39)
    pdf.set_fill_color(255, 255, 255)
    pdf.ln(1)


def _graph(pdf, content: ReportContent) -> None:
    """The graph's SVG picture, as wide as the page allows (at most its natural size), on one page."""
    svg = with_arrowheads(latin(render_svg(content.graph)))
    size = re.search(r'width="([\d.]+)" height="([\d.]+)"', svg)
    width, height = (float(size[1]), float(size[2])) if size else (800.0, 200.0)
    shown = min(pdf.epw, width * PX)
    tall = shown * height / width
    room = pdf.h - pdf.b_margin - pdf.get_y() - 10  # what is left of this page, with the legend
    if tall > room:  # a tall graph: shrunk to fit the page
        shown, tall = shown * room / tall, room
    with _quiet_svg():  # fpdf2 logs a warning per <title> and <marker> it skips: the tooltips and arrow heads
        pdf.image(io.BytesIO(svg.encode("latin-1")), x=pdf.l_margin, y=pdf.get_y(), w=shown, h=tall)
    pdf.set_y(pdf.get_y() + tall + 2)
    _text(pdf, LEGEND, size=7.5, colour=(75, 85, 99))


@contextmanager
def _quiet_svg() -> Iterator[None]:
    svg_log = logging.getLogger("fpdf.svg")
    level = svg_log.level
    svg_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        svg_log.setLevel(level)


_EDGE_END = re.compile(r'(<path class="edge[^"]*" d="[^"]* (-?[\d.]+),(-?[\d.]+)"[^>]*>.*?</path>)')


def with_arrowheads(svg: str) -> str:
    """The picture with each edge's arrowhead drawn as a triangle (fpdf2 does not draw SVG markers)."""

    def add(match: re.Match[str]) -> str:
        x, y = float(match[2]), float(match[3])
        head = f'<path d="M{x - 7:.1f},{y - 3.5:.1f}L{x:.1f},{y:.1f}L{x - 7:.1f},{y + 3.5:.1f}z" fill="#4b5563"/>'
        return match[1] + head

    return _EDGE_END.sub(add, svg)


def _table(pdf, block: Block) -> None:
    if not block.rows:
        _text(pdf, "(none)")
        return
    pdf.set_font(FONT, size=7.5)
    pdf.set_text_color(17, 24, 39)
    widths = _widths(pdf, block)
    with pdf.table(
        col_widths=widths,
        text_align="LEFT",
        line_height=3.6,
        padding=1,
        first_row_as_headings=True,
        headings_style=_headings(),
        borders_layout="SINGLE_TOP_LINE",
    ) as table:
        for row in (block.columns, *block.rows):
            cells = table.row()
            for value in row:
                cells.cell(latin(value))
    pdf.ln(2)


def _headings():
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(243, 244, 246))


def _widths(pdf, block: Block) -> tuple[float, ...]:
    """Column widths in mm: each at least its widest word, the rest of the page shared after the text they hold."""
    pad = 2.5
    natural, least = [], []
    for i, column in enumerate(block.columns):
        texts = [latin(column), *(latin(row[i]) for row in block.rows)]
        natural.append(min(max(pdf.get_string_width(t) for t in texts) + pad, WIDEST_COLUMN))
        words = [w for t in texts for w in t.split()] or [""]
        least.append(min(max(pdf.get_string_width(w[: BREAK_EVERY + 1]) for w in words) + pad, WIDEST_COLUMN))
    room = pdf.epw
    if sum(natural) <= room:
        return tuple(width * room / sum(natural) for width in natural)
    spare = max(room - sum(least), 0.0)
    extra = [n - m for n, m in zip(natural, least, strict=True)]
    share = sum(extra) or 1.0
    return tuple(m + spare * e / share for m, e in zip(least, extra, strict=True))
