"""Selection and classification speed on an INDIGO export, against a baseline measured in the same run:
merely filtering the four outcome tables per project with pandas boolean masks (what a naive
classifier does before computing anything). Each timed run gets a freshly loaded dataset (its in-memory
caches empty) and selection an empty memo folder; all caches live in a temporary ``$SIBKIT_DATA``.

    python benchmarks/bench_classify.py [--data FOLDER] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from bench_load import best_of  # the benchmarks folder is on the path when a script runs

from sibkit.indigo import Dataset, load
from sibkit.outcomes import classify
from sibkit.study import parse_study, select

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "indigo" / "impact-bond-dataset-2025-05-20"
OUTCOME_TABLES = ("outcome_metrics", "results", "outcome_payments", "outcome_payment_commitments")


def naive_filtering(dataset: Dataset, project_ids: list[str]) -> None:
    for project_id in project_ids:
        for table in OUTCOME_TABLES:
            frame = dataset[table]
            frame[frame["project_id"] == project_id]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SIBKIT_DATA"] = str(Path(tmp) / "data")  # the typed cache and memos: not the user's
        rows = measure(args.data, args.repeat, Path(tmp))
    for name, seconds in rows:
        print(f"{name:45} {seconds * 1000:8.1f} ms  {seconds / rows[0][1]:6.2f}x baseline")


def measure(data: Path, repeat: int, tmp: Path) -> list[tuple[str, float]]:
    project_ids = list(load(data).projects["id"])
    study = parse_study("selection: [{countries: [GB]}, {live_years: {from: 2016, to: 2021}}, {min_documents: 4}]")

    def fresh() -> Dataset:  # per-dataset caches are part of what is measured
        return load(data)

    datasets = [fresh() for _ in range(3 * repeat)]
    baseline = best_of(repeat, lambda: naive_filtering(datasets.pop(), project_ids))

    memo_folders = iter(range(10_000))

    def run_select() -> None:
        os.environ["SIBKIT_DATA"] = str(tmp / f"select-{next(memo_folders)}")  # no reading list memoised yet
        study._dataset = datasets.pop()
        select(study)

    return [
        ("filter 4 tables per project (baseline)", baseline),
        (f"select: 3 steps over {len(project_ids)} projects, no memo", best_of(repeat, run_select)),
        (f"classify all {len(project_ids)} projects", best_of(repeat, lambda: classify(datasets.pop(),
                                                                                           project_ids))),
    ]


if __name__ == "__main__":
    main()
