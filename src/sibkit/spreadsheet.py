"""Spreadsheet outputs that cannot run formulas (CSV and XLSX injection, OWASP's "CSV injection").

Text from documents and from the INDIGO dataset ends up in cells; a cell that starts with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by Excel, LibreOffice and
Google Sheets (``=cmd|' /C calc'!A0``). Every CSV and XLSX sibkit writes goes through here:

- :func:`neutralise` prefixes such text with an apostrophe (the spreadsheet convention for "this
  is text"), and :func:`restore` takes it off again when sibkit reads its own file back;
- :func:`safe_frame` applies it to every text cell of a DataFrame (numbers stay numbers);
- :func:`to_csv` / :func:`write_xlsx` write a DataFrame neutralised; in XLSX the cells are also
  typed as strings, never formulas.
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from typing import Any

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """``value`` with an apostrophe in front when it is text a spreadsheet would take for a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore(value: str) -> str:
    """Undo :func:`neutralise` on a cell read back from a file sibkit wrote."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell neutralised (also column names)."""
    out = frame.copy()
    for column in out.columns:
        if _is_text(out[column]):
            out[column] = out[column].map(neutralise)
    out.columns = [neutralise(c) if isinstance(c, str) else c for c in out.columns]
    return out


def _is_text(column: pd.Series) -> bool:
    return column.dtype == object or pd.api.types.is_string_dtype(column)


def to_csv(frame: pd.DataFrame, target: Any, **options: Any) -> Any:
    """``frame.to_csv(target, index=False, ...)`` with formulas neutralised.

    A cell holding a carriage return is only quoted by Python's csv writer when ``\\r`` is part of
    the line terminator, so such a table is written with RFC 4180's CRLF line ends."""
    options.setdefault("index", False)
    safe = safe_frame(frame)
    text_columns = [c for c in safe.columns if _is_text(safe[c])]
    if any(safe[c].map(lambda v: isinstance(v, str) and "\r" in v).to_numpy(dtype=bool).any() for c in text_columns):
        options.setdefault("lineterminator", "\r\n")
    return safe.to_csv(target, **options)


def cells_as_text(sheet: Any) -> None:
    """In an openpyxl sheet, make every cell openpyxl took for a formula a plain string again."""
    for row in sheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"


def write_xlsx(sheets: dict[str, pd.DataFrame], path: Path) -> None:
    """One workbook, a sheet per frame (names cut to Excel's 31 characters), formulas neutralised."""
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            safe_frame(frame).to_excel(writer, sheet_name=name[:31], index=False)
            cells_as_text(writer.sheets[name[:31]])


def check_workbook(path: Path, max_bytes: int) -> None:
    """Refuse an XLSX a person hands us that is no zip, unpacks to far more than ``max_bytes`` (or one
    part to 200 times its packed size), or declares a DOCTYPE or an entity (one ``SibkitError`` line)."""
    from sibkit.errors import SibkitError

    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            total = sum(i.file_size for i in infos)
            if len(infos) > 10_000 or total > 10 * max_bytes or any(
                    i.file_size > 1024 * 1024 and i.file_size / max(1, i.compress_size) > 200 for i in infos):
                raise SibkitError(f"{path}: the workbook unpacks to {total:,} bytes: refused as a zip bomb")
            for info in infos:
                if info.filename.endswith(".xml") or info.filename.endswith(".rels"):
                    with archive.open(info) as part:
                        head = part.read(2048)
                    if b"<!DOCTYPE" in head.upper() or b"<!ENTITY" in head.upper():
                        raise SibkitError(f"{path}: part {info.filename} declares a DOCTYPE: refused")
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, OSError) as exc:
        text = str(exc).strip()
        raise SibkitError(f"{path}: not a readable .xlsx workbook "
                          f"({(text.splitlines()[0] if text else type(exc).__name__)[:200]})") from None
