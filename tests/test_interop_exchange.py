"""What real tools keep and expect, round trip by round trip: colours, users, selection creators,
descriptions, unique variable names, dated notes, unreviewed hits that stay unreviewed through
QualCoder, .qdc GUIDs, colours and groups; and a study unrelated to INDIGO exports only what it holds.
Every export is validated against the project XSD."""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile
from pathlib import Path

import pytest
import yaml
from lxml import etree
from sqlalchemy import select

from sibkit.coding import code_documents, load_codebook, references
from sibkit.corpus.extraction import Extracted
from sibkit.corpus.importer import store_document
from sibkit.interop import export_qdc, export_qdpx, import_qdc, import_qdpx, project_files, validation_errors
from sibkit.store import Memo, ReviewDecision, open_store
from sibkit.store.models import QdaCode, QdaNote
from sibkit.study import load_study
from sibkit.testing import make_zip

Q = "urn:QDA-XML:project:1.0"
NS = {"q": Q}
CASE_A, CASE_B = "INDIGO-POJ-0121", "INDIGO-POJ-0110"
TEXT_A = "Partnership working began early. Co-production with families shaped the service.\n"
TEXT_B = "The council valued co-producing services.\nInnovation came later; partnership working held.\n"
CODEBOOK = """
name: exchange
themes:
  - {id: partnership, name: Partnership working, terms: [partnership working]}
  - {id: coproduction, name: Co-production, terms: [co-produc*]}
  - {id: innovation, name: Innovation, terms: [innovat*]}
"""


def write_study(folder: Path, indigo_dir: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "exchange.yaml").write_text(CODEBOOK, encoding="utf-8")
    path = folder / "study.yaml"
    path.write_text(f"title: Exchange\ndata: {indigo_dir}\ncodebook: exchange.yaml\nselection:\n"
                    "  - countries: [GB]\n  - live_years: {from: 2016, to: 2021}\n", encoding="utf-8")
    return path


def qde(archive_path: Path) -> etree._Element:
    with zipfile.ZipFile(archive_path) as archive:
        return etree.fromstring(archive.read("project.qde"))


def valid(xml: bytes | etree._Element, refi_qda_dir: Path) -> bool:
    data = xml if isinstance(xml, bytes) else etree.tostring(xml)
    assert validation_errors(data, refi_qda_dir / "Project-mrt2019.xsd") == []
    return True


@pytest.fixture(scope="module")
def coded_study(tmp_path_factory: pytest.TempPathFactory, indigo_dir: Path):
    """An INDIGO study with two texts coded automatically: one hit accepted by ana, one rejected, a
    manual reference by ben, a memo on the study, a description of text A (as if imported); the
    other 3 hits nobody has reviewed."""
    study = load_study(write_study(tmp_path_factory.mktemp("coded"), indigo_dir))
    store = open_store(study.database_url())
    for text, case, title in ((TEXT_A, CASE_A, "Notes A"), (TEXT_B, CASE_B, "Notes B")):
        store_document(store, sha256=hashlib.sha256(text.encode()).hexdigest(), title=title, case_ids=[case],
                       extracted=Extracted(text=text, pages=[0], kind="text"), doc_type="review", origin=title)
    code_documents(store, load_codebook(study.base_dir / "exchange.yaml"))
    refs = references(store).sort_values(["title", "start"])
    hits = list(refs["reference_id"])
    assert len(hits) == 5  # A: partnership, co-production; B: co-producing, innovation, partnership
    from sibkit.store import Reference

    with store.session() as session:
        start = TEXT_A.index("shaped the service")
        manual = Reference(document_id=int(refs.iloc[0]["document_id"]), theme="innovation", term="(manual)",
                           start=start, end=start + 18, origin="manual")
        session.add(manual)
        session.flush()
        session.add_all([ReviewDecision(reference_id=int(hits[0]), coder="ana", decision="accept"),
                         ReviewDecision(reference_id=int(hits[1]), coder="ana", decision="reject"),
                         ReviewDecision(reference_id=manual.id, coder="ben", decision="accept"),
                         Memo(target_kind="study", target_id="", author="ana", text="GB cases first.")])
        description = Memo(target_kind="document", target_id=str(int(refs.iloc[0]["document_id"])), author="ana",
                           text="Board minutes, scanned.")
        session.add(description)
        session.flush()
        session.add(QdaNote(guid="d35c0000-0000-4000-8000-000000000001", memo_id=description.id, kind="description"))
    return study, store


