"""The INDIGO dataset as typed pandas tables, from a CSV export folder, a zip or the JSON API.

Every source is first turned into *raw tables* (one DataFrame of untyped values per table,
with our column names and a note of where each row came from); one function then types
them. So all sources give identical tables, and every bad value is reported the same way.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sibkit.errors import DataSourceError
from sibkit.indigo._fields import TABLES
from sibkit.indigo.values import parse_country, parse_number, parse_partial_date

#: the three kinds of record INDIGO publishes, and their main table
MODEL_TABLES = {"project": "projects", "organisation": "organisations", "fund": "funds"}

#: uncompressed size limit for a zipped export (GO Lab's is ~2.5 MB)
MAX_ZIP_BYTES = 512 * 1024 * 1024

LOCATOR = "__where__"  # raw-table column naming each row's origin, dropped when typed

#: what INDIGO's ids look like (``INDIGO-POJ-0001``, ``INDIGO-ORG-0001``, ``INDIGO-FUND-0001``), by model
ID_PATTERNS = {"project": re.compile(r"INDIGO-POJ-\d+"), "organisation": re.compile(r"INDIGO-ORG-\d+"),
               "fund": re.compile(r"INDIGO-FUND-\d+")}


@dataclass(frozen=True)
class LoadIssue:
    """A problem found while loading: where (file, row, column) and what."""

    where: str
    row: int | None
    column: str | None
    message: str
    refused: bool = False  # the row was left out (its id is no INDIGO id), not just a value

    def __str__(self) -> str:
        parts = [self.where]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts) + f": {self.message}"


@dataclass
class Dataset:
    """One pandas DataFrame per INDIGO table, plus what went wrong while loading.

    Tables are reached as ``ds["outcome_metrics"]`` or ``ds.outcome_metrics``; project
    sub-tables carry ``project_id``, organisation and fund sub-tables ``organisation_id`` and
    ``fund_id``. Numbers are floats, dates partial-date strings (``YYYY[-MM[-DD]]``).
    """

    tables: dict[str, pd.DataFrame]
    source: str
    issues: list[LoadIssue] = field(default_factory=list)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __getitem__(self, name: str) -> pd.DataFrame:
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(f"no INDIGO table {name!r}; tables: {', '.join(self.tables)}") from None

    def __getattr__(self, name: str) -> pd.DataFrame:
        tables = self.__dict__.get("tables", {})
        if name in tables:
            return tables[name]
        raise AttributeError(name)

    def rows_for(self, table: str, project_id: str) -> pd.DataFrame:
        """The rows of a project sub-table that belong to one project."""
        frame = self[table]
        groups = self.cached(f"rows_for:{table}", lambda: frame.groupby("project_id", sort=False).indices)
        positions = groups.get(project_id)
        return frame.iloc[positions] if positions is not None else frame.iloc[0:0]

    def cached(self, key: str, build: Callable[[], Any]) -> Any:
        """Memoise a value derived from this (immutable) dataset."""
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]


def columns_of(table: str) -> list[tuple[str, str, str, str]]:
    """(name, CSV title, JSON path, kind) for each column of a table."""
    return [tuple(c) for c in TABLES[table]["columns"]]  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# typing raw tables


_PARSERS: dict[str, Callable[[object], object]] = {
    "number": parse_number,
    "date": parse_partial_date,
    "country": parse_country,
}


def _as_text(raw: pd.Series) -> pd.Series:
    """Raw values as text, with empty and blank cells missing (the original text is kept)."""
    text = raw.astype("string")
    return text.mask(text.str.strip() == "")


#: columns holding what a project, organisation or fund is called (white space at either end is dropped)
NAMES = ("name",)


def _type_column(raw: pd.Series, kind: str, where: pd.Series, column_title: str,
                 issues: list[LoadIssue]) -> pd.Series:
    text = _as_text(raw)
    if kind == "string":
        return text
    if kind == "number":
        numbers = pd.to_numeric(text.str.strip(), errors="coerce").astype("float64")
        suspects = text.notna() & (numbers.isna() | numbers.abs().eq(float("inf")))
    else:
        numbers = None
        suspects = text.notna()
    if not suspects.any():
        return numbers if numbers is not None else text
    parse = _PARSERS[kind]
    out = numbers.astype(object) if numbers is not None else pd.Series(None, index=raw.index, dtype=object)
    for index in suspects[suspects].index:
        try:
            out[index] = parse(text[index])
        except ValueError as exc:
            origin, row = where[index]
            issues.append(LoadIssue(origin, row, column_title, str(exc)))
            out[index] = None
    if kind == "number":
        return pd.Series([float("nan") if v is None else v for v in out], index=raw.index, dtype="float64")
    return pd.Series(out, index=raw.index, dtype="string")


def type_tables(raw_tables: Mapping[str, pd.DataFrame], issues: list[LoadIssue]) -> dict[str, pd.DataFrame]:
    """Type every raw table by its column kinds; order rows by parent id (stable)."""
    typed: dict[str, pd.DataFrame] = {}
    for table, spec in TABLES.items():
        raw = raw_tables.get(table)
        columns = columns_of(table)
        if raw is None:
            raw = pd.DataFrame({name: pd.Series(dtype=object) for name, *_ in columns})
            raw[LOCATOR] = pd.Series(dtype=object)
        raw = raw.reset_index(drop=True)
        where = raw[LOCATOR]
        frame = pd.DataFrame(index=raw.index)
        for name, title, _path, kind in columns:
            frame[name] = _type_column(raw[name], kind, where, title, issues)
            if name in NAMES:  # "Project Apollo " (2025-05-20): a name is shown and linked without the spaces
                frame[name] = frame[name].str.strip()
        key = spec["parent"] or "id"
        frame = frame.sort_values(key, kind="stable", na_position="last").reset_index(drop=True)
        typed[table] = frame
    return typed


# ---------------------------------------------------------------------------------------------
# the CSV export (folder or zip)


def _read_csv(text: str, file_name: str, table: str, issues: list[LoadIssue]) -> pd.DataFrame:
    """Raw table from one CSV file's text: columns renamed by title, problems reported."""
    columns = columns_of(table)
    csv.field_size_limit(max(csv.field_size_limit(), 16 * 1024 * 1024))  # long narrative fields
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        issues.append(LoadIssue(file_name, None, None, f"not readable as CSV ({exc}); table left empty"))
        rows = []
    if not rows:
        issues.append(LoadIssue(file_name, None, None, "file is empty (no header row); table left empty"))
        rows = [[]]
    header, body = rows[0], rows[1:]
    by_title = {title: name for name, title, *_ in columns}
    positions: dict[str, int] = {}
    for index, title in enumerate(header):
        name = by_title.get(title.strip())
        if name is None:
            issues.append(LoadIssue(file_name, 1, title, "unknown column, ignored"))
        elif name not in positions:
            positions[name] = index
    for name, title, *_ in columns:
        if name not in positions and header:
            issues.append(LoadIssue(file_name, 1, title, "column missing; values left empty"))
    width = len(header)
    key = TABLES[table]["parent"] or "id"
    key_position, key_title = positions.get(key), next(title for name, title, *_ in columns if name == key)
    model = TABLES[table]["model"]
    if key_position is None and header:
        rows_held = sum(1 for row in body if "".join(row).strip())
        linked = f"linked to its {model}" if TABLES[table]["parent"] else "told apart"
        issues.append(LoadIssue(file_name, 1, key_title, f"the key column is missing, so no row can be {linked}; "
                                f"table left empty ({rows_held:,} rows not read)"))
        body = []
    kept: list[list[str]] = []
    where: list[tuple[str, int]] = []
    for line_number, row in enumerate(body, start=2):
        if not "".join(row).strip():
            continue
        if key_position is not None:
            value = row[key_position].strip() if key_position < len(row) else ""
            if not ID_PATTERNS[model].fullmatch(value):
                issues.append(LoadIssue(file_name, line_number, key_title, _refused(value, model), refused=True))
                continue
        if len(row) != width:
            issues.append(LoadIssue(file_name, line_number, None,
                                    f"has {len(row)} fields, header has {width}; row kept, cells matched by position"))
            row = (row + [""] * width)[:width]
        kept.append(row)
        where.append((file_name, line_number))
    cells = pd.DataFrame(kept, columns=range(width), dtype=object) if kept else pd.DataFrame(columns=range(width))
    frame = pd.DataFrame({name: cells[positions[name]] if name in positions else pd.Series(None, index=cells.index,
                                                                                             dtype=object)
                          for name, *_ in columns}, index=cells.index, dtype=object)
    frame[LOCATOR] = pd.Series(where, index=cells.index, dtype=object)
    return frame


