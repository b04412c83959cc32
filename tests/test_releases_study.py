"""A study run on the shared export, then on a second release made from it by declared edits: the second
report opens with "since last run", every line of which is worked out here from the two runs' own CSV
files; every output is dated; the report is also a DOCX holding every table; the corpus is a bibliography
that BibTeX, CSL-JSON and RIS parsers from PyPI read back."""

from __future__ import annotations

import csv
import html as html_module
import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import every_item_example

from sibkit.releases import declared
from sibkit.releases.declared import make_second_release

ROOT = Path(__file__).resolve().parents[1]
PORTAL = "DCMS Data Portal for the Life Chances Fund"  # an INDIGO source of INDIGO-POJ-0177 (organisation, date)
POLITICO = "POLITICO: How to get rich investing in health [Case Study]"  # of INDIGO-POJ-0113 (a URL)
POLITICO_URL = "https://www.politico.eu/article/aids-hiv-epidemic-how-to-get-rich-investing-in-health/"


def sibkit(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "sibkit", *args], capture_output=True, text=True, timeout=600,
                          env=env)
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, indigo_dir: Path) -> dict[str, object]:
    folder = tmp_path_factory.mktemp("living")
    env = {**os.environ, "SIBKIT_DATA": str(folder / "data")}
    second = make_second_release(indigo_dir, folder / "second-export")
    sibkit(env, "data", "download", "--from", str(indigo_dir))
    sibkit(env, "data", "download", "--from", str(second), "--date", "2025-09-01")
    text = every_item_example()  # the 43-case reading: classes and themes that can move between releases
    study = folder / "study.yaml"
    study.write_text(text.replace("data: null", "data: indigo@2025-05-20"), encoding="utf-8")
    extra = folder / "extra"
    extra.mkdir()
    (extra / "portal.txt").write_text("The portal shows co-production with service users and relational working "
                                      "between the partners.\n", encoding="utf-8")
    (extra / "politico.txt").write_text("Investors, the commissioner and the provider describe shared "
                                        "responsibility across partners and co-production.\n", encoding="utf-8")
    (extra / "manifest.csv").write_text(f"path,case_ids,title,type,date\nportal.txt,INDIGO-POJ-0177,{PORTAL},,\n"
                                        f'politico.txt,INDIGO-POJ-0113,"{POLITICO}",article,2019-03\n',
                                        encoding="utf-8")
    sibkit(env, "corpus", "add", str(study), "--manifest", str(extra / "manifest.csv"))
    first = sibkit(env, "run", str(study))
    shutil.copytree(folder / "report", folder / "report-1")
    study.write_text(text.replace("data: null", "data: indigo@2025-09-01"), encoding="utf-8")
    second_run = sibkit(env, "run", str(study))
    return {"folder": folder, "env": env, "study": study, "first": first.stdout, "second": second_run.stdout,
            "before": folder / "report-1", "after": folder / "report"}


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def pct(value: str) -> str:
    return f"{100 * float(value):.0f}%" if value not in ("", "nan") else "–"


def shares(row: dict[str, str]) -> str:
    return (f"{pct(row['share_successful'])} of {row['n_successful']} successful, {pct(row['share_struggling'])} of "
            f"{row['n_struggling']} struggling, difference {float(row['difference_pp']):+.1f} pp")


def ratio(value: str) -> str:
    return "–" if value in ("", "nan") else f"{float(value):.3f}"


