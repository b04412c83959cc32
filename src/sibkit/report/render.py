"""Rendering the study report: one self-contained HTML file, CSV and XLSX tables, PNG charts.

Reads a ``StudyResults`` (``results.py``) and the sentences of ``wording.py`` and ``basis.py``; it never
imports ``run.py``, which computes the results and calls ``write_folder``."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from jinja2 import BytecodeCache, Environment, FileSystemBytecodeCache, PackageLoader, select_autoescape
from markupsafe import Markup

from sibkit import memo, paths, spreadsheet
from sibkit.analysis.instrument import ASSUMPTIONS as CARRIED_ASSUMPTIONS
from sibkit.analysis.instrument import MODEL as CARRIED_MODEL
from sibkit.coding.agreement import POOLED_DEFINITION
from sibkit.outcomes import STRUGGLING, SUCCESSFUL
from sibkit.qca.method import CONTRADICTION_RULE
from sibkit.report.basis import basis_paragraph, findings_basis
from sibkit.report.results import StudyResults, as_tables, is_exploratory, record_only_cases
from sibkit.report.wording import (
    detectable_sentence,
    evidence_statement,
    findings_paragraph,
    instrument_sentences,
    interval_text,
    less_often_text,
    presence_clause,
)
from sibkit.shown import visible_controls


def _number(value: object, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _percent(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{100 * float(value):.0f}%"  # type: ignore[arg-type]


def _signed(value: object, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{float(value):+.{digits}f}"  # type: ignore[arg-type]


RECORD_ONLY_MARK = "†"


def _ids(value: object) -> Markup:
    """Space-separated identifiers, each kept on one line (a case id never breaks at its hyphens)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Markup("")
    return Markup(" ").join(Markup('<span class="id">{}</span>').format(v) for v in str(value).split())


def _bytecode_cache() -> BytecodeCache | None:
    """Compiled templates kept in the user's data folder (Jinja checks each against its source)."""
    folder = paths.data_dir() / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return FileSystemBytecodeCache(str(folder))


def environment() -> Environment:
    env = Environment(loader=PackageLoader("sibkit.report", "templates"), bytecode_cache=_bytecode_cache(),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True,
                      finalize=visible_controls)  # bidi controls in quoted text shown as U+FFFD (sibkit.shown)
    env.filters["num"] = _number
    env.filters["pct"] = _percent
    env.filters["signed"] = _signed
    env.filters["ids"] = _ids
    env.globals["interval"] = interval_text
    env.globals["presence_clause"] = presence_clause
    env.filters["less_often"] = less_often_text
    env.globals["inf"] = math.inf
    return env


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def decided_by_rule(classification: pd.DataFrame, rules: Sequence[str]) -> str:
    """How the compared cases were decided, in the study's rule order: "14 by their achievement ratio
    and 9 by their payment ratio" ("" when no case is compared)."""
    compared = classification[classification["class"].isin([SUCCESSFUL, STRUGGLING])]
    counts = compared["decided_by"].value_counts()
    parts = [f"{int(counts[rule])} by {'its' if counts[rule] == 1 else 'their'} {rule} ratio"
             for rule in rules if counts.get(rule, 0)]
    other = len(compared) - sum(int(counts.get(rule, 0)) for rule in rules)
    if other:
        parts.append(f"{other} otherwise (a manual override)")
    return " and ".join(parts) if len(parts) < 3 else ", ".join(parts[:-1]) + " and " + parts[-1]


def dataset_total(flow: pd.DataFrame, selection: pd.DataFrame) -> int:
    """The impact bonds the selection started from: the first step's input, or, for a study without a
    selection step (every project a case), the cases the selection table holds."""
    return int(flow["in"].iloc[0]) if len(flow) else len(selection)


