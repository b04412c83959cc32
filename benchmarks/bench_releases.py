"""``data diff`` on the real export: the diff of two releases against loading them, in one run.

    python benchmarks/bench_releases.py [EXPORT_FOLDER] [--repeat N]

The second release is the export with the declared edits of ``sibkit.releases.declared`` (a project added,
a stage changed, a result and a payment added, a document removed), written to a temporary folder.
Prints seconds (best of N) for: loading one release from its files (the typed cache cold: parsing and
typing), loading it again (the typed cache warm, as ``sibkit data diff`` usually finds it), the diff
itself, and the whole ``diff`` of two warm releases; each as a ratio to the cold load. Run from the
repository root with ``SIBKIT_DATA`` pointing at a scratch folder if you want to keep yours untouched.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench_load import best_of  # the benchmarks folder is on the path when a script runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", nargs="?", default="../shared/indigo/impact-bond-dataset-2025-05-20")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from sibkit.releases.declared import make_second_release

    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("SIBKIT_DATA", str(Path(tmp) / "data"))
        from sibkit.indigo.loader import _from_folder, load
        from sibkit.releases import diff, release_of

        first = Path(args.export)
        second = make_second_release(first, Path(tmp) / "second")
        counter = iter(range(10_000))

        def cold() -> object:  # a fresh typed cache each time: parsing and typing the CSV files
            os.environ["SIBKIT_DATA"] = str(Path(tmp) / f"cold-{next(counter)}")
            return _from_folder(first, str(first))

        cold_load = best_of(args.repeat, cold)
        os.environ["SIBKIT_DATA"] = str(Path(tmp) / "warm")
        load(first), load(second)
        warm_load = best_of(args.repeat, lambda: load(first))
        old, new = load(first), load(second)
        release_of(old), release_of(new)
        diff_only = best_of(args.repeat, lambda: diff(old, new))

        def whole() -> object:
            a, b = load(first), load(second)
            return diff(a, b)

        total = best_of(args.repeat, whole)
        changes = diff(old, new)
    print(f"data diff on the INDIGO export ({len(old.projects)} → {len(new.projects)} projects); best of {args.repeat}")
    for line in changes.summary_lines():
        print(f"  {line}")
    rows = [("load one release, typed cache cold (baseline)", cold_load),
            ("load one release, typed cache warm", warm_load),
            ("diff of two loaded releases", diff_only), ("load both (warm) and diff", total)]
    for label, seconds in rows:
        print(f"{label:<48} {seconds:8.3f} s  {seconds / cold_load:6.2f}× the cold load")


if __name__ == "__main__":
    main()