# --- QualCoder 4.0: what its importer reads and what its exporter does to a project (read in its
# published source, src/qualcoder/refi.py: RefiImport and RefiExport)

def qualcoder_objections(root: etree._Element) -> list[str]:
    """What QualCoder 4.0's REFI-QDA importer needs and sibkit's export must give it."""
    problems = []
    for note in root.iter(f"{{{Q}}}Note"):  # RefiImport.parse_notes: the date's .replace() fails on None
        if not (note.get("creationDateTime") or note.get("modifiedDateTime")):
            problems.append(f"Note {note.get('name')!r} has no creationDateTime")
        if not (note.get("plainTextPath") and note.get("name")):  # journals only from a named plainTextPath
            problems.append(f"Note {note.get('name')!r} is not a named file QualCoder imports as a journal")
    names = [v.get("name") for v in root.iter(f"{{{Q}}}Variable")]  # attribute_type.name is UNIQUE
    problems += [f"Variable {name!r} twice" for name in sorted({n for n in names if names.count(n) > 1})]
    for code in root.iter(f"{{{Q}}}Code"):  # color_matcher takes only 7-character #RRGGBB
        if code.get("color") is not None and len(code.get("color")) != 7:
            problems.append(f"Code {code.get('name')!r}: colour {code.get('color')!r} is not #RRGGBB")
    for coding in root.iter(f"{{{Q}}}Coding"):  # the CodeRef is read as the coding's first child
        if etree.QName(coding[0]).localname != "CodeRef":
            problems.append(f"Coding {coding.get('guid')}: CodeRef is not its first child")
    users = root.findall("q:Users/q:User", NS)  # its coder becomes the first user's name
    if users and users[0].get("name") == "sibkit" and len(users) > 1:
        problems.append("the first user is sibkit's automatic coder")
    return problems


def like_qualcoder(source: Path, target: Path) -> Path:
    """A sibkit export as QualCoder 4.0 exports it again after importing it (RefiExport): every GUID
    new, no NoteRef in codings, selections or sources, no Links or Sets, each coding owned by its
    selection's creator, numbers as FloatValue, users only those who own a coding, text files with a
    byte-order mark, origin QualCoder. (Not reproduced: its rewriting of CRLF line ends.)"""
    with zipfile.ZipFile(source) as archive:
        root = etree.fromstring(archive.read("project.qde"))
        files = {name: archive.read(name) for name in archive.namelist() if name != "project.qde"}
    fresh: dict[str, str] = {}
    for element in root.iter():
        for attribute in ("guid", "targetGUID", "creatingUser", "creatingUserGUID", "originGUID"):
            old = element.get(attribute)
            if old:
                key = old.strip("{}").lower()
                element.set(attribute, fresh.setdefault(key, str(uuid.uuid5(uuid.NAMESPACE_OID, "qc " + key))))
    for element in list(root):
        if etree.QName(element).localname in ("Links", "Sets", "NoteRef"):
            root.remove(element)
    for ref in list(root.iter(f"{{{Q}}}NoteRef")):
        ref.getparent().remove(ref)
    for selection in root.iter(f"{{{Q}}}PlainTextSelection"):
        for coding in selection.findall("q:Coding", NS):
            coding.set("creatingUser", selection.get("creatingUser"))
            coding.attrib.pop("creationDateTime", None)
    for value in root.iter(f"{{{Q}}}IntegerValue"):
        value.tag = f"{{{Q}}}FloatValue"
    for variable in root.iter(f"{{{Q}}}Variable"):
        if variable.get("typeOfVariable") == "Integer":
            variable.set("typeOfVariable", "Float")
    owners = {s.get("creatingUser") for s in root.iter(f"{{{Q}}}PlainTextSelection")}
    for user in root.findall("q:Users/q:User", NS):
        if user.get("guid") not in owners:
            user.getparent().remove(user)
    root.set("origin", "QualCoder 4.0 Beta")
    members = {name: (b"\xef\xbb\xbf" + data if name.endswith(".txt") else data) for name, data in files.items()}
    return make_zip(target, {"project.qde": etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
                             **members})