def expected_lines(before: Path, after: Path) -> list[str]:
    """The section's lines after the heading, from the two report folders' CSV files alone."""
    lines = ["INDIGO changes: projects: 1 added, 0 removed", "INDIGO changes: project fields: 1 changed in 1 project",
             "INDIGO changes: outcome metrics: 0 added, 0 removed, 0 changed (0 projects)",
             "INDIGO changes: results: 1 added, 0 removed, 0 changed (1 project)",
             "INDIGO changes: outcome payments: 1 added, 0 removed, 0 changed (1 project)",
             "INDIGO changes: documents: 0 added, 1 removed, 0 changed (1 project)",
             "INDIGO changes: sources: 0 added, 0 removed, 0 changed (0 projects)"]
    selection = {r["case_id"]: r for r in rows(after / "selection.csv")}
    left = selection[declared.REMOVED_CASE]
    lines.append(f"Entered the selection: {declared.NEW_ID} {declared.NEW_NAME} (before: not in INDIGO; new in INDIGO "
                 "in this release)")
    lines.append(f"Left the selection: {declared.REMOVED_CASE} {left['name']} (now: excluded at '{left['step']}': "
                 f"{left['reason']}; distinct documents 4 → 3; document removed: {declared.REMOVED_URL} "
                 f"({declared.REMOVED_TITLE.strip()}))")
    old_class = {r["case_id"]: r for r in rows(before / "classification.csv")}
    new_class = {r["case_id"]: r for r in rows(after / "classification.csv")}
    moved = sorted(c for c in set(old_class) & set(new_class) if old_class[c]["class"] != new_class[c]["class"])
    assert moved == [declared.RESULT_CASE]
    o, n = old_class[declared.RESULT_CASE], new_class[declared.RESULT_CASE]
    assert (o["class"], n["class"]) == ("struggling", "successful")
    lines.append(f"Class moved: {declared.RESULT_CASE} {n['name']}: struggling → successful (achievement ratio "
                 f"{ratio(o['achievement_ratio'])} → {ratio(n['achievement_ratio'])}, payment ratio "
                 f"{ratio(o['payment_ratio'])} → {ratio(n['payment_ratio'])}; result added: outcomemetric1, "
                 "2018-11 to 2023-03, Final (achieved 1200, engaged –, positive outcomes –))")
    names = {r["theme"]: r["name"] for r in rows(after / "themes.csv")}
    old_findings = {r["theme"]: r for r in rows(before / "findings.csv")}

    def roles(folder: Path) -> dict[str, str]:
        selected = {r["case_id"] for r in rows(folder / "selection.csv") if r["step"] == "selected"}
        return {r["case_id"]: r["class"] for r in rows(folder / "classification.csv")
                if r["case_id"] in selected and r["class"] in ("successful", "struggling")}

    def associated(folder: Path) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for r in rows(folder / "case-theme-matrix.csv"):
            if r["associated"] == "True":
                out.setdefault(r["theme"], set()).add(r["case_id"])
        return out

    old_roles, new_roles = roles(before), roles(after)
    old_on, new_on = associated(before), associated(after)
    for row in rows(after / "findings.csv"):
        old = old_findings[row["theme"]]
        if (float(old["share_successful"]), float(old["share_struggling"])) == (
                float(row["share_successful"]), float(row["share_struggling"])):
            continue
        cases = []
        for case_id in sorted(old_on.get(row["theme"], set()) | new_on.get(row["theme"], set())):
            a, b = old_roles.get(case_id), new_roles.get(case_id)
            was = case_id in old_on.get(row["theme"], set()) and a
            now = case_id in new_on.get(row["theme"], set()) and b
            if (a, bool(was)) == (b, bool(now)):
                continue
            cases.append(f"{case_id} ({a}) left the comparison" if a and not b
                         else f"{case_id} ({b}) entered the comparison" if b and not a
                         else f"{case_id} moved {a} → {b}" if a != b
                         else f"{case_id} ({b}) {'now' if now else 'no longer'} associated")
        why = "; ".join(cases) or (f"groups of {old['n_successful']} → {row['n_successful']} successful and "
                                   f"{old['n_struggling']} → {row['n_struggling']} struggling cases; no case "
                                   "associated with it moved")
        lines.append(f"Association moved: {names[row['theme']]}: {shares(old)} → {shares(row)} ({why})")
    return lines