def write_folder(results: StudyResults, folder: Path, stamp: str) -> list[str]:
    """Write the report into ``folder``; returns the earlier report tables removed (see ``remove_stale``)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = dict(zip(results.themes["theme"], results.themes["name"], strict=True))
    classes = dict(zip(results.classification["case_id"], results.classification["class"], strict=True))
    compared = [c for c in results.selected if classes.get(c) in ("successful", "struggling")]
    order = sorted(compared, key=lambda c: (classes[c] != "successful", c))
    charts = _charts(results.findings, names, results.matrix[results.matrix["case_id"].isin(order)], order, classes,
                     set(record_only_cases(results)))
    for name, png in charts.items():
        (folder / f"{name}.png").write_bytes(png)
    for name, data in _table_files(as_tables(results), _about(results)).items():
        (folder / name).write_bytes(data)
    ordered = results.findings.sort_values("difference_pp", ascending=False)
    family = ordered["family"] if "family" in ordered.columns else pd.Series("primary", index=ordered.index)
    kinds = results.evidence_kinds
    evidence_total = {column: int(kinds[column].sum()) if len(kinds) else 0 for column in ("listed", "held", "coded")}
    evidence_total["held_records"] = int(kinds.loc[kinds["kind"] == "INDIGO record", "held"].sum()) if len(kinds) else 0
    corpus = results.corpus.merge(results.evidence_cases, on="case_id", how="left") if len(results.evidence_cases) \
        else results.corpus.assign(listed=0, held=0, coded=0, coded_indigo_record=0)
    scenario_labels, scenario_cells, scenario_groups = _scenarios(results.sensitivity)
    html = environment().get_template("report.html.j2").render(
        r=results, names=names, charts={k: _data_uri(v) for k, v in charts.items()}, stamp=stamp,
        basis=basis_paragraph(findings_basis(results)), findings_opening=findings_paragraph(results),
        carried=results.carried_error, carried_text=instrument_sentences(results), model=CARRIED_MODEL,
        assumptions=CARRIED_ASSUMPTIONS, pooled_definition=POOLED_DEFINITION, contradiction_rule=CONTRADICTION_RULE,
        statement=evidence_statement(results), exploratory=is_exploratory(results),
        record_only=set(record_only_cases(results)), mark=RECORD_ONLY_MARK, detectable=detectable_sentence(results),
        primary=ordered[family == "primary"].to_dict("records"),
        secondary=ordered[family == "secondary"].to_dict("records"),
        secondary_ids=set(ordered.loc[family == "secondary", "theme"]),
        replication=results.replication.to_dict("records"), evidence_kinds=kinds.to_dict("records"),
        citations=list(dict.fromkeys(zip(results.replication["source"], results.replication["claim"], strict=True))),
        evidence_total=evidence_total, scenario_labels=scenario_labels, scenario_cells=scenario_cells,
        scenario_groups=scenario_groups, decided=decided_by_rule(results.classification, results.study.outcomes.rules),
        flow=results.flow.to_dict("records"), total=dataset_total(results.flow, results.selection),
        classification=results.classification.to_dict("records"),
        examples=results.examples.to_dict("records") if len(results.examples) else [],
        sensitivity=results.survivors.to_dict("records"), limitations=results.limitations,
        inputs=results.inputs.to_dict("records"), corpus=corpus.to_dict("records"),
        reviewed_cases=set(results.counts.loc[results.counts["reviewed"].astype(bool), "case_id"]),
        n_classes=results.classification["class"].value_counts().to_dict(),
        agreement=results.agreement.to_dict("records"))
    (folder / "report.html").write_text(html, encoding="utf-8")
    from sibkit.paper.outputs import remove_stale, write_paper_files, write_sidecars

    if results.release is not None:
        write_sidecars(folder, as_tables(results), results.release)
    write_paper_files(results, folder, html)
    return remove_stale(folder, {f"{name}.csv" for name in as_tables(results)})


def _about(results: StudyResults) -> pd.DataFrame:
    """The workbook's first sheet: what every table rests on (the INDIGO release)."""
    from sibkit.releases.dated import about_rows

    if results.release is None:
        return pd.DataFrame(columns=["field", "value"])
    rows = about_rows(results.release, f"sibkit report: {results.study.title}")
    return pd.DataFrame(rows, columns=["field", "value"])


