"""Codebook exchange (.qdc): sibkit's codebooks travel with their terms and come back working; other
tools' codebooks become codebooks with their definitions and nesting."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from sibkit.coding import compile_codebook, load_codebook
from sibkit.coding.codebook import Term, Theme
from sibkit.interop import codebook_to_qdc, qdc_to_codebook, validation_errors
from sibkit.interop.codes import describe_theme, read_description
from sibkit.testing import run_cli

SAMPLE = ("The partners agreed a shared vision before the contract. Co-production with service users and "
          "co-designed services; a test-and-learn culture; relational working over transactional contracts.")


def as_project(qdc: bytes) -> bytes:
    """The codebook's codes inside a minimal project, in the project namespace (the codebook schema is not
    shipped in ../shared; its Code type is the project schema's)."""
    text = qdc.decode("utf-8").replace("urn:QDA-XML:codebook:1.0", "urn:QDA-XML:project:1.0")
    root = etree.fromstring(text.encode("utf-8"))
    project = etree.Element("{urn:QDA-XML:project:1.0}Project", nsmap={None: "urn:QDA-XML:project:1.0"},
                            name="codebook check")
    codebook = etree.SubElement(project, "{urn:QDA-XML:project:1.0}CodeBook")
    codebook.append(root[0])
    return etree.tostring(project)


def test_the_default_codebook_travels_and_comes_back_working(tmp_path: Path, refi_qda_dir: Path) -> None:
    original = load_codebook("relational-sib")
    qdc = codebook_to_qdc(original)
    assert validation_errors(as_project(qdc), refi_qda_dir / "Project-mrt2019.xsd") == []
    root = etree.fromstring(qdc)
    assert root.tag == "{urn:QDA-XML:codebook:1.0}CodeBook"
    back = qdc_to_codebook(qdc, "relational-sib.qdc")
    assert back.problems == []
    assert [t.model_dump() for t in back.codebook.themes] == [t.model_dump() for t in original.themes]
    assert (back.codebook.name, back.codebook.version) == (original.name, original.version)
    hits = compile_codebook(original).match(SAMPLE)
    assert hits and compile_codebook(back.codebook).match(SAMPLE) == hits


