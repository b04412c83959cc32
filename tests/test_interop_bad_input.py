"""Bad REFI-QDA input: one clear message naming the element, the rest imported; archive-level attacks
(zip bomb, path traversal, entities, invalid XML) refused before anything is stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from sibkit.errors import SibkitError
from sibkit.interop import import_qdpx, read_qdpx
from sibkit.store import Document, Reference, open_store
from sibkit.study import load_study
from sibkit.testing import make_zip as make_qdpx
from sibkit.testing import run_cli

TEXT = "Alpha beta gamma.\n"
PROJECT = """<?xml version="1.0" encoding="UTF-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="bad">
  <Users><User guid="00000000-0000-4000-8000-0000000000aa" name="Kim"/></Users>
  <CodeBook><Codes><Code guid="00000000-0000-4000-8000-000000000001" name="Greek" isCodable="true"/></Codes></CodeBook>
  <Sources>
    <TextSource guid="00000000-0000-4000-8000-000000000010" name="letters" plainTextPath="{path}">
      <PlainTextSelection guid="00000000-0000-4000-8000-000000000020" startPosition="0" endPosition="5" name="Alpha">
        <Coding guid="00000000-0000-4000-8000-000000000030" creatingUser="00000000-0000-4000-8000-0000000000aa">
          <CodeRef targetGUID="00000000-0000-4000-8000-000000000001"/></Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="00000000-0000-4000-8000-000000000021" startPosition="6" endPosition="10" name="beta">
        <Coding guid="00000000-0000-4000-8000-000000000031" creatingUser="00000000-0000-4000-8000-0000000000aa">
          <CodeRef targetGUID="00000000-0000-4000-8000-0000000000ff"/></Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="00000000-0000-4000-8000-000000000022" startPosition="11" endPosition="90" name="g">
        <Coding guid="00000000-0000-4000-8000-000000000032" creatingUser="00000000-0000-4000-8000-0000000000aa">
          <CodeRef targetGUID="00000000-0000-4000-8000-000000000001"/></Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
</Project>
"""


@pytest.fixture()
def study(tmp_path: Path):
    path = tmp_path / "study.yaml"
    path.write_text("title: Bad input\n", encoding="utf-8")
    return load_study(path)


def stored(study) -> tuple[int, int]:
    store = open_store(study.database_url())
    with store.session() as session:
        return (session.scalar(select(func.count()).select_from(Document)),
                session.scalar(select(func.count()).select_from(Reference)))


def test_unknown_guids_and_selections_outside_the_text_are_named_and_skipped(study, tmp_path: Path) -> None:
    path = make_qdpx(tmp_path / "p.qdpx", {"project.qde": PROJECT.format(path="internal://letters.txt"),
                                           "sources/letters.txt": TEXT})
    result = import_qdpx(path, study)
    assert result.problems == [
        "p.qdpx:project.qde: line 12: Coding 00000000-0000-4000-8000-000000000031: "
        "CodeRef 00000000-0000-4000-8000-0000000000ff is not a Code of this project; coding skipped",
        "p.qdpx:project.qde: line 15: PlainTextSelection 00000000-0000-4000-8000-000000000022 in source 'letters': "
        "characters 11-90 are outside its text (18 characters); skipped"]
    assert stored(study) == (1, 1)  # the good coding is in


@pytest.mark.parametrize(("path", "message"), [
    ("internal://../../etc/passwd", "points outside the archive (path traversal)"),
    ("relative://../secret.txt", "points outside the archive (path traversal)"),
    ("relative://study.sqlite", "file 'relative://study.sqlite' is not in the archive"),
    ("absolute:///etc/passwd", "external file 'absolute:///etc/passwd' not read"),
    ("internal://missing.txt", "file 'internal://missing.txt' is not in the archive"),
])
def test_source_paths_that_cannot_be_read(study, tmp_path: Path, path: str, message: str) -> None:
    archive = make_qdpx(tmp_path / "p.qdpx", {"project.qde": PROJECT.format(path=path)})
    result = import_qdpx(archive, study)
    assert len(result.problems) == 1
    assert result.problems[0].startswith("p.qdpx:project.qde: line 6: TextSource 'letters': ")
    assert message in result.problems[0]
    assert stored(study) == (0, 0)


def test_a_zip_bomb_is_refused(tmp_path: Path) -> None:
    path = make_qdpx(tmp_path / "bomb.qdpx", {"project.qde": PROJECT.format(path="internal://z.txt"),
                                              "sources/z.txt": b"\0" * (30 * 1024 * 1024)})
    with pytest.raises(SibkitError, match=r"member 'sources/z.txt' expands [\d,]+ times .*: a zip bomb; refused"):
        read_qdpx(path)


def test_a_member_outside_the_archive_is_refused(tmp_path: Path) -> None:
    path = make_qdpx(tmp_path / "evil.qdpx", {"project.qde": PROJECT.format(path="internal://x.txt"),
                                              "../../x.txt": TEXT})
    with pytest.raises(SibkitError, match=r"member '../../x.txt' points outside the archive \(path traversal\)"):
        read_qdpx(path)


LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY a "haha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&b;"/>
"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Project xmlns="urn:QDA-XML:project:1.0" name="&secret;"/>
"""