def test_qualcoder_round_trip_keeps_unreviewed_hits_unreviewed_and_variables_unique(
        coded_study, indigo_dir: Path, tmp_path: Path, refi_qda_dir: Path) -> None:
    study, store = coded_study
    xml, _, summary = project_files(study, store, include_all=True)
    root = etree.fromstring(xml)
    assert valid(xml, refi_qda_dir) and qualcoder_objections(root) == []
    assert summary.references == {"manual": 1, "reviewed": 1, "unreviewed": 3}
    export_qdpx(study, tmp_path / "all.qdpx", store, include_all=True)
    back = like_qualcoder(tmp_path / "all.qdpx", tmp_path / "from-qualcoder.qdpx")
    assert not qde(back).findall(".//q:Coding/q:NoteRef", NS)  # the note that marked them is gone

    # into a new study: the 3 hits nobody reviewed stay unreviewed, the decisions are the people's
    fresh = load_study(write_study(tmp_path / "fresh", indigo_dir))
    result = import_qdpx(back, fresh)
    assert result.problems == [] and result.added["references"] == 5
    assert result.added["memos"] == 2  # the study memo (a QualCoder journal) and text A's description
    new_store = open_store(fresh.database_url())
    with new_store.session() as session:
        decisions = {(d.coder, d.decision) for d in session.scalars(select(ReviewDecision))}
    assert decisions == {("ana", "accept"), ("ben", "accept")}
    refs = references(new_store)
    assert (refs["origin"] == "auto").sum() == 4 and (~refs["reviewed"]).sum() == 3

    # back into the study it came from: nothing new, and its export writes each Variable once
    again = import_qdpx(back, study)
    assert again.problems == []
    assert again.added["references"] == again.added["decisions"] == again.added["memos"] == 0
    assert again.added["variables"] == 6  # QualCoder's re-keyed copies of sibkit's case variables
    root = etree.fromstring(project_files(study, store, include_all=True)[0])
    assert valid(root, refi_qda_dir) and qualcoder_objections(root) == []
    variables = root.findall(".//q:Variable", NS)
    assert sorted(v.get("name") for v in variables) == sorted(
        ["class", "achievement_ratio", "payment_ratio", "country", "sector", "live_year"])
    for case in root.findall(".//q:Case", NS):
        targets = [v.find("q:VariableRef", NS).get("targetGUID") for v in case.findall("q:VariableValue", NS)]
        assert len(targets) == len(set(targets)) <= 6


def test_every_note_has_a_date_and_a_creator(coded_study, refi_qda_dir: Path) -> None:
    study, store = coded_study
    root = etree.fromstring(project_files(study, store, include_all=True)[0])
    notes = root.findall(".//q:Note", NS)
    assert {n.get("name") for n in notes} == {"sibkit: unreviewed auto references", "Memo on the study"}
    users = {u.get("guid"): u.get("name") for u in root.findall(".//q:User", NS)}
    assert [u.get("name") for u in root.findall(".//q:User", NS)] == ["ana", "ben", "sibkit"]  # sibkit last
    for note in notes:
        assert note.get("creationDateTime") and users[note.get("creatingUser")] in ("ana", "sibkit")
    marker = next(n for n in notes if n.get("name").startswith("sibkit"))
    with store.session() as session:
        from sibkit.store import Reference

        decided = set(session.scalars(select(ReviewDecision.reference_id)))
        first = min(r.created_at for r in session.scalars(select(Reference).where(Reference.origin == "auto"))
                    if r.id not in decided)
    assert marker.get("creationDateTime") == first.strftime("%Y-%m-%dT%H:%M:%SZ")  # when sibkit found the first


# --- colours

