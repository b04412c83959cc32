"""Hostile files and manifests against the corpus importer: every item gets its own status and a
line naming it, the batch goes on, nothing outside the corpus folder is read, extraction stays
within its time and memory budget."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from sibkit import hostile
from sibkit.corpus.budget import Budget, ExtractionWorker
from sibkit.corpus.importer import add_file, add_paths, read_manifest, read_regular_file
from sibkit.errors import SibkitError
from sibkit.store import Document, open_store

FINE = ("added", "linked", "unchanged")


@pytest.fixture()
def store(tmp_path: Path):
    return open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")


def stored(store) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with store.session() as session:
        return dict(session.execute(select(Document.origin, Document.text)).all())


def test_damaged_docx_files_each_get_a_status_and_the_batch_goes_on(store, tmp_path: Path) -> None:
    folder = tmp_path / "corpus" / "CASE"
    folder.mkdir(parents=True)
    damaged = hostile.damaged_docx(3)
    for name, data in damaged.items():
        (folder / f"a-{name}").write_bytes(data)
    (folder / "z-good.docx").write_bytes(hostile.docx(["Partnership working after the damaged files."]))
    report = add_paths(store, [tmp_path / "corpus"], corpus_folder=tmp_path / "corpus", known_cases={"CASE"})
    by_name = {Path(o.origin).name.removeprefix("a-"): o for o in report.outcomes}
    assert len(by_name) == len(damaged) + 1
    assert by_name["z-good.docx"].status == "added"
    assert "Partnership working after the damaged files." in stored(store)[str(folder / "z-good.docx")]
    expected = {"compression-99.docx": "compression method 99", "compression-9.docx": "compression method 9",
                "encrypted-entry.docx": "encrypted", "zip-bomb.docx": "zip bomb", "diluted-bomb.docx": "zip bomb",
                "xml-entities.docx": "XML entities", "external-entity.docx": "XML entities",
                "truncated-50.docx": "broken zip", "lying-size-huge.docx": "zip bomb"}
    for name, words in expected.items():
        assert by_name[name].status == "failed" and words in by_name[name].message, by_name[name]
    for name in ("crc-mismatch.docx", "lying-size-small.docx", "malformed-xml.docx", "not-a-zip.docx"):
        assert by_name[name].status == "failed" and by_name[name].message, by_name[name]
    for outcome in report.outcomes:
        assert outcome.status in (*FINE, "failed", "unsupported", "empty"), outcome
        assert outcome.status in FINE or outcome.message


def test_nothing_outside_the_corpus_folder_is_read(store, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    (corpus / "CASE").mkdir(parents=True)
    (corpus / "CASE" / "inside.txt").write_text("Co-production inside the corpus.", encoding="utf-8")
    made = hostile.special_files(corpus / "CASE", tmp_path / "outside")
    started = time.monotonic()
    report = add_paths(store, [corpus], corpus_folder=corpus, known_cases={"CASE"})
    assert time.monotonic() - started < 30  # the FIFO and /dev/zero did not block or stream forever
    by_name = {Path(o.origin).name: o for o in report.outcomes}
    assert by_name["inside.txt"].status == "added"
    for name in ("secret-link.txt", "passwd-link.txt", "status-link.txt", "zero-link.txt", "urandom-link.pdf",
                 "relative-escape.txt"):
        assert by_name[name].status == "refused" and "outside" in by_name[name].message, by_name[name]
    assert by_name["linked-folder"].status == "refused" and "symlinked folder" in by_name["linked-folder"].message
    assert by_name["fifo.txt"].status == "refused" and "FIFO" in by_name["fifo.txt"].message
    assert by_name["dangling-link.txt"].status == "failed" and "dangling" in by_name["dangling-link.txt"].message
    texts = stored(store)
    assert not any(hostile.SECRET in text or "root:" in text for text in texts.values())
    # names that are not UTF-8 are imported, shown with \\x escapes
    assert {"latin1-\\xe9t\\xe9.txt", "bad-\\xff\\xfe.txt"} <= {Path(o).name for o in texts}
    assert len(made) == 12 and len(report.outcomes) == 13


def test_devices_fifos_and_oversized_streams_named_directly(store, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    outcomes = [add_file(store, Path(p)) for p in (fifo, Path("/dev/zero"), Path("/dev/urandom"), tmp_path)]
    assert [o.status for o in outcomes] == ["refused"] * 4
    assert "FIFO" in outcomes[0].message and "device" in outcomes[1].message and "folder" in outcomes[3].message
    big = tmp_path / "big.txt"
    big.write_bytes(b"a" * 5000)
    with pytest.raises(Exception, match="over the 1,000 byte limit"):
        read_regular_file(big, max_bytes=1000)
    assert add_file(store, big, max_bytes=1000).status == "too_large"


def test_manifest_paths_stay_in_the_manifest_folder(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "ok.txt").write_text("fine", encoding="utf-8")
    (tmp_path / "secret.txt").write_text(hostile.SECRET, encoding="utf-8")
    os.symlink(tmp_path / "secret.txt", folder / "sneaky.txt")
    text = ("path,case_ids,title,type,date\n"
            "ok.txt,A,Fine,review,2020\n"
            "../../etc/passwd,A,passwd,review,\n"
            "/proc/self/status,A,status,review,\n"
            f"{tmp_path / 'secret.txt'},A,absolute,review,\n"
            "sneaky.txt,A,symlink out,review,\n"
            f"ok.txt,A,{'t' * 200_000},review,\n"
            "ok.txt,A,Caf\u00e9,review,\n")
    for encoding in ("utf-8", "utf-16", "latin-1"):
        manifest = folder / f"manifest-{encoding}.csv"
        manifest.write_bytes(text.encode(encoding))
        rows, problems = read_manifest(manifest)
        assert [Path(str(r["path"])).name for r in rows] == ["ok.txt"] * 3, encoding
        assert rows[1]["title"] == "t" * 200_000 and rows[2]["title"] == "Caf\u00e9"
        assert [p.split(",")[0] for p in problems] == [f"manifest-{encoding}.csv row {n}" for n in (3, 4, 5, 6)]
        assert all("outside the manifest's folder" in p for p in problems)
    rows, problems = read_manifest(folder / "manifest-utf-8.csv", allow_outside=True)
    assert len(rows) == 7 and problems == []
    (folder / "broken.csv").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SibkitError, match="'path' column"):
        read_manifest(folder / "broken.csv")


def test_extraction_time_and_memory_budget(tmp_path: Path) -> None:
    # room enough that the clock, not the memory limit, stops the slow page
    worker = ExtractionWorker(Budget(seconds=1.0, memory_bytes=1024 * 1024 * 1024))
    try:
        slow = b"<html><body>" + b"<p>partnership <b>working</b> and co-production</p>" * 400_000 + b"</body></html>"
        started = time.monotonic()
        timed_out = worker.extract(slow, "slow.html")
        assert time.monotonic() - started < 10
        assert timed_out.status == "failed" and "over 1 s" in timed_out.message
        hungry = ("word " * 12_000_000).encode()  # 60 MB of text: decoding and normalising needs far more
        worker_small = ExtractionWorker(Budget(seconds=30.0, memory_bytes=100 * 1024 * 1024))
        try:
            result = worker_small.extract(hungry, "hungry.txt", max_bytes=100 * 1024 * 1024)
            assert result.status == "failed" and "memory budget" in result.message
            after = worker_small.extract(b"A small note on co-production.", "small.txt")
            assert (after.status, after.text) == ("ok", "A small note on co-production.")
        finally:
            worker_small.close()
        again = worker.extract(hostile.docx(["Still working after a kill."]), "ok.docx")
        assert (again.status, again.text) == ("ok", "Still working after a kill.")
    finally:
        worker.close()


def test_utf16_text_is_read_not_refused(store, tmp_path: Path) -> None:
    path = tmp_path / "note.txt"
    path.write_bytes("Shared responsibility, café.".encode("utf-16"))
    outcome = add_file(store, path)
    assert outcome.status == "added"
    assert stored(store)[str(path)] == "Shared responsibility, café."
