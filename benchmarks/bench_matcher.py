"""Coding speed: sibkit's matcher (each engine) against one `re` per term and spaCy's PhraseMatcher.

    python benchmarks/bench_matcher.py [--mb 20] [--sample-mb 2] [--codebooks default]

The corpus is real English text installed on this machine (Debian's /usr/share/doc, decompressed,
and the documentation files shipped with installed Python packages), cycled up to --mb
megabytes; nothing is committed. sibkit codes the whole corpus; the slow baselines code a
--sample-mb sample and their MB/s is measured there (sibkit is measured on the sample too, and
its references must equal the `re` baseline's). Two codebooks: the default relational-sib, and a
500-term codebook (its terms plus frequent words and word pairs of the corpus). Each run is a
child process, so peak memory (max RSS) is its own; documents are streamed one at a time, and
setting a matcher up (compiling its patterns) is not timed, for any of them (the compiled databases are
kept in a temporary ``$SIBKIT_DATA``, not yours). MB/s is given by the
wall clock and by the CPU time of the process (the machine is shared: the CPU figure is the one
per core), and the ratio against `re` uses CPU time (its hits, like sibkit's, are kept only inside one
sentence: ``sibkit.text.sentences.crosses``). sibkit runs once per engine it can load
(hyperscan where installed; python, pyahocorasick), and a second pass over the corpus times the
scan alone, so the cost of hit building (NEAR pairs, exclusions, negation) is its difference (an untimed
pass first compiles the patterns the corpus needs, which sibkit does lazily; without it the scan-alone
pass paid those compiles and hit building came out negative). The anchor for the engine is
Hyperscan's own scan of the same patterns with a callback that only counts
its reports (what any Python program using them pays before finishing a single hit).
"""

from __future__ import annotations

import argparse
import collections
import gzip
import hashlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOTS = [Path("/usr/share/doc"), Path(sys.prefix) / "lib"]
GOAL_MB_S = 100  # issue 30: matching at 100 MB/s per core with the default codebook
GOAL_X_RE = 300  # and 300 times a naive matcher of one `re` per term, with identical hits
SUFFIXES = {".txt", ".md", ".rst", ".html", ".gz"}


def build_corpus(target: Path, megabytes: float) -> int:
    """Write real English text to ``target`` (documents separated by form feeds); returns bytes."""
    texts: list[str] = []
    size = 0
    for root in ROOTS:
        for path in sorted(root.rglob("*")):
            if path.suffix not in SUFFIXES or not path.is_file() or (
                    "site-packages" in str(path) and path.suffix == ".gz"):
                continue
            try:
                data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
                text = data.decode("utf-8")
            except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile):
                continue
            if path.suffix == ".html":
                text = re.sub(r"<[^>]+>", " ", text)
            texts.append(text)
            size += len(text.encode())
            if size > 60e6:
                break
    wanted = int(megabytes * 1e6)
    with target.open("w", encoding="utf-8") as out:
        written = 0
        while written < wanted:
            for text in texts:
                out.write(text + "\f")
                written += len(text.encode()) + 1
                if written >= wanted:
                    break
    return written


def documents(path: Path, limit_bytes: int | None = None) -> list[str]:
    text = path.read_text(encoding="utf-8")
    if limit_bytes is not None:
        text = text.encode()[:limit_bytes].decode("utf-8", errors="ignore")
    return text.split("\f")


def stream_documents(path: Path) -> Iterator[str]:
    """The corpus one document at a time, read in 1 MB chunks (the corpus is never held whole)."""
    with path.open(encoding="utf-8") as source:
        pending = ""
        while chunk := source.read(1 << 20):
            *complete, pending = (pending + chunk).split("\f")
            yield from complete
        yield pending


def big_codebook(corpus: Path) -> dict:
    """The default codebook plus frequent words and pairs of the corpus, up to 500 terms."""
    from sibkit.coding import load_codebook

    base = load_codebook("relational-sib").model_dump()
    sample = documents(corpus, 5_000_000)
    words = collections.Counter(w for doc in sample for w in re.findall(r"[a-z]{4,}", doc.lower()))
    pairs = collections.Counter(" ".join(p) for doc in sample[:2000]
                                for p in zip(*[iter(re.findall(r"[a-z]{3,}", doc.lower()))] * 2, strict=False))
    existing = sum(len(t["terms"]) for t in base["themes"])
    extra = [w for w, _ in words.most_common(300)] + [p for p, _ in pairs.most_common(500 - existing - 300)]
    base["themes"].append({"id": "frequent", "name": "Frequent words", "terms": [{"term": t} for t in extra]})
    return base


def plain(book: dict) -> dict:
    """The codebook without NEAR or PRE terms, exclusions and skip contexts: what every matcher can do."""
    themes = []
    for theme in book["themes"]:
        terms = [{**t, "exclude": []} for t in theme["terms"] if "NEAR/" not in t["term"] and "PRE/" not in t["term"]]
        themes.append({**theme, "terms": terms, "skip_contexts": []})
    return {**book, "themes": themes}