def _charts(findings: pd.DataFrame, names: dict[str, str], matrix: pd.DataFrame, order: list[str],
            classes: dict[str, str], marked: set[str]) -> dict[str, bytes]:
    """The report's PNG charts; reproducible bytes, so read back from ``sibkit.memo`` when their data
    did not change (matplotlib is then not even imported)."""
    def draw() -> dict[str, bytes]:
        from sibkit.report.charts import findings_chart, heatmap, theme_charts

        charts = {"findings": findings_chart(findings, names), "themes": theme_charts(findings.sort_values("theme"),
                                                                                       names)}
        if order:
            charts["heatmap"] = heatmap(matrix, names, order, classes, marked=marked, mark=RECORD_ONLY_MARK)
        return charts

    inputs = ("charts", findings, names, matrix, order, classes, marked, RECORD_ONLY_MARK)
    return memo.memoised(memo.key(inputs, modules=("sibkit.report.charts", "sibkit.report.render"),
                                  libraries=("matplotlib", "numpy", "pandas")), draw)


def _table_files(tables: dict[str, pd.DataFrame], about: pd.DataFrame | None = None) -> dict[str, bytes]:
    """Every table as ``<name>.csv`` and all of them in one reproducible ``report.xlsx``, as file bytes;
    read back from ``sibkit.memo`` when no table changed (the workbook takes seconds to write)."""
    def write() -> dict[str, bytes]:
        import tempfile

        with tempfile.TemporaryDirectory() as scratch:
            files = {}
            for name, table in tables.items():
                spreadsheet.to_csv(table, Path(scratch) / f"{name}.csv")
                files[f"{name}.csv"] = (Path(scratch) / f"{name}.csv").read_bytes()
            sheets = {"about": about, **tables} if about is not None and len(about) else tables
            spreadsheet.write_xlsx(sheets, Path(scratch) / "report.xlsx")
            _fix_xlsx_dates(Path(scratch) / "report.xlsx")
            files["report.xlsx"] = (Path(scratch) / "report.xlsx").read_bytes()
            return files

    return memo.memoised(memo.key(("tables", tables, about), modules=("sibkit.spreadsheet", "sibkit.report.render"),
                                  libraries=("openpyxl", "pandas")), write)


def _scenarios(table: pd.DataFrame) -> tuple[list[str], dict[tuple[str, str], dict[str, object]], dict[str, str]]:
    """Scenario column labels (tolerance x presence rule), each theme's cell in them, and each scenario's
    groups ("17 v 28": successful v struggling cases, which the tolerance and index change)."""
    if table.empty:
        return [], {}, {}
    labels: list[str] = []
    cells: dict[tuple[str, str], dict[str, object]] = {}
    groups: dict[str, str] = {}
    several_indices = "index" in table.columns and table["index"].nunique() > 1
    for row in table.to_dict("records"):
        index = f"{row['index']} index, " if several_indices else ""
        label = f"tolerance {100 * row['tolerance']:.0f}%, {index}{row['presence']}"
        if label not in labels:
            labels.append(label)
            groups[label] = f"{int(row['n_successful'])} v {int(row['n_struggling'])}"
        cells[(row["theme"], label)] = row
    return labels, cells, groups


def _fix_xlsx_dates(path: Path) -> None:
    """Make the workbook reproducible: openpyxl stamps docProps/core.xml and every zip member with the
    current time; pin both (document dates to 2000-01-01, zip members to 1980-01-01, the zip epoch)."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    fixed_date = b"2000-01-01T00:00:00Z"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as target:
        for name, data in members:
            if name == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(<)", rb"\g<1>" + fixed_date + rb"\g<2>",
                              data)
            target.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data,
                            compress_type=zipfile.ZIP_DEFLATED)
