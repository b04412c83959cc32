"""The HTML report as a Word document (python-docx): the same headings, paragraphs, every table and every
chart, tables and figures with numbered captions (Word ``SEQ`` fields, so Word's list of tables and
figures and its cross-references work).

Written from the finished ``report.html`` rather than from the results, so that whatever section an
area adds to the report (its own partial template) is in the DOCX too, cell for cell.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "table", "img", "div", "section", "ol", "ul", "figure", "blockquote"}


def _text(element: Any) -> str:
    return " ".join(element.text_content().split())


def _caption(document: Any, label: str, number: int, text: str) -> None:
    """A caption paragraph ``<label> <n>. <text>``, the number a ``SEQ`` field (begin, instruction,
    separate, the number as last computed, end) that Word renumbers."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    paragraph = document.add_paragraph(style="Caption")
    paragraph.add_run(f"{label} ")

    def field_char(kind: str) -> None:
        char = OxmlElement("w:fldChar")
        char.set(qn("w:fldCharType"), kind)
        paragraph.add_run()._r.append(char)

    field_char("begin")
    instruction = OxmlElement("w:instrText")
    instruction.set(qn("xml:space"), "preserve")
    instruction.text = f" SEQ {label} \\* ARABIC "
    paragraph.add_run()._r.append(instruction)
    field_char("separate")
    paragraph.add_run(str(number))
    field_char("end")
    paragraph.add_run(f". {text}" if text else ".")


def _rows(table: Any) -> list[tuple[bool, list[str]]]:
    """(is a header row, cell texts) for each row of an HTML table (cells spanning columns repeated)."""
    rows = []
    for tr in table.iter("tr"):
        cells = []
        header = True
        for cell in tr:
            if cell.tag not in ("td", "th"):
                continue
            header &= cell.tag == "th"
            span = int(cell.get("colspan", "1") or 1)
            cells.extend([_text(cell)] * max(1, min(span, 50)))
        if cells:
            rows.append((header and tr.getparent().tag == "thead", cells))
    return rows


def html_tables(html: str) -> list[list[list[str]]]:
    """Every table of an HTML page as rows of cell texts (what the DOCX must hold)."""
    import lxml.html

    root = lxml.html.document_fromstring(html)
    return [[cells for _header, cells in _rows(table)] for table in root.iter("table")]


def write_docx(html: str, path: Path) -> dict[str, int]:
    """Write ``html`` (a sibkit report) as a DOCX at ``path``; returns how many tables and figures it has."""
    import lxml.html
    from docx import Document
    from docx.shared import Inches

    root = lxml.html.document_fromstring(html)
    body = root.find("body")
    document = Document()
    counts = {"tables": 0, "figures": 0}
    last_heading = {"text": ""}

    def add_table(table: Any) -> None:
        rows = _rows(table)
        if not rows:
            return
        counts["tables"] += 1
        caption = table.find("caption")
        title = _text(caption) if caption is not None else last_heading["text"]
        _caption(document, "Table", counts["tables"], title)
        width = max(len(cells) for _h, cells in rows)
        # every row made at once (python-docx's add_row re-reads the grid for each; the XML is the same)
        grid = document.add_table(rows=len(rows), cols=width)
        grid.style = "Table Grid"
        for (header, cells), row in zip(rows, grid.rows, strict=True):
            row_cells = row.cells  # python-docx rebuilds the list on every .cells
            for index in range(width):
                cell = row_cells[index]
                cell.text = cells[index] if index < len(cells) else ""
                if header:
                    for run in cell.paragraphs[0].runs:
                        run.bold = True

    def add_image(img: Any) -> None:
        source = img.get("src", "")
        if not source.startswith("data:image/png;base64,"):
            return
        counts["figures"] += 1
        document.add_picture(io.BytesIO(base64.b64decode(source.split(",", 1)[1])), width=Inches(6.3))
        _caption(document, "Figure", counts["figures"], img.get("alt", ""))

    def walk(element: Any) -> None:
        for child in element:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag in ("style", "script", "caption"):
                continue
            if tag == "table":
                add_table(child)
            elif tag == "img":
                add_image(child)
            elif tag in ("h1", "h2", "h3", "h4"):
                text = _text(child)
                last_heading["text"] = text
                document.add_heading(text, level=0 if tag == "h1" else int(tag[1]) - 1)
            elif tag in ("p", "li"):
                if child.find(".//table") is None and child.find(".//img") is None:
                    if text := _text(child):
                        document.add_paragraph(text, style="List Bullet" if tag == "li" else None)
                else:
                    walk(child)
            elif tag in BLOCKS:
                if any(isinstance(c.tag, str) and c.tag in BLOCKS for c in child):
                    walk(child)
                elif text := _text(child):
                    document.add_paragraph(text)
            elif tag and (text := _text(child)):
                document.add_paragraph(text)

    walk(body)
    path.parent.mkdir(parents=True, exist_ok=True)
    properties = document.core_properties
    properties.title = _text(root.find(".//h1")) if root.find(".//h1") is not None else "sibkit report"
    properties.author = properties.last_modified_by = "sibkit"
    properties.created = properties.modified = dt.datetime(2000, 1, 1)
    properties.revision = 1
    buffer = io.BytesIO()
    document.save(buffer)
    path.write_bytes(_reproducible_zip(buffer.getvalue()))
    return counts


def _reproducible_zip(data: bytes) -> bytes:
    """The same bytes for the same content: every member dated 1980-01-01 (the zip epoch), in one order."""
    with zipfile.ZipFile(io.BytesIO(data)) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name, content in members:
            target.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), content,
                            compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()
