"""REFI-QDA export and import speed, against a baseline measured in the same run: writing the same
texts into a ZIP and parsing the same ``project.qde`` with lxml (the least any exporter or importer
must do). Synthetic study: documents of about 5,000 words with accepted references.

    python benchmarks/bench_interop.py [--documents 40] [--references 50]   # --documents 400 for the big run
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import random
import tempfile
import time
import zipfile
from pathlib import Path

from lxml import etree

from sibkit.corpus.extraction import Extracted
from sibkit.corpus.importer import store_document
from sibkit.interop import import_qdpx, project_files
from sibkit.interop.archive import write_qdpx
from sibkit.store import Reference, ReviewDecision, open_store
from sibkit.study import load_study

WORDS = ["partnership", "outcomes", "council", "provider", "investor", "families", "service", "data", "trust",
         "contract", "learning"]


def build(folder: Path, documents: int, per_document: int) -> Path:
    study_path = folder / "study.yaml"
    study_path.write_text("title: Benchmark\n", encoding="utf-8")
    store = open_store(load_study(study_path).database_url())
    rng = random.Random(7)
    for number in range(documents):
        text = " ".join(rng.choice(WORDS) for _ in range(5000)) + f" {number}\n"
        outcome = store_document(store, sha256=hashlib.sha256(text.encode()).hexdigest(),
                                 extracted=Extracted(text=text, pages=[0], kind="text"),
                                 case_ids=[f"CASE-{number % 10}"], title=f"Document {number}", doc_type="review",
                                 origin=f"doc{number}")
        with store.session() as session:
            for index in range(per_document):
                start = index * 60
                reference = Reference(document_id=outcome.document_id, theme="vision-values", term="(manual)",
                                      start=start, end=start + 40, origin="manual")
                session.add(reference)
                session.flush()
                session.add(ReviewDecision(reference_id=reference.id, coder="ana", decision="accept",
                                           decided_at=dt.datetime(2025, 1, 1)))
    return study_path


def timed(work) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=40)
    parser.add_argument("--references", type=int, default=50, help="accepted references per document")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        study = load_study(build(folder, args.documents, args.references))
        result: dict[str, object] = {}

        def export() -> None:
            xml, sources, _ = project_files(study, case_data=False)
            write_qdpx(folder / "study.qdpx", xml, sources)
            result["xml"], result["sources"] = xml, sources

        export_time = timed(export)

        def baseline_write() -> None:
            with zipfile.ZipFile(folder / "plain.zip", "w", zipfile.ZIP_DEFLATED) as archive:
                archive.writestr("project.qde", result["xml"])  # type: ignore[arg-type]
                for name, data in result["sources"].items():  # type: ignore[attr-defined]
                    archive.writestr(f"sources/{name}", data)

        baseline_export = timed(baseline_write)
        target = folder / "target"
        target.mkdir()
        (target / "study.yaml").write_text("title: Target\n", encoding="utf-8")
        import_time = timed(lambda: import_qdpx(folder / "study.qdpx", load_study(target / "study.yaml")))
        baseline_import = timed(lambda: etree.fromstring(result["xml"]))  # type: ignore[arg-type]
    references = args.documents * args.references
    print(f"{args.documents} documents, {references} references")
    print(f"export: {export_time:.2f} s ({references / export_time:,.0f} references/s); zip of the same files "
          f"{baseline_export:.2f} s: {export_time / baseline_export:.1f}x")
    print(f"import: {import_time:.2f} s ({references / import_time:,.0f} references/s); lxml parse of the same "
          f"project.qde {baseline_import:.3f} s: {import_time / baseline_import:.0f}x")


if __name__ == "__main__":
    main()
