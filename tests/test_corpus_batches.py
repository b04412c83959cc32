"""Batched import and coding: the same rows as one document at a time, with any --jobs, on SQLite and
PostgreSQL; bad files inside a batch; a run killed with SIGKILL resumes to the uninterrupted result."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from sibkit.coding import Codebook, code_documents
from sibkit.coding.coder import merge_hits
from sibkit.coding.matcher import compile_codebook
from sibkit.corpus import add_file, add_paths
from sibkit.corpus.extraction import count_words
from sibkit.corpus.importer import case_from_folder, iter_files
from sibkit.corpus.normalise import LIGATURES, drop_controls, normalise_page, page_of
from sibkit.store import CodingState, Document, DocumentCase, Reference, open_store

CASE_A, CASE_B = "INDIGO-POJ-0110", "INDIGO-POJ-0109"
CODEBOOK = Codebook.model_validate({"name": "tiny", "themes": [
    {"id": "partnership", "name": "Partnership", "definition": "Partners working together.",
     "terms": [{"term": "partnership working"}]},
    {"id": "coproduction", "name": "Co-production", "definition": "Made with the people who use them.",
     "terms": [{"term": "co-produc*"}]}]})


def expected_hits(body: str) -> list[tuple[str, int, int]]:
    """The tiny codebook's hits worked out with plain `re` (theme, start, end); the texts below have
    no overlapping or negated hits."""
    hits = [("partnership", m.start(), m.end()) for m in re.finditer(r"(?i)\bpartnership\s+working\b", body)]
    hits += [("coproduction", m.start(), m.end()) for m in re.finditer(r"(?i)\bco-produc\w*", body)]
    return sorted(hits, key=lambda h: (h[1], h[0]))


def document_text(index: int) -> str:
    words = " ".join(f"word{index * 7 + k}" for k in range(40))
    extra = "Plans were co-produced with residents. " if index % 3 == 0 else ""
    return f"Report {index}. {words}\nPartnership working was close. {extra}" + "Ordinary prose follows. " * 20


def make_corpus(root: Path, count: int) -> Path:
    """corpus/<case>/...: numbered text documents, one copy in both cases, and bad files among them."""
    corpus = root / "corpus"
    for case in (CASE_A, CASE_B):
        (corpus / case).mkdir(parents=True)
    for index in range(count):
        case = CASE_A if index % 2 else CASE_B
        (corpus / case / f"doc{index:03}.txt").write_text(document_text(index), encoding="utf-8")
    (corpus / CASE_A / "shared.txt").write_text(document_text(1000), encoding="utf-8")
    (corpus / CASE_B / "shared-copy.txt").write_text(document_text(1000), encoding="utf-8")
    (corpus / CASE_A / "doc001-again.txt").write_text(document_text(1), encoding="utf-8")  # same case: unchanged
    (corpus / CASE_A / "empty.txt").write_bytes(b"")
    (corpus / CASE_B / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (corpus / CASE_B / "table.xls").write_bytes(b"not read")
    os.mkfifo(corpus / CASE_A / "pipe.txt")
    outside = root / "outside.txt"
    outside.write_text("secret partnership working", encoding="utf-8")
    (corpus / CASE_B / "escape.txt").symlink_to(outside)
    return corpus


def database_rows(url: str) -> list[tuple]:
    store = open_store(url)
    with store.session() as session:
        documents = session.execute(select(Document.id, Document.sha256, Document.title, Document.origin,
                                           Document.text, Document.pages, Document.word_count, Document.status,
                                           Document.message, Document.doc_type).order_by(Document.id)).all()
        links = session.execute(select(DocumentCase.document_id, DocumentCase.case_id)
                                .order_by(DocumentCase.document_id, DocumentCase.case_id)).all()
        references = session.execute(select(Reference.document_id, Reference.theme, Reference.term, Reference.start,
                                            Reference.end, Reference.page, Reference.negated, Reference.origin)
                                      .order_by(Reference.document_id, Reference.start, Reference.theme)).all()
        states = session.execute(select(CodingState.document_id, CodingState.theme, CodingState.hash)
                                 .order_by(CodingState.document_id, CodingState.theme)).all()
    store.close()
    return [("document", *map(repr, row)) for row in documents] + [("link", *row) for row in links] + \
        [("reference", *row) for row in references] + [("state", *row) for row in states]


def outcome_lines(outcomes) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(o.line() for o in outcomes)


def reference_normalise(page: str) -> str:
    """normalise_page as it was written before it was made fast: every step on every text, control
    characters by their Unicode category one character at a time."""
    page = page.replace("\r\n", "\n").replace("\r", "\n")
    page = page.replace("\ufffe", "").replace("\x02", "").replace("\u00ad\n", "")
    page = re.sub("[\ufb00-\ufb06]", lambda m: LIGATURES[m.group(0)], page)
    page = re.sub(r"(\w)[-\u00ad]\n[ \t]*([a-z])", r"\1\2", page)
    page = "".join(ch for ch in page if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    page = re.sub(r"[ \t]+\n", "\n", page)
    page = re.sub(r"\n{3,}", "\n\n", page)
    return unicodedata.normalize("NFC", page).strip()


def test_control_characters_go_as_the_per_character_filter_removed_them() -> None:
    everything = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    expected = "".join(ch for ch in everything if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    assert drop_controls(everything) == expected
    assert drop_controls("plain text\twith\nno controls") == "plain text\twith\nno controls"
    assert normalise_page("a\x00b\x1bc\x85d\te\x7ff\n\x0cg") == "abcd\tef\ng"


def test_normalising_gives_what_every_step_on_every_text_gave() -> None:
    alphabet = [*"ab Zé-\n\t\r\x00\x07\x1f\x7f\x85\x9f\u00ad\ufb01\ufb03\ufffe\x02\u0301\u00e9\u2019.", "word"]
    rng = random.Random(7)
    for _ in range(3000):
        page = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40)))
        assert normalise_page(page) == reference_normalise(page), repr(page)
    for page in ("infor-\nmation", "co-\n  operation", "line \t\nnext\n\n\n\nend", "\ufb01nal \ufb04ow",
                 "e\u0301t\u00e9\r\nsecond", "ascii only, nothing to do"):
        assert normalise_page(page) == reference_normalise(page)


def test_word_counts_are_the_matches_of_the_plain_pattern() -> None:
    plain = re.compile(r"\w+(?:['’-]\w+)*")
    rng = random.Random(3)
    alphabet = [*"ab é-'’ .\n9_", "co-op", "don't"]
    for _ in range(2000):
        sample = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 30)))
        assert count_words(sample) == sum(1 for _ in plain.finditer(sample)), repr(sample)
    assert count_words("The co-operative's well-known, don’t-stop work - 3 times") == 7


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*"ab é-'’ .\n9_Σ\u0300٣日", "co-op", "don't", "\U0001f600", "\U00010400",
                                 "\ud800", "--", "'’"]), min_size=200, max_size=900))
def test_long_texts_count_the_words_the_pattern_finds(pieces: list[str]) -> None:
    """Texts long enough for the vectorised count (astral letters, lone surrogates, runs of connectors)."""
    sample = "".join(pieces)
    assert count_words(sample) == sum(1 for _ in re.finditer(r"\w+(?:['’-]\w+)*", sample))


def test_batches_and_jobs_store_what_one_document_at_a_time_stores(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path, 23)
    known = {CASE_A, CASE_B}
    # one transaction per document, as before batching: the reference result
    single = f"sqlite:///{tmp_path / 'single.sqlite'}"
    store = open_store(single)
    singles = []
    for path in iter_files([corpus]):
        if path.suffix == ".xls":
            continue
        case = case_from_folder(path, corpus, known)
        singles.append(add_file(store, path, case_ids=[case] if case else [], root=corpus))
    store.close()
    expected = database_rows(single)
    statuses = {o.origin.rsplit("/", 1)[-1]: o.status for o in singles}
    # folders and files in path order: CASE_B (…0109) first; "doc001-again" before "doc001."
    assert statuses["shared.txt"] == "linked" and statuses["doc001.txt"] == "unchanged"
    assert statuses["empty.txt"] == "empty" and statuses["binary.txt"] == "unsupported"
    assert statuses["pipe.txt"] == "refused" and statuses["escape.txt"] == "refused"
    for jobs, batch_size in ((1, 4), (2, 4), (2, 1000)):
        url = f"sqlite:///{tmp_path / f'batch-{jobs}-{batch_size}.sqlite'}"
        store = open_store(url)
        report = add_paths(store, [corpus], corpus_folder=corpus, known_cases=known, jobs=jobs, batch_size=batch_size)
        store.close()
        assert database_rows(url) == expected, (jobs, batch_size)
        lines = outcome_lines(report.outcomes)
        assert [line for line in lines if not line.endswith("table.xls: skipped (unsupported file type .xls)")] \
            == outcome_lines(singles)
        again = add_paths(open_store(url), [corpus], corpus_folder=corpus, known_cases=known, jobs=jobs,
                          batch_size=batch_size)
        assert again.count("unchanged") == 23 + 3  # numbered, shared pair, repeat
        assert again.count("empty") == 1 and again.count("unsupported") == 1  # said again: they hold no text
        assert database_rows(url) == expected


def code_and_rows(url: str, jobs: int, batch_size: int = 7) -> list[tuple]:
    store = open_store(url)
    report = code_documents(store, CODEBOOK, jobs=jobs, batch_size=batch_size)
    assert report.problems == []
    store.close()
    return database_rows(url)


def test_coding_in_batches_finds_the_hits_plain_re_finds(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path, 30)
    urls = [f"sqlite:///{tmp_path / f'code-{jobs}.sqlite'}" for jobs in (1, 2)]
    for url in urls:
        add_paths(open_store(url), [corpus], corpus_folder=corpus, known_cases={CASE_A, CASE_B})
    rows = code_and_rows(urls[0], jobs=1)
    assert code_and_rows(urls[1], jobs=2) == rows
    store = open_store(urls[0])
    with store.session() as session:
        documents = session.execute(select(Document.id, Document.text, Document.pages)
                                    .where(Document.status == "ok")).all()
    want = sorted((doc_id, theme, start, end) for doc_id, body, _ in documents
                  for theme, start, end in expected_hits(body))
    got = sorted((row[1], row[2], row[4], row[5]) for row in rows if row[0] == "reference")
    assert got == want and len(want) == 31 + 10  # 31 distinct documents; co-production in 0, 3, ..., 27
    # the matcher's own answer, document by document, with pages: the writer stores exactly that
    compiled = compile_codebook(CODEBOOK)
    direct = sorted((doc_id, h.theme, h.term, h.start, h.end, page_of(h.start, pages), h.negated, "auto")
                    for doc_id, body, pages in documents for h in merge_hits(compiled.match(body)))
    assert sorted(row[1:] for row in rows if row[0] == "reference") == direct
    again = code_documents(store, CODEBOOK, jobs=2)
    assert again.documents_coded == 0 and again.documents_unchanged == 31 and again.references_added == 0


@pytest.mark.postgres
def test_postgres_stores_the_same_rows_as_sqlite(tmp_path: Path, postgres) -> None:
    corpus = make_corpus(tmp_path, 25)
    sqlite_url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    postgres_url = postgres.new_database()
    add_paths(open_store(sqlite_url), [corpus], corpus_folder=corpus, known_cases={CASE_A, CASE_B}, jobs=1)
    report = add_paths(open_store(postgres_url), [corpus], corpus_folder=corpus, known_cases={CASE_A, CASE_B},
                       jobs=2, batch_size=6)
    assert report.count("added") == 26  # 25 numbered documents and the shared one
    assert code_and_rows(postgres_url, jobs=2) == code_and_rows(sqlite_url, jobs=1)


IMPORT_SCRIPT = """
import sys
from pathlib import Path
from sibkit.corpus import add_paths
from sibkit.store import open_store
store = open_store(sys.argv[1])
add_paths(store, [Path(sys.argv[2])], case_ids=["INDIGO-POJ-0110"], jobs=2, batch_size=10)
"""

CODE_SCRIPT = """
import sys
from sibkit.coding import Codebook, code_documents
from sibkit.store import open_store
codebook = Codebook.model_validate_json(sys.argv[2])
code_documents(open_store(sys.argv[1]), codebook, jobs=2, batch_size=10)
"""


def kill_when(script: list[str], url: str, table: type, at_least: int) -> int:
    """Start ``script``, SIGKILL it once ``table`` holds ``at_least`` rows; returns the rows then."""
    process = subprocess.Popen([sys.executable, "-c", *script])
    store = open_store(url)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and process.poll() is None:
            with store.session() as session:
                if session.scalar(select(func.count()).select_from(table)) >= at_least:
                    break
            time.sleep(0.02)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    with store.session() as session:
        assert session.scalar(text("PRAGMA integrity_check")) == "ok"
        count = session.scalar(select(func.count()).select_from(table)) or 0
    store.close()
    return count


def test_a_killed_batched_import_and_coding_resume_to_the_uninterrupted_result(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(600):
        (folder / f"doc{index:03}.txt").write_text(document_text(index) * 20, encoding="utf-8")
    whole, killed = f"sqlite:///{tmp_path / 'whole.sqlite'}", f"sqlite:///{tmp_path / 'killed.sqlite'}"
    store = open_store(whole)
    add_paths(store, [folder], case_ids=[CASE_A], jobs=2, batch_size=10)
    code_documents(store, CODEBOOK, jobs=2, batch_size=10)
    store.close()
    open_store(killed).close()

    done = kill_when([IMPORT_SCRIPT, killed, str(folder)], killed, Document, 10)
    assert 10 <= done < 600, "the import finished before it could be killed"
    store = open_store(killed)
    report = add_paths(store, [folder], case_ids=[CASE_A], jobs=2, batch_size=10)
    assert report.count("added") == 600 - done and report.count("unchanged") == done
    store.close()

    coded = kill_when([CODE_SCRIPT, killed, CODEBOOK.model_dump_json()], killed, CodingState, 20)
    assert 20 <= coded < 1200, "the coding finished before it could be killed"
    store = open_store(killed)
    resumed = code_documents(store, CODEBOOK, jobs=2, batch_size=10)
    assert resumed.documents_unchanged == coded // 2 and resumed.documents_coded == 600 - coded // 2
    store.close()
    assert database_rows(killed) == database_rows(whole)
    # the killed runs' workers (their command line names this test's folder) notice and exit
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        leftovers = subprocess.run(["pgrep", "-f", re.escape(str(tmp_path))], capture_output=True, text=True).stdout
        if not leftovers.split():
            break
        time.sleep(0.2)
    assert leftovers.split() == []


def sibkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sibkit", *args], capture_output=True, text=True, timeout=300)


def test_the_command_line_with_jobs(tmp_path: Path, indigo_dir: Path) -> None:
    root = Path(__file__).resolve().parents[1]
    study_text = (root / "examples" / "uk-sibs-2016-2021.yaml").read_text(encoding="utf-8")
    study_path = tmp_path / "study.yaml"
    study_path.write_text(study_text.replace("data: null", f"data: {indigo_dir}")
                          .replace("codebook: relational-sib", "codebook: tiny.yaml"), encoding="utf-8")
    (tmp_path / "tiny.yaml").write_text(CODEBOOK.model_dump_json(), encoding="utf-8")  # JSON is YAML
    make_corpus(tmp_path, 12)
    done = sibkit("corpus", "add", str(study_path), "--jobs", "2")
    assert done.returncode == 1  # the bad files are reported (empty, binary, FIFO, symlink out), the rest imported
    assert " ".join(done.stdout.split()).endswith(  # the summary line, however the console wrapped it
        "added: 13, empty: 1, linked: 1, refused: 2, skipped: 1, unchanged: 1, unsupported: 1")
    warnings = " ".join(done.stderr.split()).split("warning: ")[1:]
    assert len(warnings) == 4 and all(w.startswith(str(tmp_path / "corpus")) for w in warnings)
    assert any("pipe.txt: refused (a FIFO (named pipe), not a regular file; not read)" in w for w in warnings)
    done = sibkit("code", str(study_path), "--jobs", "2")
    assert done.returncode == 0, done.stderr
    # 13 readable documents: one partnership hit each, co-production in documents 0, 3, 6 and 9
    assert done.stdout.strip().startswith("Coded 13 documents (0 unchanged): 17 references added, 0 removed")
    again = sibkit("code", str(study_path), "-j", "0")
    assert again.stdout.strip().startswith("Coded 0 documents (13 unchanged)")


@pytest.mark.postgres
def test_concurrent_batched_imports_into_postgres_store_each_document_once(tmp_path: Path, postgres) -> None:
    """PostgreSQL lets batches of several processes race on the unique SHA-256: the loser's batch is
    stored again one document at a time, as links."""
    corpus = make_corpus(tmp_path, 40)
    url = postgres.new_database()
    open_store(url).close()
    script = ("import sys\nfrom pathlib import Path\nfrom sibkit.corpus import add_paths\n"
              "from sibkit.store import open_store\ncorpus = Path(sys.argv[2])\n"
              "report = add_paths(open_store(sys.argv[1]), [corpus], corpus_folder=corpus,\n"
              "                   known_cases={'INDIGO-POJ-0110', 'INDIGO-POJ-0109'}, batch_size=3)\n"
              "print(report.count('failed'))\n")
    processes = [subprocess.Popen([sys.executable, "-c", script, url, str(corpus)], stdout=subprocess.PIPE,
                                  text=True) for _ in range(3)]
    assert [p.communicate(timeout=300)[0].strip() for p in processes] == ["0"] * 3
    single = f"sqlite:///{tmp_path / 'single.sqlite'}"
    add_paths(open_store(single), [corpus], corpus_folder=corpus, known_cases={CASE_A, CASE_B})
    ignore_ids = [row[:1] + row[2:] for row in database_rows(single) if row[0] == "document"]
    got = [row[:1] + row[2:] for row in database_rows(url) if row[0] == "document"]
    assert sorted(got) == sorted(ignore_ids)  # every document once, with the same content
    store = open_store(url)
    with store.session() as session:
        # 40 numbered documents, the shared one in both cases, the empty and the binary file in theirs
        assert session.scalar(select(func.count()).select_from(DocumentCase)) == 40 + 2 + 2
