"""Suggesting passages by meaning, on CPU: the packaged MiniLM (the `semantic` extra) against a
baseline measured in the same run (keyword coding of the same corpus, and the hashing stand-in).

Prints model load time, sentences per second with 1 and 2 torch threads, peak memory (RSS), and
the time of `suggest` over the example study's corpus (INDIGO records of its selected cases)
with an empty embedding cache and again with a warm one. Needs the `semantic` extra for the model's
figures; without it the script says so in one line and times `suggest` with the hashing stand-in.

    python benchmarks/bench_suggest.py [--data FOLDER] [--sentences 256] [--big] [--compare MODEL]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "indigo" / "impact-bond-dataset-2025-05-20"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def example_study(folder: Path, data: Path):  # type: ignore[no-untyped-def]
    """The example study, copied into ``folder`` with its data path set, its INDIGO records stored and coded."""
    from sibkit.coding import code_study
    from sibkit.corpus import add_indigo_records, open_study_store
    from sibkit.study import load_study, select

    text = (ROOT / "examples" / "uk-sibs-2016-2021.yaml").read_text(encoding="utf-8")
    path = folder / "study.yaml"
    path.write_text(text.replace("data: null", f"data: {data}"), encoding="utf-8")
    study = load_study(path)
    selection = select(study, study.dataset())
    add_indigo_records(open_study_store(study), study.dataset(), selection.selected)
    started = time.perf_counter()
    code_study(study)
    return study, time.perf_counter() - started


def corpus_sentences(study) -> list[str]:  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    from sibkit.corpus import open_study_store
    from sibkit.store import Document
    from sibkit.suggest import split_sentences

    with open_study_store(study).session() as session:
        texts = list(session.scalars(select(Document.text).where(Document.status == "ok")))
    return [text[s.start:s.end] for text in texts for s in split_sentences(text)]


def rate(embedder, sentences: list[str]) -> float:  # type: ignore[no-untyped-def]
    embedder.embed(sentences[:8])  # warm up
    started = time.perf_counter()
    embedder.embed(sentences)
    return len(sentences) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--sentences", type=int, default=256, help="sentences for the speed sample")
    parser.add_argument("--big", action="store_true", help="time the speed sample on every sentence of the corpus")
    parser.add_argument("--compare", action="append", default=[], metavar="MODEL",
                        help="also time this sentence-transformers model (name or folder, e.g. a distilled model2vec)")
    args = parser.parse_args()

    from sibkit.errors import SibkitError
    from sibkit.suggest import HashingEmbedder, load_embedder, suggest_study

    folder = Path(tempfile.mkdtemp(prefix="bench-suggest-"))
    os.environ["SIBKIT_DATA"] = str(folder / "data")  # the typed cache and the memos: not the user's
    try:
        study, coding_seconds = example_study(folder, args.data)
        sentences = corpus_sentences(study)
        sample = sentences if args.big else sentences[:args.sentences]
        characters = sum(len(s) for s in sentences)
        print(f"corpus: {len(sentences)} sentences ({characters / 1e6:.2f} M characters) in the INDIGO records of the "
              "example study's selected cases; speed sample: " + f"{len(sample)} sentences")

        baseline_rate = rate(HashingEmbedder(), sample)
        print(f"baseline  keyword coding of the corpus: {coding_seconds:.2f} s; hashing stand-in: "
              f"{baseline_rate:,.0f} sentences/s")

        rss_before = peak_rss_mb()
        started = time.perf_counter()
        try:
            model = load_embedder("packaged", threads=1)
        except SibkitError as missing:  # the semantic extra is optional: the rest is still measured
            print(f"packaged  not measured: {missing}")
            model = None
        if model is not None:
            load_seconds = time.perf_counter() - started
            print(f"packaged  {model.name} ({model.version}): loaded in {load_seconds:.2f} s")
            for threads in (1, 2):
                model.set_threads(threads)
                speed = rate(model, sample)
                print(f"packaged  {threads} thread{'s' if threads > 1 else ' '}: {speed:,.1f} sentences/s "
                      f"({baseline_rate / speed:,.0f}x slower than the stand-in)")
            print(f"peak RSS  {peak_rss_mb():,.0f} MB (before loading the model: {rss_before:,.0f} MB)")

        for other in args.compare:
            started = time.perf_counter()
            try:
                compared = load_embedder(other, threads=1)
            except SibkitError as missing:
                print(f"compare   {other}: not measured: {missing}")
                continue
            seconds = time.perf_counter() - started
            speeds = []
            for threads in (1, 2):
                compared.set_threads(threads)
                speeds.append(rate(compared, sample))
            print(f"compare   {other}: loaded in {seconds:.2f} s; {speeds[0]:,.1f} sentences/s (1 thread), "
                  f"{speeds[1]:,.1f} (2 threads); peak RSS so far {peak_rss_mb():,.0f} MB")

        if model is not None:
            model.set_threads(2)
        embedder, which = (model, "") if model is not None else (HashingEmbedder(), " (hashing stand-in)")
        for label in ("empty cache", "warm cache"):
            started = time.perf_counter()
            report = suggest_study(study, embedder=embedder)
            seconds = time.perf_counter() - started
            print(f"suggest   {label}{which}: {seconds:.1f} s ({report.documents_embedded} documents embedded, "
                  f"{report.documents_cached} cached, {sum(report.suggestions.values())} suggestions); "
                  f"{seconds / coding_seconds:,.1f}x keyword coding")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
