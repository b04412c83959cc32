"""The report's paper files (bibliography, DOCX): the new way against the old, in one process.

    python benchmarks/bench_paper.py [SOURCE] [--repeat N]

SOURCE: an INDIGO export folder or held release (default: the latest held in ``$SIBKIT_DATA``).
Three hot spots that a profile of a warm ``sibkit run examples/uk-sibs-2016-2021.yaml`` showed:

- ``paper.bibliography._listed``: built once per dataset now (``Dataset.cached``); the bibliography
  and the example citations each rebuilt it before. Old: the builder run twice; new: ``_listed`` twice.
- ``study.selection.document_key``: normalised a title twice, uncached; now once, with
  ``normalise_title`` memoised. Old: ``normalise_title.__wrapped__`` called as before.
- ``paper.docx`` tables: python-docx rebuilds ``row.cells`` on every access and ``add_row`` re-reads
  the grid; the writer took the cells once per cell and added rows one by one, now it makes every row
  with ``add_table`` and takes the cells once per row. Both build the same 12 x 300 table (same XML).

Each prints the median of N repeats, old / new, and checks that both give the same result.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any


def median_time(work: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def old_document_key(url: str | None, title: str | None) -> str | None:
    from sibkit.study.selection import normalise_title, normalise_url

    plain = normalise_title.__wrapped__  # type: ignore[attr-defined]
    if url and url.strip():
        return "url:" + normalise_url(url)
    if title and plain(title):
        return "title:" + plain(title)
    return None


def docx_table(rows: int, cols: int, new_way: bool) -> str:
    """The table's XML, written the old way (``add_row`` per row, ``row.cells`` per cell) or the new
    (every row made by ``add_table``, ``row.cells`` once per row)."""
    import docx

    document = docx.Document()
    grid = document.add_table(rows=rows if new_way else 0, cols=cols)
    grid.style = "Table Grid"
    for r in range(rows):
        if new_way:
            row_cells = grid.rows[r].cells
            for index in range(cols):
                row_cells[index].text = f"{r}-{index}"
        else:
            row = grid.add_row()
            for index in range(cols):
                row.cells[index].text = f"{r}-{index}"
    return grid._tbl.xml


def report(name: str, old: float, new: float) -> None:
    print(f"{name:<28} old {old * 1000:8.1f} ms   new {new * 1000:8.1f} ms   ratio {old / new:5.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", nargs="?", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import importlib

    from sibkit.indigo import load
    from sibkit.study.selection import document_key, normalise_title

    bibliography = importlib.import_module("sibkit.paper.bibliography")  # the package exports a function so named
    dataset = load(args.source)
    pairs = [(row.get("url") or row.get("archive_url"), row.get("name"))
             for row in dataset.sources.to_dict("records")]
    pairs = [(u if isinstance(u, str) else None, t if isinstance(t, str) else None) for u, t in pairs]

    def keys_old() -> list[str | None]:
        return [old_document_key(None, t) for _u, t in pairs] + [old_document_key(u, t) for u, t in pairs]

    def keys_new() -> list[str | None]:
        normalise_title.cache_clear()  # a run starts with an empty cache: count its misses too
        return [document_key(None, t) for _u, t in pairs] + [document_key(u, t) for u, t in pairs]

    old, expected = median_time(keys_old, args.repeat)
    new, got = median_time(keys_new, args.repeat)
    assert got == expected, "document_key changed its answer"
    report(f"document_key x{len(pairs) * 2}", old, new)

    def listed_old() -> Any:
        return [bibliography._build_listed(dataset), bibliography._build_listed(dataset)]

    def listed_new() -> Any:
        dataset._cache.pop("paper.listed", None)  # as on a fresh dataset
        return [bibliography._listed(dataset), bibliography._listed(dataset)]

    old, expected = median_time(listed_old, args.repeat)
    new, got = median_time(listed_new, args.repeat)
    assert got == expected, "_listed changed its answer"
    report("_listed, read twice", old, new)

    old, expected = median_time(lambda: docx_table(300, 12, False), args.repeat)
    new, got = median_time(lambda: docx_table(300, 12, True), args.repeat)
    assert got == expected, "the DOCX table changed"
    report("docx table 300 x 12", old, new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