def _refused(value: str, model: str) -> str:
    """Why a CSV row whose id column holds ``value`` is refused (a row of a cell split by a broken quote)."""
    shown = repr(value[:60]) if value else "no id"
    prefix = ID_PATTERNS[model].pattern.removesuffix("\\d+")
    return (f"{shown} is not an INDIGO {model} id ({prefix} and digits); row refused, not counted "
            "(a broken quote earlier in the file can split one cell into rows)")


_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
         (b"\xfe\xff", "utf-16"))


def _decode(data: bytes, file_name: str, issues: list[LoadIssue]) -> str:
    for bom, encoding in _BOMS:  # UTF-16 or -32 with its byte order mark (Excel's "Unicode text")
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                break
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        issues.append(LoadIssue(file_name, None, None,
                                f"not UTF-8 (byte {exc.start}); read as Windows-1252, check accented text"))
        return data.decode("cp1252", errors="replace")


def _raw_from_files(read: Callable[[str], bytes | None], origin: str,
                    issues: list[LoadIssue]) -> dict[str, pd.DataFrame]:
    raw: dict[str, pd.DataFrame] = {}
    found = 0
    for table, spec in TABLES.items():
        data = read(spec["file"])
        if data is None:
            issues.append(LoadIssue(spec["file"], None, None, "file missing from the export; table left empty"))
            continue
        found += 1
        raw[table] = _read_csv(_decode(data, spec["file"], issues), spec["file"], table, issues)
    if "projects" not in raw:
        damaged = next((i for i in issues if i.where == "projects.csv" and i.message.startswith("damaged")), None)
        if damaged is not None:
            raise DataSourceError(f"{origin}: projects.csv is {damaged.message.removesuffix('; table left empty')}; "
                                  "download the export again")
        raise DataSourceError(f"{origin}: no projects.csv found; expected GO Lab's 'all data per data type' "
                              "CSV export (a folder or .zip)")
    return raw