MAXQDA = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Farben" origin="MAXQDA 24 (Release 24.2.0)">
  <Users><User guid="{C32A2BD5-537F-4838-8B17-DF9EFBAFDF4B}" name="Jana"/></Users>
  <CodeBook><Codes>
    <Code guid="{D7AA29DA-519B-4946-9B90-253B6DB8FD0A}" name="Vertrauen" isCodable="true" color="#ffff00">
      <Code guid="{D7AA29DA-519B-4946-9B90-253B6DB8FD0B}" name="Misstrauen" isCodable="true" color="#0f0"/>
    </Code>
    <Code guid="{D7AA29DA-519B-4946-9B90-253B6DB8FD0C}" name="Geld" isCodable="true" color="#3366FF"/>
    <Code guid="{D7AA29DA-519B-4946-9B90-253B6DB8FD0D}" name="Ohne Farbe" isCodable="true"/>
  </Codes></CodeBook>
  <Sources>
    <TextSource guid="{69A4332D-5B31-4915-B520-5275CFC21B40}" name="Interview" plainTextPath="internal://i.txt">
      <PlainTextSelection guid="{B49D7982-BB8E-4335-80AF-DC869CCC3F45}" name="trusted" startPosition="4"
          endPosition="11" creatingUser="{C32A2BD5-537F-4838-8B17-DF9EFBAFDF4B}">
        <Coding guid="{2284BF5B-8F78-45B6-A6EF-A128D991408B}" creatingUser="{C32A2BD5-537F-4838-8B17-DF9EFBAFDF4B}">
          <CodeRef targetGUID="{D7AA29DA-519B-4946-9B90-253B6DB8FD0A}"/>
        </Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
