"""Paths and files from elsewhere: links out of their folder (named on the command line, in a manifest, a
REFI-QDA archive, a study file), lines for unsupported and repeated empty files, damaged and UTF-16 INDIGO
exports, a formula in a review id, the download deadline, batches bounded by bytes, and CI's apt lock."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from sibkit import hostile
from sibkit.errors import DataSourceError
from sibkit.store import Document, open_store
from sibkit.testing import LocalServer, Response, make_zip, run_cli

ROOT = Path(__file__).resolve().parents[1]
CASE = "INDIGO-POJ-0110"


@pytest.fixture()
def study(tmp_path: Path, indigo_dir: Path) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"title: Links\ndata: {indigo_dir}\n", encoding="utf-8")
    (tmp_path / "corpus" / CASE).mkdir(parents=True)
    (tmp_path / "corpus" / CASE / "evaluation.txt").write_text("Partnership working, evaluated.", encoding="utf-8")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(f"{hostile.SECRET} in a private file", encoding="utf-8")
    (tmp_path / "corpus" / CASE / "report.txt").symlink_to(outside / "secret.txt")
    return path


def texts(study: Path) -> list[str]:
    store = open_store(f"sqlite:///{study.with_suffix('.sqlite')}")
    with store.session() as session:
        found = list(session.scalars(select(Document.text)))
    store.close()
    return found


def test_a_file_named_on_the_command_line_that_links_out_of_its_folder(study: Path) -> None:
    folder = study.parent / "corpus" / CASE
    ran = run_cli("corpus", "add", str(study), *(str(p) for p in sorted(folder.iterdir())))
    assert ran.returncode == 1
    assert f"{folder / 'report.txt'}: refused" in ran.stderr and "--follow-links" in ran.stderr
    assert not any(hostile.SECRET in text for text in texts(study)) and len(texts(study)) == 1
    allowed = run_cli("corpus", "add", str(study), str(folder / "report.txt"), "--follow-links")
    assert allowed.returncode == 0, allowed.stderr
    assert any(hostile.SECRET in text for text in texts(study))


def test_a_manifest_that_is_a_link_and_rows_that_link_out(study: Path) -> None:
    outside = study.parent.parent / f"{study.parent.name}-outside"
    (outside / "manifest.csv").write_text(f"path,case_ids\n{study.parent / 'corpus' / CASE / 'evaluation.txt'},"
                                          f"{CASE}\n", encoding="utf-8")
    (study.parent / "manifest.csv").symlink_to(outside / "manifest.csv")
    ran = run_cli("corpus", "add", str(study), "--manifest", str(study.parent / "manifest.csv"))
    assert ran.returncode == 2 and "a link to" in ran.stderr and "--follow-links" in ran.stderr
    (study.parent / "rows.csv").write_text(f"path,case_ids\ncorpus/{CASE}/report.txt,{CASE}\n", encoding="utf-8")
    ran = run_cli("corpus", "add", str(study), "--manifest", str(study.parent / "rows.csv"))
    assert ran.returncode == 1 and "outside the manifest's folder" in ran.stderr
    assert not any(hostile.SECRET in text for text in texts(study))
    ran = run_cli("corpus", "add", str(study), "--manifest", str(study.parent / "rows.csv"), "--follow-links")
    assert ran.returncode == 0, ran.stderr
    assert any(hostile.SECRET in text for text in texts(study))


def test_an_archive_and_a_codebook_that_link_out(study: Path, tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    make_zip(outside / "p.qdpx", {"project.qde": '<?xml version="1.0" encoding="UTF-8"?><Project xmlns='
                                                 '"urn:QDA-XML:project:1.0" name="p"/>'})
    (tmp_path / "p.qdpx").symlink_to(outside / "p.qdpx")
    refused = run_cli("import", "qdpx", str(tmp_path / "p.qdpx"), str(study))
    assert refused.returncode == 2 and "a link to" in refused.stderr
    guid = f"{'1' * 8}-1111-4111-8111-{'1' * 12}"
    (outside / "c.qdc").write_text('<?xml version="1.0" encoding="utf-8"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0">'
                                   f'<Codes><Code guid="{guid}" name="A" isCodable="true"/></Codes></CodeBook>',
                                   encoding="utf-8")
    (tmp_path / "c.qdc").symlink_to(outside / "c.qdc")
    refused = run_cli("import", "qdc", str(tmp_path / "c.qdc"), "-o", str(tmp_path / "c.yaml"))
    assert refused.returncode == 2 and "a link to" in refused.stderr and not (tmp_path / "c.yaml").exists()
    assert run_cli("import", "qdc", str(tmp_path / "c.qdc"), "-o", str(tmp_path / "c.yaml"), "--follow-links"
                   ).returncode == 0
    assert run_cli("import", "qdpx", str(tmp_path / "p.qdpx"), str(study), "--follow-links").returncode == 0
    (outside / "book.yaml").write_text("name: b\nthemes:\n  - id: a\n    name: A\n    terms: [partnership]\n",
                                       encoding="utf-8")
    (tmp_path / "book.yaml").symlink_to(outside / "book.yaml")
    text = study.read_text(encoding="utf-8")
    study.write_text(text + "codebook: book.yaml\n", encoding="utf-8")
    ran = run_cli("code", str(study))
    assert ran.returncode == 2 and "book.yaml: a link to" in ran.stderr and "follow_links: true" in ran.stderr
    study.write_text(text + "codebook: book.yaml\nfollow_links: true\n", encoding="utf-8")
    assert run_cli("code", str(study)).returncode == 0


def test_unsupported_and_repeated_empty_files_each_get_a_line(study: Path) -> None:
    folder = study.parent / "corpus" / CASE
    (folder / "report.txt").unlink()
    (folder / "table.xls").write_bytes(b"\xd0\xcf\x11\xe0 not read")
    (folder / "empty-1.txt").write_bytes(b"")
    (folder / "empty-2.txt").write_bytes(b"")
    ran = run_cli("corpus", "add", str(study))
    assert f"{folder / 'table.xls'}: skipped (unsupported file type .xls)" in ran.stderr
    assert f"{folder / 'empty-1.txt'}: empty" in ran.stderr
    assert f"{folder / 'empty-2.txt'}: empty (the same bytes as {folder / 'empty-1.txt'}" in ran.stderr


def test_damaged_and_utf16_indigo_exports(indigo_dir: Path, tmp_path: Path) -> None:
    from sibkit.indigo import load

    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as target:
        for path in sorted(indigo_dir.iterdir()):
            if path.is_file():
                target.write(path, path.name)
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as source:
        info = source.getinfo("projects.csv")
    data[info.header_offset + 30 + len("projects.csv") + 200] ^= 0xFF
    (tmp_path / "damaged.zip").write_bytes(bytes(data))
    with pytest.raises(DataSourceError) as caught:
        load(tmp_path / "damaged.zip")
    message = str(caught.value)
    assert "projects.csv is damaged in the zip" in message and "no projects.csv found" not in message
    folder = tmp_path / "utf16"
    shutil.copytree(indigo_dir, folder)
    projects = folder / "projects.csv"
    text = projects.read_text(encoding="utf-8")
    projects.write_bytes(text.encode("utf-16"))  # with its byte order mark, as Excel's "Unicode text" writes
    loaded = load(folder)
    assert len(loaded.projects) == 319
    assert not any("Windows-1252" in issue.message for issue in loaded.issues if issue.where == "projects.csv")
    original = load(indigo_dir)
    assert list(loaded.projects["name"]) == list(original.projects["name"])


def test_a_formula_in_a_review_id_gets_its_own_message(tmp_path: Path) -> None:
    from sibkit.coding import import_decisions

    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "review"
    sheet.append(["id", "decision", "fingerprint"])
    sheet.append(["=1+1", "accept", "abc"])
    book.save(tmp_path / "review.xlsx")
    result = import_decisions(store, tmp_path / "review.xlsx", "ann", {"t"})
    assert len(result.problems) == 1
    assert "formula" in result.problems[0] and "=1+1" in result.problems[0]
    assert "manual reference" not in result.problems[0]


def test_a_stalled_download_costs_its_timeout_once(tmp_path: Path) -> None:
    from sibkit.corpus.fetch import Fetcher, FetchSettings

    routes = {"/stall": Response(200, b"x" * 50, "text/plain", byte_delay=0.2)}
    with LocalServer(routes) as server:
        fetcher = Fetcher(tmp_path / "cache", FetchSettings(timeout=1.0, retries=2, backoff=0.05, per_host_delay=0,
                                                            allow_networks=("127.0.0.1/32",)))
        download = fetcher.download(server.url + "/stall")
        fetcher.close()
        assert download.status == "timeout" and "1 s" in download.message
        assert server.requests.count("/stall") == 1  # the deadline is spent: not tried again
    flaky = {"/busy": Response(503, b"busy", "text/plain")}
    with LocalServer(flaky) as server:  # a quick failure is retried while time is left
        fetcher = Fetcher(tmp_path / "cache", FetchSettings(timeout=5.0, retries=2, backoff=0.05, per_host_delay=0,
                                                            allow_networks=("127.0.0.1/32",)))
        assert fetcher.download(server.url + "/busy").status == "http_error"
        fetcher.close()
        assert server.requests.count("/busy") == 3


def test_a_batch_is_committed_once_it_holds_its_bytes(tmp_path: Path) -> None:
    from sibkit.corpus.importer import ImportItem, import_items

    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    for number in range(6):
        (tmp_path / f"doc{number}.txt").write_text(f"Document {number}. " + "word " * 100_000, encoding="utf-8")
    committed: list[int] = []

    def seen(done: int, total: int) -> None:
        with store.session() as session:
            committed.append(session.scalar(select(func.count()).select_from(Document)) or 0)

    items = [ImportItem(tmp_path / f"doc{n}.txt") for n in range(6)]
    import_items(store, items, progress=seen, batch_bytes=1_000_000)  # two 500 kB texts per batch
    assert committed == [0, 2, 2, 4, 4, 6]
    store.close()


def test_ci_waits_for_the_apt_lock() -> None:
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    calls = [line for line in script.splitlines() if "apt-get" in line and not line.lstrip().startswith("#")]
    assert calls and all("DPkg::Lock::Timeout=" in line for line in calls), calls
