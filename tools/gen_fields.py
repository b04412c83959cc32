"""Regenerate ``src/sibkit/indigo/_fields.py`` from INDIGO's published schemas.

Run from the project root with ``../shared`` beside it::

    python tools/gen_fields.py ../shared/indigo

The generated module lists, for every table of GO Lab's "all data per data type" CSV
export, its columns: our column name (from the JSON path), the CSV column title, the JSON
path and a value kind (string, number, date, country). Only field names and titles are
recorded (facts, cited in the module header); no schema text is copied.
"""

from __future__ import annotations

import csv
import json
import pprint
import sys
from pathlib import Path

MODELS = {"project": "projects", "organisation": "organisations", "fund": "funds"}
PARENT_COLUMN = {"project": ("Project ID", "project_id"),
                 "organisation": ("Organisation ID", "organisation_id"),
                 "fund": ("Fund ID", "fund_id")}


def resolve(node: dict, defs: dict) -> tuple[dict, str | None]:
    ref = node.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[-1]
        return defs[name], name
    return node, None


def kind_of(leaf: dict, ref_name: str | None, path: list[str]) -> str:
    if ref_name and "date" in ref_name and path[-1] == "value":
        return "date"
    if ref_name and "country" in ref_name and path[-1] == "value":
        return "country"
    if "pattern" in leaf and "YYYY" in leaf.get("patternHint", ""):
        return "date"
    if leaf.get("codelist") == "countries.csv":
        return "country"
    return "number" if leaf.get("type") in ("number", "integer") else "string"


def column_name(path: list[str]) -> str:
    parts = path[:-1] if len(path) > 1 and path[-1] == "value" else path
    return "_".join(p.replace("-", "_") for p in parts)


def walk(node, defs, path, titles, ref_name, leaves, arrays):
    node, own_ref = resolve(node, defs)
    ref_name = own_ref or ref_name
    if node.get("type") == "array" and "items" in node:
        arrays.append((path, node["items"]))
        return
    props = node.get("properties")
    if props:
        for key, child in props.items():
            resolved, _ = resolve(child, defs)
            title = child.get("title") or resolved.get("title") or ("(Value)" if key == "value" else key)
            walk(child, defs, [*path, key], [*titles, title], own_ref if key in ("value", "status") else None,
                 leaves, arrays)
        return
    leaves.append((path, titles, kind_of(node, ref_name, path)))


def table_columns(node, defs):
    leaves, arrays = [], []
    walk(node, defs, [], [], None, leaves, arrays)
    return leaves, arrays


def match_header(header: list[str], leaves, fields_titles: dict[str, str] | None):
    by_title = {}
    for path, titles, kind in leaves:
        key = "/" + "/".join(path)
        title = fields_titles.get(key) if fields_titles else " - ".join(titles)
        if title is None:
            continue
        by_title[title] = (column_name(path), key, kind)
        short = title.removesuffix(" - (Value)")
        by_title.setdefault(short, (column_name(path), key, kind))
    return by_title


def main(indigo: Path) -> None:
    export = next(p for p in indigo.iterdir() if p.is_dir() and p.name.startswith("impact-bond-dataset"))
    tables = {}
    for model, stem in MODELS.items():
        schema = json.loads((indigo / "schema" / f"{model}.schema.json").read_text())
        defs = schema.get("definitions", {})
        fields = json.loads((indigo / "schema" / f"{model}.fields.json").read_text())
        fields_titles = {f["key"]: f["title"] for f in fields}
        leaves, arrays = table_columns(schema, defs)
        header = next(csv.reader((export / f"{stem}.csv").open(encoding="utf-8")))
        by_title = match_header(header, leaves, fields_titles)
        cols = [("id", "ID", "/id", "string")]
        cols += [(by_title[h][0], h, by_title[h][1], by_title[h][2]) for h in header if h != "ID"]
        tables[stem] = {"model": model, "file": f"{stem}.csv", "path": "", "parent": None, "columns": cols}
        pending = [([], p, items) for p, items in arrays]
        while pending:
            _, apath, items = pending.pop(0)
            file_stem = f"{stem}_" + "".join(apath)
            csv_path = export / f"{file_stem}.csv"
            if not csv_path.exists():
                continue
            leaves2, _arrays2 = table_columns(items, defs)
            header = next(csv.reader(csv_path.open(encoding="utf-8")))
            by_title = match_header(header, leaves2, None)
            parent_title, parent_col = PARENT_COLUMN[model]
            cols = [(parent_col, parent_title, "(parent)", "string")]
            for h in header:
                if h == parent_title:
                    continue
                name, key, kind = by_title[h]
                if name == parent_col:  # an item field that names another organisation
                    name = f"by_{name}"
                cols.append((name, h, key, kind))
            name = "_".join(apath) if model == "project" else f"{model}_" + "_".join(a.replace("-", "_") for a in apath)
            tables[name] = {"model": model, "file": f"{file_stem}.csv", "path": "/" + "/".join(apath),
                            "parent": parent_col, "columns": cols}
    priorities = {p["key"]: p["priority"]
                  for p in json.loads((indigo / "schema" / "project.priorities.json").read_text())}
    out = Path(__file__).resolve().parents[1] / "src" / "sibkit" / "indigo" / "_fields.py"
    text = (
        '"""Tables and columns of the INDIGO impact bond dataset (generated; do not edit).\n\n'
        "Field names, JSON paths and CSV column titles are those of INDIGO's published schemas\n"
        "(Government Outcomes Lab, University of Oxford, project/organisation/fund schemas, MIT licence)\n"
        "and of GO Lab's \"all data per data type\" CSV export. Regenerate with tools/gen_fields.py.\n"
        '"""\n\n'
        "# table -> model, CSV file name, JSON array path, parent id column, columns\n"
        "# column: (our name, CSV column title, JSON path, kind)\n"
        f"TABLES = {pprint.pformat(tables, width=110, sort_dicts=False)}\n\n"
        "# project section (JSON path) -> INDIGO priority level (1 = required for publication)\n"
        f"PRIORITIES = {pprint.pformat(priorities, width=110, sort_dicts=False)}\n"
    )
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}: {len(tables)} tables")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/indigo"))