def peak_memory_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it is not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_child(mode: str, corpus: str, codebook_json: str) -> dict:
    from sibkit.coding import Codebook, compile_codebook
    from sibkit.coding.matcher import phrase_forms

    codebook = Codebook.model_validate(json.loads(Path(codebook_json).read_text()))
    hits: set = set()
    megabytes = 0.0
    extra: dict = {}
    # setup (compiling patterns, automata, tables) is done before the clock starts, for every matcher
    if mode.startswith("sibkit"):
        compiled = compile_codebook(codebook, mode.removeprefix("sibkit-"))
        compiled.match("warm up the character tables")
        for doc in stream_documents(Path(corpus)):  # untimed: each literal's exact pattern compiled on first need
            compiled._spans(doc)
        scan_cpu = time.process_time()
        for doc in stream_documents(Path(corpus)):
            compiled._spans(doc)
        extra["scan_cpu"] = time.process_time() - scan_cpu
        start, start_cpu = time.perf_counter(), time.process_time()
        for index, doc in enumerate(stream_documents(Path(corpus))):
            megabytes += len(doc.encode()) / 1e6
            hits.update((index, h.theme, h.term, h.start, h.end) for h in compiled.match(doc))
    elif mode == "hyperscan-raw":  # the anchor: Hyperscan's scan of sibkit's own patterns, reports only counted
        compiled = compile_codebook(codebook, "hyperscan")
        databases = list(compiled._scanner._databases.values())  # type: ignore[union-attr]
        reports = [0]

        def count(*_: object) -> None:
            reports[0] += 1

        start, start_cpu = time.perf_counter(), time.process_time()
        for doc in stream_documents(Path(corpus)):
            megabytes += len(doc.encode()) / 1e6
            data = doc.encode("ascii", "replace")
            for database in databases:
                database.scan(data, match_event_handler=count)
        extra["reports"] = reports[0]
    elif mode == "re":
        from sibkit.coding.matcher import fold_case

        # one compiled `re` per literal form, scanned with finditer over a lookahead so overlaps are kept
        patterns = []
        for theme in codebook.themes:
            for term in theme.terms:
                for form in phrase_forms(term.term, term.variants):
                    body = "".join(r"\s+" if c == " " else r"\w*" if c == "*" else re.escape(c)
                                   for c in fold_case(form))
                    tail = "" if form.endswith("*") else r"(?!\w)"
                    patterns.append((theme.id, term.term, re.compile(r"(?<!\w)(?=(" + body + tail + "))")))
        from sibkit.text.sentences import crosses

        start, start_cpu = time.perf_counter(), time.process_time()
        for index, doc in enumerate(stream_documents(Path(corpus))):
            megabytes += len(doc.encode()) / 1e6
            folded = fold_case(doc)
            for theme_id, term_text, pattern in patterns:
                for found in pattern.finditer(folded):
                    if not crosses(doc, found.start(1), found.end(1)):  # a phrase stays in one sentence
                        hits.add((index, theme_id, term_text, found.start(1), found.end(1)))
    elif mode == "spacy":
        import spacy
        from spacy.matcher import PhraseMatcher

        nlp = spacy.blank("en")
        matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        for theme in codebook.themes:
            for term in theme.terms:
                if term.near or "*" in term.term:
                    continue
                matcher.add(f"{theme.id}|{term.term}", [nlp.make_doc(f) for f in phrase_forms(term.term)])
        start, start_cpu = time.perf_counter(), time.process_time()
        for index, doc in enumerate(stream_documents(Path(corpus))):
            megabytes += len(doc.encode()) / 1e6
            parsed = nlp.make_doc(doc)
            for key, first, last in matcher(parsed):
                span = parsed[first:last]
                theme_id, term_text = nlp.vocab.strings[key].split("|", 1)
                hits.add((index, theme_id, term_text, span.start_char, span.end_char))
    seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    peak_mb = peak_memory_mb()
    return {"mode": mode, "mb": megabytes, "seconds": seconds, "cpu": cpu, "peak_mb": peak_mb, "hits": len(hits),
            "digest": hashlib.sha256(repr(sorted(hits)).encode()).hexdigest(), **extra}


def child(mode: str, corpus: Path, codebook: Path) -> dict | None:
    command = [sys.executable, __file__, "--child", mode, str(corpus), str(codebook)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  ({mode} did not run: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else '?'})")
        return None
    return json.loads(done.stdout)