def export_folder(folder: Path) -> Path:
    """The folder holding the CSV export: ``folder``, or its one sub-folder holding ``projects.csv``."""
    if not (folder / "projects.csv").exists():
        inner = [p.parent for p in folder.glob("*/projects.csv")]
        if len(inner) == 1:
            return inner[0]
    return folder


def export_files(folder: Path) -> dict[str, bytes | None]:
    """Each file the loader reads from an export folder (None when missing), by name."""
    files: dict[str, bytes | None] = {}
    for spec in TABLES.values():
        path = folder / spec["file"]
        files[spec["file"]] = path.read_bytes() if path.is_file() else None
    return files


def raw_from_folder(folder: Path, issues: list[LoadIssue],
                    files: dict[str, bytes | None] | None = None) -> dict[str, pd.DataFrame]:
    """Raw tables from a folder holding the CSV export (possibly one level down); ``files``, when given,
    are its files already read (``export_files``)."""
    folder = export_folder(folder)
    if files is None:
        files = export_files(folder)
    return _raw_from_files(files.get, str(folder), issues)


def _export_zip(path: Path) -> tuple[zipfile.ZipFile, dict[str, zipfile.ZipInfo]]:
    """A zipped export opened, with its files by name; refused when it is no zip or unpacks too large."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataSourceError(f"{path}: not a readable zip file ({exc})") from None
    members = {Path(info.filename).name: info for info in archive.infolist() if not info.is_dir()}
    total = sum(info.file_size for info in members.values())
    if total > MAX_ZIP_BYTES:
        archive.close()
        raise DataSourceError(f"{path}: unpacks to {total} bytes, over the {MAX_ZIP_BYTES} byte limit")
    return archive, members


def zip_files(path: Path) -> dict[str, bytes | None]:
    """Each file the loader reads from a zipped export (None when missing or unreadable), by name."""
    files: dict[str, bytes | None] = {}
    archive, members = _export_zip(path)
    with archive:
        for spec in TABLES.values():
            info = members.get(spec["file"])
            try:
                files[spec["file"]] = archive.read(info) if info is not None else None
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError):
                files[spec["file"]] = None  # loading the zip reports it
    return files


def raw_from_zip(path: Path, issues: list[LoadIssue]) -> dict[str, pd.DataFrame]:
    """Raw tables from a zipped CSV export; refuses archives that unpack too large."""
    archive, members = _export_zip(path)
    with archive:

        def read(name: str) -> bytes | None:
            info = members.get(name)
            if info is None:
                return None
            try:
                return archive.read(info)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError) as exc:
                issues.append(LoadIssue(name, None, None, f"damaged in the zip ({type(exc).__name__}: {exc}); "
                                                          "table left empty"))
                return None

        return _raw_from_files(read, str(path), issues)


# ---------------------------------------------------------------------------------------------
# JSON records (as the API serves them)


def _get_path(record: Mapping[str, Any], path: str) -> object:
    node: object = record
    for part in path.strip("/").split("/"):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def raw_from_records(records: Mapping[str, Iterable[tuple[str, Mapping[str, Any]]]],
                     issues: list[LoadIssue]) -> dict[str, pd.DataFrame]:
    """Raw tables from JSON records: ``{"project": [(id, data), ...], "organisation": ..., ...}``.

    ``data`` is shaped by INDIGO's schema (``{"name": {"value": ...}, "outcome_metrics": [...]}``).
    """
    rows: dict[str, dict[str, list[object]]] = {t: {c[0]: [] for c in columns_of(t)} for t in TABLES}
    where: dict[str, list[tuple[str, int]]] = {t: [] for t in TABLES}
    for model, main_table in MODEL_TABLES.items():
        subtables = [t for t, s in TABLES.items() if s["model"] == model and s["parent"]]
        for record_id, data in records.get(model, []):
            origin = f"{model} {record_id}"
            if not isinstance(data, Mapping):
                issues.append(LoadIssue(origin, None, None, "record is not a JSON object; skipped"))
                continue
            for name, _title, path, _kind in columns_of(main_table):
                rows[main_table][name].append(record_id if path == "/id" else _get_path(data, path))
            where[main_table].append((origin, 1))
            for table in subtables:
                items = _get_path(data, TABLES[table]["path"])
                if items is None:
                    continue
                if not isinstance(items, list):
                    issues.append(LoadIssue(origin, None, TABLES[table]["path"], "is not a list; ignored"))
                    continue
                for index, item in enumerate(items, start=1):
                    if not isinstance(item, Mapping):
                        issues.append(LoadIssue(origin, index, TABLES[table]["path"], "item is not an object; skipped"))
                        continue
                    for name, _title, path, _kind in columns_of(table):
                        rows[table][name].append(record_id if path == "(parent)" else _get_path(item, path))
                    where[table].append((f"{origin} {TABLES[table]['path']}", index))
    raw: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        frame = pd.DataFrame(rows[table], dtype=object)
        frame[LOCATOR] = pd.Series(where[table], dtype=object)
        raw[table] = frame
    return raw


def to_records(dataset: Dataset) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The dataset as JSON records in the API's shape (the inverse of ``raw_from_records``)."""
    out: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for model, main_table in MODEL_TABLES.items():
        records: dict[str, dict[str, Any]] = {}
        for row in dataset[main_table].to_dict("records"):
            data: dict[str, Any] = {}
            for name, _title, path, _kind in columns_of(main_table):
                if path != "/id":
                    _set_path(data, path, _json_value(row[name]))
            records[row["id"]] = data
        for table, spec in TABLES.items():
            if spec["model"] != model or not spec["parent"]:
                continue
            for row in dataset[table].to_dict("records"):
                parent = records.get(row[spec["parent"]])
                if parent is None:
                    continue
                item: dict[str, Any] = {}
                for name, _title, path, _kind in columns_of(table):
                    if path != "(parent)":
                        _set_path(item, path, _json_value(row[name]))
                container = parent
                parts = spec["path"].strip("/").split("/")
                for part in parts[:-1]:
                    container = container.setdefault(part, {})
                container.setdefault(parts[-1], []).append(item)
        out[model] = list(records.items())
    return out


def _json_value(value: object) -> object:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return value


def _set_path(target: dict[str, Any], path: str, value: object) -> None:
    if value is None:
        return
    parts = path.strip("/").split("/")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


# ---------------------------------------------------------------------------------------------
# writing an export


def write_export(dataset: Dataset, folder: Path) -> None:
    """Write the dataset as a CSV export folder in GO Lab's layout (file names and titles)."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, spec in TABLES.items():
        frame = dataset[table]
        titled = frame.rename(columns={name: title for name, title, *_ in columns_of(table)})
        out = io.StringIO()
        titled.to_csv(out, index=False, float_format=None, lineterminator="\n")
        tmp = folder / (spec["file"] + ".tmp")
        tmp.write_text(out.getvalue(), encoding="utf-8")
        tmp.replace(folder / spec["file"])
