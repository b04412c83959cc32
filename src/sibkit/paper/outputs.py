"""The files a paper uses, written beside the HTML report by ``sibkit run``: a CSVW sidecar for every CSV
(the release each table rests on), ``report.docx``, ``methods.txt`` and the bibliography
(``references.bib``, ``references.json`` CSL-JSON, ``references.ris``).

Why sidecars and not a header comment: a ``# release ...`` line above the header breaks most CSV readers
(pandas without ``comment=``, R's ``read.csv``, Excel); a ``<name>.csv-metadata.json`` beside the file is
the W3C's CSV on the Web convention, which CSVW tools find by that name, and every other reader ignores.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def table_title(name: str) -> str:
    """The title a report table's sidecar gives it, by which ``remove_stale`` knows sibkit wrote it."""
    return f"sibkit report table {name}"


def write_sidecars(folder: Path, tables: dict[str, Any], release: Any) -> list[Path]:
    """``<name>.csv-metadata.json`` for each table written as ``<name>.csv``."""
    from sibkit.releases.dated import csvw_sidecar

    written = []
    for name, table in tables.items():
        sidecar = csvw_sidecar(release, f"{name}.csv", table_title(name), [str(c) for c in table.columns])
        path = folder / f"{name}.csv-metadata.json"
        path.write_text(json.dumps(sidecar, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


def write_paper_files(results: Any, folder: Path, html: str) -> None:
    """The DOCX of ``html``, the methods paragraph and the bibliography of the study's corpus."""
    from sibkit.paper.bibliography import SUFFIXES, bibliography, render
    from sibkit.paper.docx import write_docx

    write_docx(html, folder / "report.docx")
    if getattr(results, "methods", ""):
        (folder / "methods.txt").write_text(results.methods + "\n", encoding="utf-8")
    entries = bibliography(results.study, selected=results.selected)
    for fmt, suffix in SUFFIXES.items():
        (folder / f"references.{suffix}").write_text(render(entries, fmt), encoding="utf-8")


def remove_stale(folder: Path, tables: set[str]) -> list[str]:
    """Remove the report tables an earlier ``sibkit run`` wrote in ``folder`` that are not among ``tables``.

    A report table is a CSV beside a CSVW sidecar (``<name>.csv-metadata.json``) that names it as
    ``sibkit report table <name>``: both go, so the folder never holds tables of another run (another
    study's QCA, say) beside this report. Anything else stays: a standalone command's tables (no sidecar)
    and the user's own files. Returns the CSVs' names, sorted.
    """
    removed = []
    for sidecar in sorted(folder.glob("*.csv-metadata.json")):
        table = sidecar.name[: -len("-metadata.json")]
        if table in tables or not sidecar.is_file() or sidecar.is_symlink():
            continue
        try:
            about = json.loads(sidecar.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            continue
        if not isinstance(about, dict) or about.get("url") != table or \
                about.get("dc:title") != table_title(table[: -len(".csv")]):
            continue
        csv = folder / table
        if csv.is_file() and not csv.is_symlink():
            csv.unlink()
        sidecar.unlink()
        removed.append(table)
    return removed
