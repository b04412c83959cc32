"""REFI-QDA projects that once ended ``import qdpx`` with a traceback, on SQLite and PostgreSQL: repeated
or missing GUIDs, a zip member larger than its header says, text a database cannot hold, values longer
than their columns; files named ``relative://`` or by ``plainTextPath`` outside the archive; a project
file too big for the memory budget. Each is one clear line, and the rest of the project is imported."""

from __future__ import annotations

import random
import string
import struct
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from sibkit.errors import SibkitError
from sibkit.interop import import_qdpx
from sibkit.interop.importer import import_project
from sibkit.interop.reader import Note, QdaProject
from sibkit.store import Document, Memo, open_store
from sibkit.store.models import QdaCase, QdaCode, QdaSet, QdaVariable
from sibkit.study import load_study
from sibkit.testing import make_zip

G = "00000000-0000-4000-8000-{:012d}".format


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def study(request, tmp_path: Path):
    database = request.getfixturevalue("postgres").new_database() if request.param == "postgresql" \
        else f"sqlite:///{tmp_path / 'study.sqlite'}"
    path = tmp_path / "study.yaml"
    path.write_text(f"title: Hostile projects\ncorpus:\n  database: {database}\n", encoding="utf-8")
    return load_study(path)


def project(body: str, name: str = "hostile") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><Project xmlns="urn:QDA-XML:project:1.0" name="{name}">'
            f"{body}</Project>")


def count(study, model) -> int:
    store = open_store(study.database_url())
    try:
        with store.session() as session:
            return session.scalar(select(func.count()).select_from(model)) or 0
    finally:
        store.close()


SOURCE = (f'<Sources><TextSource guid="{G(10)}" name="letters"><PlainTextContent>Alpha beta gamma.</PlainTextContent>'
          "</TextSource></Sources>")


def test_cases_sets_and_codes_with_the_same_or_no_guid(study, tmp_path: Path) -> None:
    body = (f'<CodeBook><Codes><Code guid="{G(1)}" name="Greek" isCodable="true"/>'
            f'<Code guid="{G(1)}" name="Greek again" isCodable="true"/></Codes></CodeBook>'
            f"{SOURCE}"
            f'<Cases><Case guid="{G(2)}" name="Case one"><SourceRef targetGUID="{G(10)}"/></Case>'
            f'<Case guid="{G(2)}" name="Case two"/><Case name="Case without a guid"/><Case guid="" name="Empty"/>'
            "</Cases>"
            f'<Sets><Set guid="{G(3)}" name="Set one"/><Set guid="{G(3)}" name="Set two"/><Set name="No guid"/></Sets>')
    result = import_qdpx(make_zip(tmp_path / "twice.qdpx", {"project.qde": project(body)}), study)
    lines = "\n".join(result.problems)
    assert f"Case 'Case two': guid {G(2)} is used by an earlier Case; skipped" in lines
    assert "Case 'Case without a guid' has no valid guid; skipped" in lines
    assert f"Set 'Set two': guid {G(3)} is used by an earlier Set; skipped" in lines
    assert "Set 'No guid' has no valid guid; skipped" in lines
    assert f"Code 'Greek again': guid {G(1)} is used by an earlier Code; skipped" in lines
    assert (count(study, QdaCase), count(study, QdaSet), count(study, QdaCode), count(study, Document)) == (1, 1, 1, 1)