</Project>
"""
COLOURS = {"Vertrauen": "#FFFF00", "Misstrauen": "#00FF00", "Geld": "#3366FF", "Ohne Farbe": None}


def test_coloured_codes_keep_their_colours(tmp_path: Path, refi_qda_dir: Path) -> None:
    archive = make_zip(tmp_path / "farben.qdpx", {"project.qde": MAXQDA, "sources/i.txt": "We trusted them.\n"})
    studies = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "study.yaml").write_text(f"title: {name}\n", encoding="utf-8")
        studies.append(load_study(tmp_path / name / "study.yaml"))
    assert import_qdpx(archive, studies[0]).problems == []
    export_qdpx(studies[0], tmp_path / "out.qdpx")
    root = qde(tmp_path / "out.qdpx")
    assert valid(root, refi_qda_dir)
    assert {c.get("name"): c.get("color") for c in root.iter(f"{{{Q}}}Code")} == COLOURS
    assert import_qdpx(tmp_path / "out.qdpx", studies[1]).problems == []
    with open_store(studies[1].database_url()).session() as session:
        kept = {c.name: c.color for c in session.scalars(select(QdaCode))}
    assert {name: (color or "").upper() or None for name, color in kept.items()} == COLOURS


# --- NVivo 12 (real export): selection creators, users, only what the study holds

@pytest.fixture(scope="module")
def nvivo_export(tmp_path_factory: pytest.TempPathFactory, refi_qda_dir: Path):
    folder = tmp_path_factory.mktemp("nvivo")
    (folder / "study.yaml").write_text("title: Oltás\n", encoding="utf-8")  # no INDIGO data, no codebook named
    study = load_study(folder / "study.yaml")
    source = refi_qda_dir / "samples" / "nvivo12win-oltas.qdpx"
    assert import_qdpx(source, study).added["references"] == 97
    summary = export_qdpx(study, folder / "back.qdpx")
    return source, study, summary, folder / "back.qdpx"


def test_nvivo_selection_creators_and_users_go_back_as_nvivo_wrote_them(nvivo_export, refi_qda_dir: Path) -> None:
    source, _, _, back = nvivo_export
    original, exported = qde(source), qde(back)
    assert valid(exported, refi_qda_dir)
    assert {(u.get("guid"), u.get("name")) for u in exported.iter(f"{{{Q}}}User")} == {
        (u.get("guid"), u.get("name")) for u in original.iter(f"{{{Q}}}User")}

    def made(root: etree._Element) -> dict[tuple, tuple]:
        out = {}
        for selection in root.iter(f"{{{Q}}}PlainTextSelection"):
            for coding in selection.findall("q:Coding", NS):
                out[coding.get("guid")] = (selection.get("guid"), selection.get("creatingUser"),
                                           selection.get("creationDateTime"), coding.get("creatingUser"),
                                           coding.get("creationDateTime"))
        return out

    before, after = made(original), made(exported)
    assert len(before) == 97 and after == before  # Gergo made the selections, floriansipos coded them
    assert {v[1] for v in before.values()} != {v[3] for v in before.values()}


def test_a_study_unrelated_to_indigo_exports_only_what_it_holds(nvivo_export) -> None:
    source, _, summary, back = nvivo_export
    assert summary.warnings == [] and summary.cases == 0
    assert summary.lines()[1:] == ["not exported: 16 themes of the default codebook that no reference uses (the "
                                   "study names no codebook)"]
    exported = qde(back)
    assert exported.find("q:Cases", NS) is None and exported.find("q:Variables", NS) is None
    codes = {c.get("guid") for c in exported.iter(f"{{{Q}}}Code")}
    assert codes == {c.get("guid") for c in qde(source).iter(f"{{{Q}}}Code")}  # its 60 codes, no default ones
    assert len(codes) == 60
    assert {t.name for t in load_codebook("relational-sib").themes}.isdisjoint(
        {c.get("name") for c in exported.iter(f"{{{Q}}}Code")})


# --- descriptions, a user who coded nothing, a selection made by one user and coded by another

NVIVO_LIKE = """<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Providers" origin="NVivo 14.24.1 (Windows)"
    creatingUserGUID="0b7a3f2e-1111-4c1e-9b1a-2f5e6d7c8a90" creationDateTime="2024-05-02T10:00:00Z">
  <Users>
    <User guid="0b7a3f2e-1111-4c1e-9b1a-2f5e6d7c8a90" name="Dana"/>
    <User guid="0b7a3f2e-2222-4c1e-9b1a-2f5e6d7c8a90" name="Sam"/>
    <User guid="0b7a3f2e-3333-4c1e-9b1a-2f5e6d7c8a90" name="Idle reader"/>
  </Users>
  <CodeBook><Codes>
    <Code guid="5a1d2c3b-0000-4aaa-8bbb-000000000002" name="One partnership" isCodable="true"/>
  </Codes></CodeBook>
  <Sources>
    <TextSource guid="d0c00000-0000-4000-8000-000000000001" name="Interview A"
        plainTextPath="internal://a.txt" creatingUser="0b7a3f2e-2222-4c1e-9b1a-2f5e6d7c8a90"
        creationDateTime="2024-05-02T10:05:00Z">
      <Description>Transcribed by Sam from the recording of 2 May.</Description>
      <PlainTextSelection guid="5e100000-0000-4000-8000-000000000001" name="" startPosition="8"
          endPosition="33" creatingUser="0b7a3f2e-2222-4c1e-9b1a-2f5e6d7c8a90" creationDateTime="2024-05-03T08:00:00Z">
        <Coding guid="c0d10000-0000-4000-8000-000000000001" creatingUser="0b7a3f2e-1111-4c1e-9b1a-2f5e6d7c8a90"
            creationDateTime="2024-05-03T09:00:00Z">
          <CodeRef targetGUID="5a1d2c3b-0000-4aaa-8bbb-000000000002"/>
        </Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
  <Description>Interviews with providers, spring 2024.</Description>