def section(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Since the last run"))
    end = next(i for i, line in enumerate(lines) if re.match(r"\d+ cases selected", line))
    return lines[start:end]


def test_a_run_on_a_new_release_says_what_changed_for_the_study(runs) -> None:
    assert "Since the last run" not in runs["first"]
    got = section(runs["second"])
    assert re.fullmatch(r"Since the last run on indigo@2025-05-20 \(run at \d{4}-\d\d-\d\d \d\d:\d\d UTC\): this run "
                        r"uses indigo@2025-09-01\.", got[0]), got[0]
    expected = expected_lines(runs["before"], runs["after"])
    assert any(line.startswith("Association moved: ") for line in expected)
    assert got[1:] == expected
    # the report opens with the same section, its tables holding the same facts
    page = (runs["after"] / "report.html").read_text(encoding="utf-8")
    assert page.index('id="since-last-run"') < page.index("<h2>Question and method</h2>")
    tables = {t.id: t.rows for t in parse_tables(page)}
    assert [r[:3] for r in tables["since-selection"][1:]] == [
        [declared.NEW_ID, declared.NEW_NAME, "entered"],
        [declared.REMOVED_CASE, tables["since-selection"][2][1], "left"]]
    assert [r[0] for r in tables["since-classes"][1:]] == [declared.RESULT_CASE]
    assert len(tables["since-themes"]) - 1 == sum(line.startswith("Association moved") for line in expected)
    before = {r["theme"]: r for r in rows(runs["before"] / "findings.csv")}
    names = {r["theme"]: r["name"] for r in rows(runs["after"] / "themes.csv")}
    beside = tables["since-findings"][1:]
    assert len(beside) == len(before)
    for theme, row in zip([r["theme"] for r in rows(runs["after"] / "findings.csv")], beside, strict=True):
        now = next(r for r in rows(runs["after"] / "findings.csv") if r["theme"] == theme)
        assert row[:2] == [names[theme], f"{float(before[theme]['difference_pp']):,.1f}"]
        assert row[3] == f"{float(now['difference_pp']):,.1f}"
        assert row[5] == f"{float(now['difference_pp']) - float(before[theme]['difference_pp']):+.1f}"
    # a third run on the same release still compares with the run on the earlier one
    again = sibkit(runs["env"], "run", str(runs["study"]), "-o", str(runs["folder"] / "report-3"))
    assert section(again.stdout)[1:] == expected


def test_every_output_says_which_release_it_rests_on(runs) -> None:
    for folder, date in ((runs["before"], "2025-05-20"), (runs["after"], "2025-09-01")):
        page = (folder / "report.html").read_text(encoding="utf-8")
        first = re.search(r'<p class="evidence" id="basis">(.*?)</p>', page, re.DOTALL).group(1)
        assert first.startswith(f"Data: the INDIGO impact bond dataset, release of {date} (SHA-256 ")
        inputs = {r["input"]: r for r in rows(folder / "inputs.csv")}
        assert inputs["INDIGO dataset"]["what"].startswith(f"indigo@{date}, release of {date} (")
        for table in folder.glob("*.csv"):
            sidecar = json.loads((folder / f"{table.name}-metadata.json").read_text(encoding="utf-8"))
            with table.open(encoding="utf-8", newline="") as handle:
                header = next(csv.reader(handle))
            assert sidecar["url"] == table.name and sidecar["dc:date"] == date
            assert [c["name"] for c in sidecar["tableSchema"]["columns"]] == header
            assert sidecar["notes"][0]["release"] == f"indigo@{date}"
        from openpyxl import load_workbook

        book = load_workbook(folder / "report.xlsx", read_only=True)
        assert book.sheetnames[0] == "about"
        about = {row[0]: row[1] for row in book["about"].iter_rows(min_row=2, values_only=True)}
        assert about["Release date"] == date and about["Release"] == f"indigo@{date}"


class Tables(HTMLParser):
    """Every <table> of a page as rows of cell texts (the standard library's parser, not lxml)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[Table] = []
        self.stack: list[Table] = []
        self.cell: list[str] | None = None
        self.span = 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            table = Table(dict(attrs).get("id") or "")
            self.tables.append(table)
            self.stack.append(table)
        elif tag == "tr" and self.stack:
            self.stack[-1].rows.append([])
        elif tag in ("td", "th") and self.stack:
            self.cell, self.span = [], int(dict(attrs).get("colspan") or 1)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.stack:
            self.stack[-1].rows[-1].extend([" ".join("".join(self.cell).split())] * self.span)
            self.cell = None
        elif tag == "table" and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


class Table:
    def __init__(self, table_id: str) -> None:
        self.id = table_id
        self.rows: list[list[str]] = []


def parse_tables(page: str) -> list[Table]:
    parser = Tables()
    parser.feed(page)
    return [t for t in parser.tables if t.rows]


def test_the_docx_holds_every_table_and_chart_of_the_html_report_with_numbered_captions(runs) -> None:
    import docx

    page = (runs["after"] / "report.html").read_text(encoding="utf-8")
    document = docx.Document(str(runs["after"] / "report.docx"))
    html_tables = [[row for row in t.rows if row] for t in parse_tables(page)]
    docx_tables = [[[cell.text for cell in row.cells] for row in table.rows] for table in document.tables]
    assert len(html_tables) == len(docx_tables) >= 20
    for ours, theirs in zip(html_tables, docx_tables, strict=True):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs, strict=True):
            assert b[:len(a)] == a and not any(b[len(a):])  # a short row is padded with empty cells
    captions = [p.text for p in document.paragraphs if p.style.name == "Caption"]
    tables = [c for c in captions if c.startswith("Table ")]
    figures = [c for c in captions if c.startswith("Figure ")]
    assert [int(re.match(r"Table (\d+)\.", c).group(1)) for c in tables] == list(range(1, len(html_tables) + 1))
    assert len(figures) == page.count('<img src="data:image/png') and figures[0].startswith("Figure 1. ")
    assert sum("SEQ Table" in (t.text or "") for t in document.element.body.iter(
        "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}instrText")) == len(tables)
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert "Since the last run" in headings and "Findings" in headings


def test_the_methods_paragraph_is_made_from_the_study_file(runs) -> None:
    text = (runs["after"] / "methods.txt").read_text(encoding="utf-8").strip()
    page = (runs["after"] / "report.html").read_text(encoding="utf-8")
    quoted = re.search(r'<blockquote id="methods-paragraph"><p>(.*?)</p></blockquote>', page, re.DOTALL).group(1)
    assert html_module.unescape(quoted) == text
    flow = rows(runs["after"] / "selection-flow.csv")
    assert (f"by these criteria, in order: {flow[0]['step']} ({flow[0]['out']} cases); {flow[1]['step']} "
            f"({flow[1]['out']} cases); {flow[2]['step']} ({flow[2]['out']} cases).") in text
    assert "release of 2025-09-01 (indigo@2025-09-01;" in text and "of 320 impact bonds" in text
    assert "relational-sib codebook, version 6" in text
    assert "at least 85% of its stated outcomes (a tolerance of 15%)" in text
    assert "repeated at a tolerance of 10%." in text
    assert "15%," not in text  # the main tolerance is not named again among those it was repeated at
    assert "Fisher's exact test" in text and "9,999 permutations" in text and "2,000 resamples" in text
    assert "seed 12345" in text and "Benjamini-Hochberg" in text
    classes = {}
    for r in rows(runs["after"] / "classification.csv"):
        classes[r["class"]] = classes.get(r["class"], 0) + 1
    assert f"{sum(classes.values())} cases were selected (" + ", ".join(
        f"{n} {c}" for c, n in sorted(classes.items())) + ")." in text
    done = sibkit(runs["env"], "methods", str(runs["study"]))
    assert "release of 2025-09-01 (indigo@2025-09-01;" in done.stdout and "version 6" in done.stdout


def test_the_bibliography_round_trips_through_bibtex_csl_and_ris_parsers(runs) -> None:
    import bibtexparser
    import rispy
    from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
    from citeproc.source.json import CiteProcJSON

    after = runs["after"]
    library = bibtexparser.parse_string((after / "references.bib").read_text(encoding="utf-8"))
    assert library.failed_blocks == []
    entries = {e.fields_dict["title"].value: e for e in library.entries}
    assert set(entries) == {"INDIGO impact bond dataset (release of 2025-09-01)", PORTAL, POLITICO}
    dataset = entries["INDIGO impact bond dataset (release of 2025-09-01)"]
    assert dataset.fields_dict["date"].value == "2025-09-01" and dataset.fields_dict["type"].value == "dataset"
    portal = entries[PORTAL]
    assert portal.fields_dict["author"].value == "{Department for Digital, Culture, Media and Sports}"
    assert portal.fields_dict["date"].value == "2020-07-01"  # from INDIGO's sources: the manifest gave none
    politico = entries[POLITICO]
    assert politico.entry_type == "article" and politico.fields_dict["url"].value == POLITICO_URL
    assert politico.fields_dict["date"].value == "2019-03" and politico.fields_dict["type"].value == "academic article"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", politico.fields_dict["urldate"].value)
    assert "INDIGO-POJ-0113" in politico.fields_dict["note"].value

    items = json.loads((after / "references.json").read_text(encoding="utf-8"))
    source = CiteProcJSON(items)
    assert {str(source[key]["title"]) for key in source} == set(entries)
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = CitationStylesBibliography(style, source, formatter.plain)
    bibliography.register(Citation([CitationItem(item["id"]) for item in items]))
    rendered = " ".join(str(line) for line in bibliography.bibliography())
    assert "DCMS Data Portal for the Life Chances Fund" in rendered and "2020" in rendered
    assert "Department for Digital, Culture, Media and Sports" in rendered

    records = rispy.loads((after / "references.ris").read_text(encoding="utf-8"))
    by_title = {r["title"]: r for r in records}
    assert set(by_title) == set(entries)
    assert by_title[POLITICO]["type_of_reference"] == "JOUR" and by_title[POLITICO]["urls"] == [POLITICO_URL]
    assert by_title[PORTAL]["authors"] == ["Department for Digital, Culture, Media and Sports"]
    assert by_title[PORTAL]["type_of_work"] == "database or grant record"  # "Data Portal" in its title (sibkit.kinds)
    assert by_title[PORTAL]["type_of_reference"] == "DATA"
    # the command gives the same files
    for fmt, name in (("bibtex", "references.bib"), ("csl-json", "references.json"), ("ris", "references.ris")):
        assert sibkit(runs["env"], "cite", str(runs["study"]), "--format", fmt).stdout == (after / name).read_text(
            encoding="utf-8")


def test_examples_in_context_cite_their_document(runs) -> None:
    examples = rows(runs["after"] / "examples.csv")
    cited = [r["citation"] for r in examples if r["title"] == POLITICO]
    assert cited and all(c == f"{POLITICO}, 2019-03, p. 1, {POLITICO_URL}" for c in cited)
    page = html_module.unescape((runs["after"] / "report.html").read_text(encoding="utf-8"))
    assert f"{POLITICO}, 2019-03, p. 1, {POLITICO_URL} (INDIGO-POJ-0113" in page


def test_the_release_has_one_sha256_everywhere_a_user_sees_it(runs, indigo_dir: Path) -> None:
    """The report's first paragraph, its methods (HTML, methods.txt, DOCX), inputs.csv, the XLSX and every CSV
    sidecar give the release's SHA-256 that ``sibkit data list`` shows (walk-through #3: the first paragraph
    and inputs.csv gave a hash of the loaded tables instead); that one is kept, labelled as what it is."""
    import hashlib

    import openpyxl
    from docx import Document

    listed = {r["name"]: r["sha256"] for r in json.loads(sibkit(runs["env"], "data", "list", "--json").stdout)}
    # the release's hash by its definition (names, sizes and bytes of the export's CSV files, in name order)
    digest = hashlib.sha256()
    for path in sorted(indigo_dir.glob("*.csv"), key=lambda p: p.name):
        data = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    assert listed["2025-05-20"] == digest.hexdigest()
    named = re.compile(r"release of (\d{4}-\d{2}-\d{2}) \((?:indigo@[^;)]+; )?SHA-256 ([0-9a-f]{12})…")
    for folder, date in ((runs["before"], "2025-05-20"), (runs["after"], "2025-09-01")):
        sha = listed[date]
        page = (folder / "report.html").read_text(encoding="utf-8")
        text = " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", page)).split())
        assert named.findall(text) == [(date, sha[:12])] * 2  # the first paragraph and the methods paragraph
        assert named.findall((folder / "methods.txt").read_text(encoding="utf-8")) == [(date, sha[:12])]
        docx_text = " ".join(p.text for p in Document(str(folder / "report.docx")).paragraphs)
        assert named.findall(" ".join(docx_text.split())) == [(date, sha[:12])] * 2
        inputs = {r["input"]: r for r in rows(folder / "inputs.csv")}
        assert inputs["INDIGO dataset"]["sha256"] == sha
        tables = inputs["INDIGO tables as loaded"]
        assert "hash of its tables" in tables["what"] and len(tables["sha256"]) == 64 and tables["sha256"] != sha
        assert f"<td>INDIGO dataset</td><td>indigo@{date}, release of {date} (" in page
        assert f"<code>{sha}</code>" in page
        workbook = openpyxl.load_workbook(folder / "report.xlsx", read_only=True)
        about = dict(workbook["about"].iter_rows(min_row=2, values_only=True))
        in_sheet = {row[0]: row[2] for row in workbook["inputs"].iter_rows(min_row=2, values_only=True)}
        assert about["SHA-256 of the export"] == in_sheet["INDIGO dataset"] == sha
        for sidecar in folder.glob("*.csv-metadata.json"):
            assert json.loads(sidecar.read_text(encoding="utf-8"))["notes"][0]["sha256"] == sha, sidecar.name