def _understated(path: Path, member: str, data: bytes) -> Path:
    """A zip whose central and local headers say ``member`` holds fewer bytes than it does."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("project.qde", project(f'<Sources><TextSource guid="{G(10)}" name="big" '
                                                f'plainTextPath="internal://{member}"/></Sources>'))
        archive.writestr(f"sources/{member}", data)
    raw = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(f"sources/{member}")
    central = raw.rfind(b"PK\x01\x02")  # the last central header: the source's
    for offset in (info.header_offset + 18, info.header_offset + 22, central + 20, central + 24):
        struct.pack_into("<I", raw, offset, 10)  # compressed and uncompressed size: 10 bytes
    path.write_bytes(bytes(raw))
    return path


def test_a_member_larger_than_its_header_says(study, tmp_path: Path) -> None:
    archive = _understated(tmp_path / "lying.qdpx", "big.txt", b"Alpha beta gamma delta epsilon. " * 100)
    with pytest.raises(SibkitError) as caught:
        import_qdpx(archive, study)
    message = str(caught.value)
    assert "lying.qdpx: member 'sources/big.txt' cannot be read" in message and "\n" not in message


def test_text_a_database_cannot_hold_is_cleaned_with_a_line(study, tmp_path: Path) -> None:
    from sibkit.coding.study import study_codebook
    from sibkit.corpus import open_study_store

    parsed = QdaProject(name="p", origin="a tool", source="p.qdpx")
    parsed.notes[G(40)] = Note(G(40), "Memo with \ud800 a lone surrogate", "Text \udcff and NUL \x00 here", None,
                               None, "")
    store = open_study_store(study)
    result = import_project(parsed, store, study_codebook(study), "p.qdpx")
    assert any("characters a database cannot store" in p for p in result.problems)
    with store.session() as session:
        text = session.scalar(select(Memo.text))
    assert "\x00" not in text and "\ud800" not in text and "lone surrogate" in text
    store.close()


def test_nul_in_a_source_file_and_values_longer_than_their_columns(study, tmp_path: Path) -> None:
    body = (f'<CodeBook><Codes><Code guid="{G(1)}" name="Greek" isCodable="true" color="#{"f" * 300}"/></Codes>'
            "</CodeBook>"
            f'<Variables><Variable guid="{G(5)}" name="Budget" typeOfVariable="{"Float" * 40}"/></Variables>'
            f'<Sources><TextSource guid="{G(10)}" name="with nul" plainTextPath="internal://nul.txt">'
            f'<Description>sibkit document: {{"date": "{"2020" * 50}", "type": "evaluation"}}</Description>'
            f'<PlainTextSelection guid="{"x" * 300}" startPosition="0" endPosition="5" name="Alpha">'
            f'<Coding guid="{"y" * 300}"><CodeRef targetGUID="{G(1)}"/></Coding></PlainTextSelection>'
            f'<VariableValue><VariableRef targetGUID="{G(5)}"/><FloatValue>{"9" * 300}</FloatValue></VariableValue>'
            "</TextSource></Sources>"
            f'<Cases><Case guid="{G(2)}" name="{"C" * 300}"><SourceRef targetGUID="{G(10)}"/></Case></Cases>'
            f'<Users><User guid="{G(7)}" name="{"U" * 300}"/></Users>')
    archive = make_zip(tmp_path / "long.qdpx", {"project.qde": project(body),
                                                "sources/nul.txt": b"Alpha\x00 beta gamma."})
    result = import_qdpx(archive, study)
    assert result.added["documents"] == 1 and result.added["references"] == 1
    assert count(study, QdaVariable) == 1 and count(study, QdaCase) == 1
    store = open_store(study.database_url())
    with store.session() as session:
        document = session.scalars(select(Document)).one()
    store.close()
    assert document.text == "Alpha\ufffd beta gamma." and document.date is None  # one for one: offsets stay
    assert any("NUL" in p for p in result.problems)


def test_relative_paths_stay_inside_the_archive_unless_a_folder_is_named(study, tmp_path: Path) -> None:
    (tmp_path / "beside.txt").write_text("A file beside the archive, not in it.", encoding="utf-8")
    (tmp_path / "beside-note.txt").write_text("A note beside the archive.", encoding="utf-8")
    body = (f'<Sources><TextSource guid="{G(10)}" name="beside" plainTextPath="relative://beside.txt"/>'
            f'<TextSource guid="{G(11)}" name="plain" plainTextPath="beside.txt"/></Sources>'
            f'<Notes><Note guid="{G(40)}" name="n" plainTextPath="relative://beside-note.txt"/></Notes>')
    archive = make_zip(tmp_path / "refs.qdpx", {"project.qde": project(body)})
    result = import_qdpx(archive, study)
    assert result.added["documents"] == 0
    assert sum("not read from outside the archive" in p and "--sources" in p for p in result.problems) == 3
    store = open_store(study.database_url())
    with store.session() as session:
        assert not any("beside the archive" in text for text in session.scalars(select(Memo.text)))
    store.close()
    named = import_qdpx(archive, study, sources=tmp_path)
    assert named.added["documents"] == 1  # the two sources name the same file
    assert sum("outside the archive (as --sources asked)" in p for p in named.problems) == 3


def test_a_project_file_over_the_memory_budget_is_refused(study, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("SIBKIT_MEMORY_MB", "32")  # the project file may then be 2 MB (32 MB / 16)
    rng = random.Random(1)
    text = "".join(rng.choices(string.ascii_letters + " ", k=3_000_000))  # 3 MB of inline text, no bomb
    body = f'<Sources><TextSource guid="{G(10)}" name="big"><PlainTextContent>{text}</PlainTextContent>' \
           "</TextSource></Sources>"
    archive = make_zip(tmp_path / "huge.qdpx", {"project.qde": project(body)})
    with pytest.raises(SibkitError) as caught:
        import_qdpx(archive, study)
    assert "memory budget" in str(caught.value) and "SIBKIT_MEMORY_MB" in str(caught.value)
    assert count(study, Document) == 0


def test_a_described_hash_that_is_no_hash_is_ignored(study, tmp_path: Path) -> None:
    for number in (1, 2):  # two sources whose descriptions give the same 300-character "hash"
        description = f'sibkit document: {{"sha256": "{"a" * 300}", "type": "evaluation"}}'
        body = (f'<Sources><TextSource guid="{G(10 + number)}" name="s{number}"><Description>{description}'
                f"</Description><PlainTextContent>Text number {number}.</PlainTextContent></TextSource></Sources>")
        result = import_qdpx(make_zip(tmp_path / f"hash{number}.qdpx", {"project.qde": project(body)}), study)
        assert result.added["documents"] == 1
    assert count(study, Document) == 2