</Project>
"""
TEXT = "Well, we worked as one partnership with the council.\n"


def test_descriptions_idle_users_and_selection_creators_round_trip(tmp_path: Path, refi_qda_dir: Path) -> None:
    archive = make_zip(tmp_path / "p.qdpx", {"project.qde": NVIVO_LIKE, "sources/a.txt": TEXT})
    studies = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "study.yaml").write_text("title: Providers\n", encoding="utf-8")
        studies.append(load_study(tmp_path / name / "study.yaml"))
    result = import_qdpx(archive, studies[0])
    assert result.problems == [] and result.added["memos"] == 2
    with open_store(studies[0].database_url()).session() as session:  # seen in sibkit as memos ...
        memos = {(m.target_kind, m.author, m.text, m.created_at.isoformat())
                 for m in session.scalars(select(Memo))}
        assert {n.kind for n in session.scalars(select(QdaNote))} == {"description"}
    assert memos == {("study", "Dana", "Interviews with providers, spring 2024.", "2024-05-02T10:00:00"),
                     ("document", "Sam", "Transcribed by Sam from the recording of 2 May.", "2024-05-02T10:05:00")}
    exports = []
    for index, study in enumerate(studies):  # ... and back to the tool as descriptions, twice over
        export_qdpx(study, tmp_path / f"out{index}.qdpx")
        root = qde(tmp_path / f"out{index}.qdpx")
        assert valid(root, refi_qda_dir) and root.find(".//q:Note", NS) is None
        assert root.find("q:Description", NS).text.startswith(
            "Interviews with providers, spring 2024.\n\nExported by sibkit ")
        description = root.find(".//q:TextSource/q:Description", NS).text.split("\n")
        assert description[0] == "Transcribed by Sam from the recording of 2 May."
        assert json.loads(description[1].removeprefix("sibkit document: "))["sha256"] == hashlib.sha256(
            TEXT.encode()).hexdigest()
        users = {u.get("name"): u.get("guid") for u in root.iter(f"{{{Q}}}User")}
        assert set(users) == {"Dana", "Sam", "Idle reader"}
        selection = root.find(".//q:PlainTextSelection", NS)
        assert (selection.get("creatingUser"), selection.get("creationDateTime")) == (users["Sam"],
                                                                                      "2024-05-03T08:00:00Z")
        coding = selection.find("q:Coding", NS)
        assert (coding.get("creatingUser"), coding.get("creationDateTime")) == (users["Dana"], "2024-05-03T09:00:00Z")
        exports.append(root)
        if index == 0:
            assert import_qdpx(tmp_path / "out0.qdpx", studies[1]).problems == []
            again = import_qdpx(tmp_path / "out0.qdpx", studies[1])
            assert sum(again.added.values()) == 0  # the descriptions are not added twice
    assert exports[0].find("q:Description", NS).text == exports[1].find("q:Description", NS).text


# --- .qdc: GUIDs, colours and code groups kept, in the codebook and in a study's export

QDC = """<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="MAXQDA 24">
  <Codes>
    <Code guid="{5215CC69-B628-4E02-AFB9-9BEEAEE55808}" name="Topics" isCodable="false" color="#808080">
      <Code guid="{D7AA29DA-519B-4946-9B90-253B6DB8FD0A}" name="Partnership" isCodable="true" color="#ffff00">
        <Description>Working as one partnership.</Description>
      </Code>
      <Code guid="{0DCEF2F5-E55C-49DA-8C33-9B0803C7AEB4}" name="Payments" isCodable="true" color="#36f"/>
    </Code>
  </Codes>
  <Sets>
    <Set guid="{CDD38088-85AA-45BB-B2BC-6615A7FDAB08}" name="Relations">
      <Description>Codes about working together</Description>
      <MemberCode targetGUID="{D7AA29DA-519B-4946-9B90-253B6DB8FD0A}"/>
    </Set>
  </Sets>
