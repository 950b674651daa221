"""The report as one self-contained HTML file: inline CSS, the graph as inline SVG, no script, nothing fetched (a
Content-Security-Policy forbids it). Every text is escaped: names come from untrusted events."""

from __future__ import annotations

import html
import re

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

WORD = 24  # a value of one word this short is never broken (long ones, paths and hashes, wrap anywhere)
POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#111827;margin:2rem auto;max-width:1100px;
padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.2rem;border-bottom:1px solid #d1d5db;margin-top:2rem}
h3{font-size:1rem}table{border-collapse:collapse;margin:.5rem 0;width:100%}
th,td{border:1px solid #e5e7eb;padding:.25rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}
th{background:#f3f4f6}pre{background:#f9fafb;border:1px solid #e5e7eb;padding:.5rem;white-space:pre-wrap;
overflow-wrap:anywhere}.missing{color:#92400e;background:#fffbeb;border-left:3px solid #f59e0b;padding:.3rem .6rem}
.graph{overflow:auto;border:1px solid #e5e7eb;padding:.5rem}
.graph svg{width:100%;height:auto}.legend{color:#4b5563;font-size:12px}
th,td:first-child,td[class^=status],td.word{white-space:nowrap}
td.status-missing{color:#b91c1c;font-weight:600}td.status-partial{color:#92400e}td.status-recorded{color:#15803d}
footer{margin-top:2rem;color:#6b7280;font-size:12px}
"""


def esc(value: object) -> str:
    """Untrusted text as HTML: control characters shown as U+FFFD, markup and quotes escaped."""
    return html.escape(printable(value), quote=True)


def render_html(content: ReportContent) -> str:
    """The report's HTML text."""
    body = "".join(_block(block, content) for block in document(content))
    name = esc(title(content))
    footer = (
        f"Made by {esc(content.tool)} {esc(content.tool_version)} at {esc(content.created)} from the store "
        f"{esc(content.store)}."
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">'
        f"<title>{name}</title><style>{STYLE}</style></head>\n<body>\n<h1>{name}</h1>\n{body}\n"
        f"<footer>{footer}</footer>\n</body></html>\n"
    )


def _block(block: Block, content: ReportContent) -> str:
    if block.kind == HEADING:
        return f"<h2>{esc(block.text)}</h2>\n"
    if block.kind == SUBHEADING:
        return f"<h3>{esc(block.text)}</h3>\n"
    if block.kind == PARAGRAPH:
        return f"<p>{esc(block.text)}</p>\n"
    if block.kind == MISSING:
        return f"<p class='missing'>{esc(block.text)}</p>\n"
    if block.kind == CODE:
        return f"<pre>{esc_code(block.text)}</pre>\n"
    if block.kind == GRAPH:
        return _graph(content)
    if block.kind == TABLE:
        return _table(block)
    raise ValueError(f"unknown block {block.kind}")


def _graph(content: ReportContent) -> str:
    """The SVG picture, shrunk to the page's width when wider, never enlarged."""
    svg = render_svg(content.graph)
    size = re.search(r'width="(\d+)"', svg)
    width = f" style='max-width:{int(size[1])}px'" if size else ""
    return f"<div class='graph'><div{width}>{svg}</div></div><p class='legend'>{esc(LEGEND)}</p>\n"


def esc_code(text: str) -> str:
    """Code: each line escaped, line breaks kept."""
    return "\n".join(esc(line.expandtabs(4)) for line in text.splitlines())


def _table(block: Block) -> str:
    if not block.rows:
        return "<p>(none)</p>\n"
    status = block.columns.index("status") if "status" in block.columns else None
    head = "".join(f"<th>{esc(column)}</th>" for column in block.columns)
    rows = []
    for row in block.rows:
        cells = []
        for index, value in enumerate(row):
            if index == status:
                mark = f" class='status-{esc(value.replace(' ', '-'))}'"
            else:
                mark = " class='word'" if len(value) <= WORD and not any(c.isspace() for c in value) else ""
            cells.append(f"<td{mark}>{esc(value)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>\n"