def engines() -> list[str]:
    from sibkit.coding.matcher import hyperscan_available

    return (["hyperscan"] if hyperscan_available() else []) + ["python"]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        mode, corpus, codebook = sys.argv[2:5]
        print(json.dumps(run_child(mode, corpus, codebook)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=20)
    parser.add_argument("--sample-mb", type=float, default=2)
    parser.add_argument("--codebooks", choices=["default", "all"], default="all",
                        help="default: relational-sib only; all: also a 500-term codebook")
    args = parser.parse_args()
    from sibkit.coding import load_codebook

    available = engines()
    with tempfile.TemporaryDirectory() as tmp:
        # the children's compiled Hyperscan databases are kept here, not in the user's data folder
        os.environ["SIBKIT_DATA"] = str(Path(tmp) / "data")
        corpus = Path(tmp) / "corpus.txt"
        size = build_corpus(corpus, args.mb)
        sample_path = Path(tmp) / "sample.txt"
        sample_text = corpus.read_bytes()[: int(args.sample_mb * 1e6)].decode("utf-8", errors="ignore")
        sample_path.write_text(sample_text, encoding="utf-8")
        books = {"relational-sib": load_codebook("relational-sib").model_dump()}
        if args.codebooks == "all":
            books["500 terms"] = big_codebook(corpus)
        print(f"corpus: {size / 1e6:.0f} MB of installed documentation text; baselines on a {args.sample_mb:g} MB "
              f"sample; engines: {', '.join(available)}")
        print(f"{'codebook':21} {'matcher':36} {'MB':>6} {'MB/s':>7} {'cpu MB/s':>9} {'peak MB':>8} {'hits':>8} "
              f"{'x re':>7}")
        for label, book in books.items():
            path = Path(tmp) / f"{label}.json"
            path.write_text(json.dumps(book))
            plain_path = Path(tmp) / f"{label}-plain.json"
            plain_path.write_text(json.dumps(plain(book)))
            terms = sum(len(t["terms"]) for t in book["themes"])
            rows = [(f"sibkit {engine} (whole corpus)", child(f"sibkit-{engine}", corpus, path))
                    for engine in available]
            if "hyperscan" in available:
                rows.append(("raw Hyperscan, sibkit's patterns (anchor)", child("hyperscan-raw", corpus, path)))
            rows += [(f"sibkit {engine} (sample, plain terms)", child(f"sibkit-{engine}", sample_path, plain_path))
                     for engine in available]
            rows += [("re, one per term (sample)", child("re", sample_path, plain_path)),
                     ("spaCy PhraseMatcher (sample)", child("spacy", sample_path, plain_path))]
            re_row = next((r for n, r in rows if r and n.startswith("re")), None)
            re_speed = re_row["mb"] / re_row["cpu"] if re_row else None
            for name, row in rows:
                if row is None:
                    continue
                speed = row["mb"] / row["cpu"]
                ratio = f"{speed / re_speed:7.1f}" if re_speed else "      -"
                print(f"{label + f' ({terms})':21} {name:36} {row['mb']:6.1f} {row['mb'] / row['seconds']:7.2f} "
                      f"{speed:9.2f} {row['peak_mb']:8.0f} {row['hits']:8} {ratio}")
            for name, row in rows:
                if row and "scan_cpu" in row and "whole" in name:
                    building = row["cpu"] - row["scan_cpu"]
                    print(f"  {name}: scan alone {row['mb'] / row['scan_cpu']:.1f} MB/s cpu; hit building (NEAR "
                          f"pairs, exclusions, negation) {building / row['cpu']:.0%} of the time, "
                          f"{1e3 * building / row['mb']:.2f} ms per MB")
            whole = [r for n, r in rows if r and "whole" in n]
            if len(whole) == 2:
                fast, slow = (r["mb"] / r["cpu"] for r in whole)
                same = whole[0]["digest"] == whole[1]["digest"]
                print(f"  hyperscan / python engine (whole corpus, cpu): {fast / slow:.1f}x; identical references: "
                      f"{'yes' if same else 'NO'}")
            best = next((r for n, r in rows if r and n == f"sibkit {available[0]} (whole corpus)"), None)
            if best is not None and label == "relational-sib":
                speed = best["mb"] / best["cpu"]
                print(f"  goal >= {GOAL_MB_S:g} MB/s per core (default codebook, {available[0]}): "
                      f"{'met' if speed >= GOAL_MB_S else 'MISSED'} ({speed:.1f} MB/s cpu)")
                plain_name = f"sibkit {available[0]} (sample, plain terms)"
                plain_best = next((r for n, r in rows if r and n == plain_name), None)
                if plain_best is not None and re_speed:
                    times = plain_best["mb"] / plain_best["cpu"] / re_speed
                    print(f"  goal >= {GOAL_X_RE:g}x one re per term: {'met' if times >= GOAL_X_RE else 'MISSED'} "
                          f"({times:.0f}x)")
            sample_rows = [r for n, r in rows if r and "sample, plain" in n]
            same = re_row is not None and sample_rows and all(r["digest"] == re_row["digest"] for r in sample_rows)
            print(f"  sibkit ({', '.join(available)}) and re give identical references on the sample: "
                  f"{'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
