"""A REFI-QDA project whose XML does not follow the schema: an element of the project's own namespace that
the schema does not have (a misspelt <Codebook>, a <TextSourc>) is one line naming it and its line, not a
silent loss followed by a line per coding it took with it."""

from __future__ import annotations

from pathlib import Path

from sibkit.interop import read_qdpx
from sibkit.testing import make_zip

PROJECT = """<?xml version="1.0" encoding="UTF-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" xmlns:v="urn:example:vendor" name="typos">
  <Codebook><Codes><Code guid="00000000-0000-4000-8000-000000000001" name="Greek" isCodable="true"/></Codes></Codebook>
  <v:Extension note="a tool's own element: left alone, not warned"/>
  <Sources>
    <TextSourc guid="00000000-0000-4000-8000-000000000011" name="typo" plainTextPath="internal://b.txt"/>
    <TextSource guid="00000000-0000-4000-8000-000000000010" name="letters" plainTextPath="internal://a.txt"/>
  </Sources>
</Project>
"""


def test_elements_the_schema_lacks_are_named_once_each(tmp_path: Path) -> None:
    path = make_zip(tmp_path / "p.qdpx", {"project.qde": PROJECT, "sources/a.txt": "Alpha.", "sources/b.txt": "B."})
    project = read_qdpx(path)
    assert project.problems == [
        "p.qdpx:project.qde: line 3: <Codebook> is not an element of a REFI-QDA project (<CodeBook>?); "
        "its contents are not read",
        "p.qdpx:project.qde: line 6: <TextSourc> is not a kind of source in a REFI-QDA project (<TextSource>?); "
        "not read"]
    assert [document.name for document in project.documents] == ["letters"]
