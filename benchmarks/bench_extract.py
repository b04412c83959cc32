"""PDF text extraction: pypdfium2 (sibkit's choice) against pdfminer.six and pypdf, in one run.

    python benchmarks/bench_extract.py [--pages 40]

Inputs: the REFI-QDA specification (../shared/refi-qda) and a PDF of generated report text the
benchmark writes with matplotlib. Prints pages/s, characters/s and the ratio to pypdfium2, and
how many of a few test phrases each library's text contains (a check of text quality). A library that is
not installed (pypdf, pdfminer.six: the bench extra) is named in one line and left out.
"""

from __future__ import annotations

import argparse
import io
import itertools
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

PHRASES = ["qualitative data analysis", "Copyright statement", "integrated partnership working",
           "co-production with service users", "theory of change"]


def build_report_pdf(path: Path, pages: int) -> None:
    """A multi-page PDF with a real text layer, written by matplotlib."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    paragraph = ("The evaluation found that close integrated partnership working and co-production with "
                 "service users went with better outcomes; the theory of change was revisited each year. ")
    with PdfPages(path, metadata={"CreationDate": None, "ModDate": None}) as pdf:
        for page in range(pages):
            figure = plt.figure(figsize=(8.27, 11.69))
            lines = textwrap.wrap(f"Page {page + 1}. " + paragraph * 12, 95)
            for index, line in enumerate(lines[:55]):
                figure.text(0.06, 0.95 - index * 0.016, line, fontsize=8, family="DejaVu Sans")
            pdf.savefig(figure)
            plt.close(figure)


def pdfium_pages(data: bytes) -> list[str]:
    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(data)
    try:
        return [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()


def pypdf_pages(data: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def pdfminer_pages(data: bytes) -> list[str]:
    from pdfminer.high_level import extract_pages
    from pdfminer.layout import LTTextContainer

    out = []
    for layout in extract_pages(io.BytesIO(data)):
        out.append("".join(e.get_text() for e in layout if isinstance(e, LTTextContainer)))
    return out


def sibkit_pages(data: bytes) -> list[str]:
    from sibkit.corpus import extract

    result = extract(data, "x.pdf")
    bounds = [*result.pages, len(result.text)]
    return [result.text[a:b] for a, b in itertools.pairwise(bounds)]


LIBRARIES: list[tuple[str, Callable[[bytes], list[str]]]] = [
    ("pypdfium2 (raw)", pdfium_pages), ("sibkit extract (pypdfium2 + normalising)", sibkit_pages),
    ("pypdf", pypdf_pages), ("pdfminer.six", pdfminer_pages),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=40, help="pages of the generated report PDF")
    parser.add_argument("--spec", default="../shared/refi-qda/REFI-QDA-1-5.pdf")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "report.pdf"
        build_report_pdf(report, args.pages)
        inputs = [("REFI-QDA spec", Path(args.spec).read_bytes()), ("generated report", report.read_bytes())]
        print(f"{'input':18} {'library':42} {'pages':>6} {'pages/s':>9} {'chars/s':>11} {'x pdfium':>9} phrases")
        missing: set[str] = set()
        for label, data in inputs:
            baseline = None
            for name, extract_pages in LIBRARIES:
                if name in missing:
                    continue
                try:
                    extract_pages(data)  # warm-up: imports and first-call costs
                except ImportError as exc:  # pypdf and pdfminer.six come with the bench extra
                    missing.add(name)
                    print(f"{name}: not measured ({exc}; pip install -e '.[bench]')")
                    continue
                seconds = float("inf")
                for _ in range(2):
                    start = time.perf_counter()
                    pages = extract_pages(data)
                    seconds = min(seconds, time.perf_counter() - start)
                text = " ".join(" ".join(pages).split())
                baseline = baseline or seconds
                found = sum(phrase.casefold() in text.casefold() for phrase in PHRASES)
                print(f"{label:18} {name:42} {len(pages):6} {len(pages) / seconds:9.0f} "
                      f"{len(text) / seconds:11.0f} {seconds / baseline:9.1f} {found}/{len(PHRASES)}")


if __name__ == "__main__":
    main()