</CodeBook>
"""


def test_a_qdc_keeps_guids_colours_and_groups(tmp_path: Path, refi_qda_dir: Path) -> None:
    (tmp_path / "topics.qdc").write_text(QDC, encoding="utf-8")
    result = import_qdc(tmp_path / "topics.qdc", tmp_path / "topics.yaml")
    assert result.problems == []
    written = yaml.safe_load((tmp_path / "topics.yaml").read_text(encoding="utf-8"))
    assert [(t["id"], t["guid"], t["color"]) for t in written["themes"]] == [
        ("topics", "{5215CC69-B628-4E02-AFB9-9BEEAEE55808}", "#808080"),
        ("partnership", "{D7AA29DA-519B-4946-9B90-253B6DB8FD0A}", "#FFFF00"),
        ("payments", "{0DCEF2F5-E55C-49DA-8C33-9B0803C7AEB4}", "#3366FF")]
    assert written["groups"] == [{"name": "Relations", "themes": ["partnership"],
                                  "guid": "{CDD38088-85AA-45BB-B2BC-6615A7FDAB08}",
                                  "description": "Codes about working together"}]
    codebook = load_codebook(tmp_path / "topics.yaml")
    export_qdc(codebook, tmp_path / "again.qdc")
    again = etree.parse(str(tmp_path / "again.qdc")).getroot()
    cb = "{urn:QDA-XML:codebook:1.0}"
    assert [(c.get("guid"), c.get("color")) for c in again.iter(f"{cb}Code")] == [
        (t["guid"], t["color"]) for t in written["themes"]]
    # the .qdc's codes and sets are the project schema's types (the codebook schema is not in ../shared)
    as_project = etree.fromstring(f'<Project xmlns="{Q}" name="check"><CodeBook/></Project>')
    swapped = etree.fromstring((tmp_path / "again.qdc").read_bytes().replace(b"urn:QDA-XML:codebook:1.0",
                                                                            Q.encode()))
    as_project[0].append(swapped.find("q:Codes", NS))
    as_project.append(swapped.find("q:Sets", NS))
    assert valid(as_project, refi_qda_dir)
    group = again.find(f"{cb}Sets/{cb}Set")
    assert (group.get("guid"), group.findtext(f"{cb}Description")) == ("{CDD38088-85AA-45BB-B2BC-6615A7FDAB08}",
                                                                      "Codes about working together")
    assert [m.get("targetGUID") for m in group.findall(f"{cb}MemberCode")] == ["{D7AA29DA-519B-4946-9B90-253B6DB8FD0A}"]
    # a study coding with it exports its codes under their GUIDs and colours, and the group as a set
    path = tmp_path / "study.yaml"
    path.write_text("title: Topics\ncodebook: topics.yaml\n", encoding="utf-8")
    study = load_study(path)
    store = open_store(study.database_url())
    text = "They agreed a partnership and payments followed."
    store_document(store, sha256=hashlib.sha256(text.encode()).hexdigest(), title="t", case_ids=[CASE_A],
                   extracted=Extracted(text=text, pages=[0], kind="text"), doc_type="review", origin="t")
    xml = project_files(study, store, include_all=True, case_data=False)[0]
    root = etree.fromstring(xml)
    assert valid(xml, refi_qda_dir)
    assert [(c.get("guid"), c.get("color")) for c in root.iter(f"{{{Q}}}Code")] == [
        (t["guid"], t["color"]) for t in written["themes"]]
    relations = root.find(".//q:Set[@name='Relations']", NS)
    assert relations.get("guid") == "{CDD38088-85AA-45BB-B2BC-6615A7FDAB08}"
    assert [m.get("targetGUID") for m in relations.findall("q:MemberCode", NS)] == [
        "{D7AA29DA-519B-4946-9B90-253B6DB8FD0A}"]


def test_an_nvivo_project_without_cases_is_linked_to_a_case_with_case_and_then_coded(
        tmp_path: Path, refi_qda_dir: Path, indigo_dir: Path) -> None:
    from sibkit.testing import run_cli

    study = tmp_path / "study.yaml"
    study.write_text(f"title: Oltás\ndata: {indigo_dir}\n", encoding="utf-8")
    source = str(refi_qda_dir / "samples" / "nvivo12win-oltas.qdpx")
    refused = run_cli("import", "qdpx", source, str(study), "--case", "INDIGO-POJ-9999")
    assert refused.returncode == 2
    assert refused.stderr.strip() == ("error: --case 'INDIGO-POJ-9999' is not a project in the study's dataset; "
                                      "nothing imported")
    done = run_cli("import", "qdpx", source, str(study), "--case", "INDIGO-POJ-0110")
    assert done.returncode == 0, done.stderr
    assert "linked 1 document to INDIGO-POJ-0110 (--case)" in done.stdout.splitlines()
    coded = run_cli("code", str(study))
    assert coded.stdout.startswith("Coded 1 document (0 unchanged)") and "linked to no case" not in coded.stderr
    again = run_cli("import", "qdpx", source, str(study), "--case", "INDIGO-POJ-0110")
    assert "linked 0 documents to INDIGO-POJ-0110 (--case)" in again.stdout.splitlines()  # linked already
