"""Scale: generated documents imported and coded (SQLite), wall time, peak memory and database size,
against the per-document path (one transaction per document, ORM objects) on a sample, in one run.

    python benchmarks/bench_scale.py [--docs 100000] [--kb 30] [--jobs 2] [--sample 1000] [--keep DIR]

The documents are paragraphs of real English prose from Debian's /usr/share/doc (decompressed;
only paragraphs that read as prose), cycled pseudo-randomly to about --kb kilobytes each, with
phrases of the default codebook sprinkled in; they are written one at a time to a temporary
folder (nothing committed). Import and coding each run in a child process, so the peak resident
memory printed is theirs (the largest of the writer and its workers); memory must not grow with
--docs (documents are streamed, never listed whole). The codebook's Hyperscan database is compiled
before any step is timed, in a temporary ``$SIBKIT_DATA`` (not yours), so no step pays the compile.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

DOC_ROOT = Path("/usr/share/doc")
CASE = "INDIGO-POJ-0110"


def prose_paragraphs(limit: int = 20_000) -> list[str]:
    """Paragraphs of English prose (mostly letters, at least 200 characters) from /usr/share/doc."""
    found: list[str] = []
    for path in sorted(DOC_ROOT.rglob("*")):
        if not path.is_file() or path.is_symlink() or path.suffix not in {"", ".gz", ".txt", ".md"}:
            continue
        try:
            data = path.read_bytes()
            body = (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8")
        except (OSError, UnicodeDecodeError, EOFError, gzip.BadGzipFile):
            continue
        for block in re.split(r"\n\s*\n", body):
            paragraph = " ".join(block.split())
            letters = sum(ch.isalpha() or ch == " " for ch in paragraph)
            if len(paragraph) >= 200 and letters >= 0.9 * len(paragraph) and "copyright" not in paragraph.lower():
                found.append(paragraph)
                if len(found) >= limit:
                    return found
    return found


def codebook_phrases() -> list[str]:
    """Literal terms of the default codebook (no wildcards, NEAR or exclusions needed)."""
    from sibkit.coding import load_codebook

    return [term.term for theme in load_codebook("relational-sib").themes for term in theme.terms
            if "*" not in term.term and "NEAR/" not in term.term]


def documents(count: int, kilobytes: float, seed: int = 5) -> Iterator[tuple[str, str]]:
    """(file name, text) of each generated document, one at a time."""
    paragraphs = prose_paragraphs()
    phrases = codebook_phrases()
    wanted = int(kilobytes * 1000)
    for index in range(count):
        rng = random.Random(seed * 1_000_003 + index)
        parts = [f"Evaluation report {index}"]
        size = len(parts[0])
        while size < wanted:
            paragraph = rng.choice(paragraphs)
            if rng.random() < 0.3:
                words = paragraph.split(" ")
                cut = rng.randrange(len(words))
                paragraph = " ".join([*words[:cut], rng.choice(phrases), *words[cut:]])
            parts.append(paragraph)
            size += len(paragraph) + 2
        yield f"{index // 1000:03}/doc{index:06}.txt", "\n\n".join(parts)


def write_corpus(folder: Path, count: int, kilobytes: float) -> int:
    """Write the documents under ``folder`` (1,000 per sub-folder); returns bytes written."""
    total = 0
    for name, body in documents(count, kilobytes):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        data = body.encode("utf-8")
        path.write_bytes(data)
        total += len(data)
    return total


def per_document_coding(store, codebook) -> None:  # type: ignore[no-untyped-def]
    """The coding loop before batching (kept here as the baseline): one transaction and one ORM
    object per reference, per document."""
    from sqlalchemy import select

    from sibkit.coding.coder import merge_hits
    from sibkit.coding.matcher import compile_codebook
    from sibkit.corpus.normalise import page_of
    from sibkit.store import CodingState, Document, Reference

    compiled = compile_codebook(codebook)
    hashes = {theme.id: theme.hash() for theme in codebook.themes if theme.terms}
    codebook_hash = codebook.hash()
    with store.session() as session:
        ids = session.scalars(select(Document.id).where(Document.status == "ok").order_by(Document.id)).all()
    for document_id in ids:
        with store.session() as session:
            document = session.get(Document, document_id)
            for hit in merge_hits([h for h in compiled.match(document.text) if h.theme in hashes]):
                session.add(Reference(document_id=document_id, theme=hit.theme, term=hit.term, start=hit.start,
                                      end=hit.end, page=page_of(hit.start, document.pages), origin="auto",
                                      codebook_hash=codebook_hash, negated=hit.negated))
            for theme, digest in hashes.items():
                session.add(CodingState(document_id=document_id, theme=theme, hash=digest))


def child(mode: str, url: str, folder: str, jobs: int) -> None:
    """One measured step in this (child) process; prints a JSON line."""
    from sibkit.coding import code_documents, load_codebook
    from sibkit.corpus import add_file, add_paths
    from sibkit.corpus.importer import iter_files
    from sibkit.store import open_store

    store = open_store(url)
    codebook = load_codebook("relational-sib")
    started = time.perf_counter()
    if mode == "import":
        report = add_paths(store, [Path(folder)], case_ids=[CASE], jobs=jobs)
        count = report.count("added")
    elif mode == "import-per-document":
        count = sum(add_file(store, path, case_ids=[CASE]).status == "added" for path in iter_files([Path(folder)]))
    elif mode == "code":
        count = code_documents(store, codebook, jobs=jobs).documents_coded
    else:
        per_document_coding(store, codebook)
        count = -1
    seconds = time.perf_counter() - started
    store.close()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"count": count, "seconds": seconds, "peak_mb": max(own, workers), "writer_mb": own}))


def measure(mode: str, url: str, folder: Path, jobs: int) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", mode, url, str(folder), str(jobs)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--kb", type=float, default=30, help="size of each document in kilobytes")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--sample", type=int, default=1000, help="documents for the per-document baseline")
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it (else a temporary one)")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, url, folder, jobs = args.child
        child(mode, url, folder, int(jobs))
        return
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp)
        base.mkdir(parents=True, exist_ok=True)
        # the children find the codebook compiled (untimed) in a data folder of their own, not the user's
        os.environ["SIBKIT_DATA"] = str(Path(tmp) / "data")
        from sibkit.coding import compile_codebook, load_codebook

        compile_codebook(load_codebook("relational-sib"))
        started = time.perf_counter()
        corpus, sample = base / "corpus", base / "sample"
        size = write_corpus(corpus, args.docs, args.kb)
        write_corpus(sample, min(args.sample, args.docs), args.kb)
        print(f"generated {args.docs:,} documents, {size / 1e6:,.0f} MB, in {time.perf_counter() - started:.0f} s "
              f"(sample for the baseline: {min(args.sample, args.docs):,})", flush=True)
        database = base / "scale.sqlite"
        baseline_db = base / "baseline.sqlite"
        old_import = measure("import-per-document", f"sqlite:///{baseline_db}", sample, 1)
        old_code = measure("code-per-document", f"sqlite:///{baseline_db}", sample, 1)
        new_import = measure("import", f"sqlite:///{database}", corpus, args.jobs)
        new_code = measure("code", f"sqlite:///{database}", corpus, args.jobs)
        db_mb = sum(p.stat().st_size for p in base.glob("scale.sqlite*")) / 1e6
        report(args, size, db_mb, old_import, old_code, new_import, new_code)  # before the clean-up (minutes)


def report(args: argparse.Namespace, size: int, db_mb: float, old_import: dict, old_code: dict, new_import: dict,
           new_code: dict) -> None:
    sample_n = min(args.sample, args.docs)
    print(f"{'step':34} {'documents':>10} {'seconds':>8} {'docs/s':>8} {'MB/s':>6} {'peak MB':>8} {'x baseline':>10}")
    rows = [("import, per document (baseline)", sample_n, old_import, None),
            (f"import, batched, --jobs {args.jobs}", args.docs, new_import, old_import),
            ("code, per document (baseline)", sample_n, old_code, None),
            (f"code, batched, --jobs {args.jobs}", args.docs, new_code, old_code)]
    for name, count, result, baseline in rows:
        rate = count / result["seconds"]
        ratio = rate / (sample_n / baseline["seconds"]) if baseline else 1.0
        print(f"{name:34} {count:>10,} {result['seconds']:8.1f} {rate:8.0f} {rate * args.kb / 1000:6.1f} "
              f"{result['peak_mb']:8.0f} {ratio:10.1f}")
    print(f"database size: {db_mb:,.0f} MB ({db_mb / (size / 1e6):.2f}x the text)", flush=True)


if __name__ == "__main__":
    main()