@pytest.mark.parametrize("xml", [LAUGHS, XXE])
def test_entities_are_refused(tmp_path: Path, xml: str) -> None:
    path = make_qdpx(tmp_path / "e.qdpx", {"project.qde": xml})
    with pytest.raises(SibkitError, match=r"e.qdpx:project.qde: has a DOCTYPE or entity declarations"):
        read_qdpx(path)


def test_invalid_xml_and_missing_project_are_one_line_errors(study, tmp_path: Path) -> None:
    broken = make_qdpx(tmp_path / "broken.qdpx", {"project.qde": PROJECT.format(path="x")[:400]})
    done = run_cli("import", "qdpx", str(broken), str(study.path))
    assert done.returncode == 2
    assert done.stderr.startswith("error: broken.qdpx:project.qde: is not valid XML (line ")
    assert done.stderr.count("\n") == 1
    empty = make_qdpx(tmp_path / "empty.qdpx", {"sources/a.txt": TEXT})
    with pytest.raises(SibkitError, match="no project file"):
        read_qdpx(empty)
    not_zip = tmp_path / "plain.qdpx"
    not_zip.write_text("hello", encoding="utf-8")
    with pytest.raises(SibkitError, match="not a QDPX"):
        read_qdpx(not_zip)
    assert stored(study) == (0, 0)


@pytest.mark.parametrize("path", ["sources/letters.txt", "letters.txt", "internal://letters%2Etxt",
                                  "internal:///letters.txt"])
def test_plain_relative_and_internal_paths_find_the_source(study, tmp_path: Path, path: str) -> None:
    archive = make_qdpx(tmp_path / "p.qdpx", {"project.qde": PROJECT.format(path=path), "Sources/LETTERS.TXT": TEXT})
    result = import_qdpx(archive, study)
    assert len(result.problems) == 2  # the two bad selections of this project, nothing about the path
    assert stored(study) == (1, 1)


def test_a_real_project_without_its_source_file_says_what_coding_went_with_it(study, tmp_path: Path,
                                                                              refi_qda_dir: Path) -> None:
    import zipfile

    real = zipfile.ZipFile(refi_qda_dir / "samples" / "nvivo12win-oltas.qdpx")
    members = {name: real.read(name) for name in real.namelist() if not name.endswith(".txt")}
    archive = make_qdpx(tmp_path / "no-text.qdpx", members)
    result = import_qdpx(archive, study)
    # its one TextSource names a .txt the archive lacks; its 97 PlainTextSelections (sample README) go with it
    assert [p.split(": ", 2)[2] for p in result.problems] == [
        "TextSource 'videos_selection': file 'internal://56a79789-d535-4fb8-bedd-a915504c54ba.txt' is not in the "
        "archive; source skipped"]
    assert result.unsupported == {"TextSource without readable text": 1,
                                  "coded selections on a TextSource without readable text": 97}
    assert "97 coded selections on a TextSource without readable text" in result.lines()[-1]
    assert result.added["codes"] == 60 and stored(study) == (0, 0)
