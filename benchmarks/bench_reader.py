"""Scoring speed of the learned second reader beside the keyword matcher, on the same sentences, same run.

    python benchmarks/bench_reader.py [--sentences 20000] [--reader packaged|FILE]

The sentences are the passages of the labelled set (tests/data/relational-sib-labelled.csv, every split)
split into sentences and cycled up to --sentences. One core: BLAS and OpenMP held to one thread, and both
are timed by the CPU time of this process (the machine is shared) as well as the wall clock. The reader
scores batches of 1,000 sentences with both heads (what `sibkit codebook read` does); the matcher runs
each sentence through the compiled default codebook (compiling is not timed, nor is loading the reader).
The goal of issue 24: the reader scores >= 2,000 sentences/s on one core.
"""

from __future__ import annotations

import os

for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from sibkit.coding import compile_codebook, load_codebook, read_labelled  # noqa: E402
from sibkit.secondreader.files import load_named  # noqa: E402
from sibkit.text.sentences import split_sentences  # noqa: E402

LABELLED = Path(__file__).resolve().parent.parent / "tests" / "data" / "relational-sib-labelled.csv"


def timed(work) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=20_000)
    parser.add_argument("--reader", default="packaged")
    args = parser.parse_args()
    codebook = load_codebook("relational-sib")
    texts = list(read_labelled(LABELLED)["text"])
    pool = [text[s.start:s.end] for text in texts for s in split_sentences(text)]
    sentences = [pool[i % len(pool)] for i in range(args.sentences)]
    words = sum(len(s.split()) for s in sentences)
    print(f"{len(sentences):,} sentences ({words / len(sentences):.1f} words each on average), one core")
    compiled = compile_codebook(codebook)
    compiled.match(sentences[0])
    reader = load_named(args.reader, codebook, Path.cwd())
    reader.both(sentences[:10])

    def match() -> None:
        for sentence in sentences:
            compiled.match(sentence)

    def score() -> None:
        for first in range(0, len(sentences), 1000):
            reader.both(sentences[first:first + 1000])

    rows = []
    for name, work in ((f"keyword matcher ({compiled.engine if hasattr(compiled, 'engine') else 'default'})", match),
                       (f"learned reader ({reader.features}, both heads)", score)):
        wall, cpu = timed(work)
        rows.append((name, len(sentences) / wall, len(sentences) / max(cpu, 1e-9)))
    baseline = rows[0][2]
    print(f"{'':48} {'sentences/s (wall)':>20} {'sentences/s (CPU)':>18} {'x matcher (CPU)':>16}")
    for name, by_wall, by_cpu in rows:
        print(f"{name:48} {by_wall:20,.0f} {by_cpu:18,.0f} {by_cpu / baseline:16.2f}")
    goal = rows[1][2]
    print(f"goal >= 2,000 sentences/s on one core: {'met' if goal >= 2000 else 'NOT met'} ({goal:,.0f} by CPU time)")


if __name__ == "__main__":
    main()