def test_command_line_export_and_import(tmp_path: Path) -> None:
    done = run_cli("export", "qdc", "relational-sib", "-o", str(tmp_path / "rs.qdc"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Wrote {tmp_path / 'rs.qdc'}: 16 codes"
    done = run_cli("import", "qdc", str(tmp_path / "rs.qdc"), "-o", str(tmp_path / "rs.yaml"))
    assert done.returncode == 0, done.stderr
    theme_terms = sum(len(t.terms) for t in load_codebook("relational-sib").themes)
    assert done.stdout.strip() == f"Wrote {tmp_path / 'rs.yaml'}: 16 themes, {theme_terms} terms"
    assert run_cli("codebook", "check", str(tmp_path / "rs.yaml")).returncode == 0


OTHER_TOOL = """<?xml version="1.0" encoding="UTF-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="MAXQDA 2022">
  <Codes>
    <Code guid="{5215cc69-b628-4e02-afb9-9beeaee55808}" name="Topics" isCodable="false">
      <Code guid="{d7aa29da-519b-4946-9b90-253b6db8fd0a}" name="Economy" isCodable="true" color="#ffff00">
        <Description>Anything about jobs or taxes or business</Description>
      </Code>
      <Code guid="{0dcef2f5-e55c-49da-8c33-9b0803c7aeb4}" name="Health care" isCodable="true">
        <Description>Health care issues, doctor, patients, etc.</Description>
      </Code>
    </Code>
    <Code guid="9fa9bcb7-5b59-47a9-8c3e-f65cffdc7520" name="Économie sociale" isCodable="true"/>
    <Code guid="9fa9bcb7-5b59-47a9-8c3e-f65cffdc7521" name="经济" isCodable="true"/>
  </Codes>
</CodeBook>
"""


def test_a_codebook_from_another_tool(tmp_path: Path) -> None:
    path = tmp_path / "topics.qdc"
    path.write_text(OTHER_TOOL, encoding="utf-8")
    done = run_cli("import", "qdc", str(path), "-o", str(tmp_path / "topics.yaml"))
    assert done.returncode == 0, done.stderr
    codebook = load_codebook(tmp_path / "topics.yaml")
    assert [(t.id, t.parent, t.definition) for t in codebook.themes] == [
        ("topics", None, ""),
        ("economy", "topics", "Anything about jobs or taxes or business"),
        ("health-care", "topics", "Health care issues, doctor, patients, etc."),
        ("economie-sociale", None, ""),
        ("code-9fa9bcb7", None, ""),  # no ASCII letters: named after its GUID
    ]
    assert codebook.name == "topics"


# the shape Taguette 1.5.2's codebook export writes: one line, flat codes with upper-case bare GUIDs,
# no descriptions or colours, and an empty Sets element (written here to that shape, not by Taguette)
TAGUETTE_SHAPE = ('<?xml version="1.0" encoding="utf-8"?>\n<CodeBook xmlns="urn:QDA-XML:codebook:1.0" '
                  'origin="Taguette 1.5.2"><Codes>'
                  '<Code guid="92256146-3692-519F-9F8B-6335C990FE7A" name="relational working" isCodable="true"/>'
                  '<Code guid="F396EAD3-5C25-577A-AB82-E8B5694A30CF" name="vision &amp; values first" '
                  'isCodable="true"/>'
                  '<Code guid="70F2DE7E-60EF-5608-AEB2-9F5595BF2AE9" name="Prevention" isCodable="true"/>'
                  '<Code guid="B0655F7D-2A59-5333-881D-B13828812174" name="prevention" isCodable="true"/>'
                  '</Codes><Sets/></CodeBook>')


def test_a_taguette_codebook_comes_in_as_themes_without_terms(tmp_path: Path) -> None:
    path = tmp_path / "taguette.qdc"
    path.write_text(TAGUETTE_SHAPE, encoding="utf-8")
    done = run_cli("import", "qdc", str(path), "-o", str(tmp_path / "tags.yaml"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"Wrote {tmp_path / 'tags.yaml'}: 4 themes, 0 terms"
    codebook = load_codebook(tmp_path / "tags.yaml")
    assert [(t.id, t.name, t.guid, t.terms) for t in codebook.themes] == [
        ("relational-working", "relational working", "92256146-3692-519F-9F8B-6335C990FE7A", []),
        ("vision-values-first", "vision & values first", "F396EAD3-5C25-577A-AB82-E8B5694A30CF", []),
        ("prevention", "Prevention", "70F2DE7E-60EF-5608-AEB2-9F5595BF2AE9", []),
        ("prevention-2", "prevention", "B0655F7D-2A59-5333-881D-B13828812174", []),  # ids differ, names kept
    ]
    assert codebook.description == "Imported from Taguette 1.5.2"
    assert run_cli("codebook", "check", str(tmp_path / "tags.yaml")).returncode == 0


def test_a_file_that_is_not_a_codebook(tmp_path: Path) -> None:
    path = tmp_path / "project.qdc"
    path.write_text('<Project xmlns="urn:QDA-XML:project:1.0" name="p"/>', encoding="utf-8")
    done = run_cli("import", "qdc", str(path), "-o", str(tmp_path / "x.yaml"))
    assert done.returncode == 2
    assert "the root element is <Project>, not <CodeBook>" in done.stderr


words = st.text(alphabet=st.characters(whitelist_categories=("Ll", "Lu")), min_size=1, max_size=8)
terms = st.lists(words, min_size=1, max_size=3).map(" ".join)


@settings(max_examples=60, deadline=None)
@given(definition=st.text(max_size=80).filter(lambda s: "--- sibkit theme ---" not in s),
       texts=st.lists(terms, max_size=4, unique=True), excluded=st.lists(terms, max_size=2),
       examples=st.lists(st.text(min_size=1, max_size=30), max_size=2))
def test_the_documented_description_form_reads_back(definition: str, texts: list[str], excluded: list[str],
                                                     examples: list[str]) -> None:
    theme = Theme(id="t-1", name="T", definition=definition.strip(), examples=examples,
                  terms=[Term(term=text, exclude=excluded if i == 0 else []) for i, text in enumerate(texts)])
    read_definition, block, problem = read_description(describe_theme(theme))
    assert problem is None and block is not None
    rebuilt = Theme.model_validate({"id": block.pop("id"), "name": "T", "definition": read_definition, **block})
    assert rebuilt.definition == theme.definition.replace("\r\n", "\n").strip()
    assert rebuilt.terms == theme.terms and rebuilt.examples == theme.examples
