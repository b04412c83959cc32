"""REFI-QDA export of a real study (SQLite file, INDIGO export, a DOCX original), validated against the
project XSD with lxml, stable across exports, and round-tripped into a new study."""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import select

from sibkit.coding import code_documents, load_codebook, references
from sibkit.corpus.extraction import Extracted
from sibkit.corpus.importer import add_file, store_document
from sibkit.interop import export_qdpx, import_qdpx, project_files, validation_errors
from sibkit.store import Document, DocumentCase, Memo, Reference, ReviewDecision, open_store
from sibkit.study import load_study
from sibkit.testing import run_cli

NS = {"q": "urn:QDA-XML:project:1.0"}
CASE_A, CASE_B = "INDIGO-POJ-0121", "INDIGO-POJ-0110"
TEXT_A = ("Partnership working 🤝 began early.\r\nCo-production 🎉 with families shaped the service.\r\n"
          "Innovation came later; partnership working held.\r\n")
TEXT_B = "The council valued co-producing services.\nNo innovation here, said the provider.\n"
CODEBOOK = """
name: exchange
version: "2"
themes:
  - id: ways
    name: Ways of working
    definition: Parent of the practices.
  - id: partnership
    parent: ways
    name: Partnership working
    definition: Working as one partnership.
    terms: [partnership working, {term: close partner*, exclude: [close partner agency]}]
    examples: [The partners met weekly.]
  - id: coproduction
    parent: ways
    name: Co-production
    terms: [co-produc*]
  - id: innovation
    name: Innovation
    terms: [innovat*]
"""
T0 = dt.datetime(2025, 3, 1, 9, 30, 0)


def write_study(folder: Path, indigo_dir: Path, title: str = "Exchange test") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "exchange.yaml").write_text(CODEBOOK, encoding="utf-8")
    path = folder / "study.yaml"
    path.write_text(f"title: {title}\ndata: {indigo_dir}\ncodebook: exchange.yaml\nselection:\n"
                    "  - countries: [GB]\n  - live_years: {from: 2016, to: 2021}\n", encoding="utf-8")
    return path


def add_text(store, text: str, case: str, title: str) -> int:
    outcome = store_document(store, sha256=hashlib.sha256(text.encode()).hexdigest(),
                             extracted=Extracted(text=text, pages=[0], kind="text"), case_ids=[case], title=title,
                             doc_type="evaluation", origin=title)
    return outcome.document_id


@pytest.fixture(scope="module")
def source_study(tmp_path_factory: pytest.TempPathFactory, indigo_dir: Path):
    import docx
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = tmp_path_factory.mktemp("study-a")
    study = load_study(write_study(folder, indigo_dir))
    store = open_store(study.database_url())
    doc_a = add_text(store, TEXT_A, CASE_A, "Emoji and CRLF")
    doc_b = add_text(store, TEXT_B, CASE_B, "Council notes")
    word = docx.Document()
    word.add_paragraph("Partnership working in Essex.")
    word.save(folder / "essex.docx")
    doc_c = add_file(store, folder / "essex.docx", case_ids=[CASE_B], doc_type="review").document_id
    figure = plt.figure(figsize=(4, 2))
    figure.text(0.1, 0.5, "Partnership working in Kent.")
    figure.savefig(folder / "kent.pdf")
    plt.close(figure)
    assert add_file(store, folder / "kent.pdf", case_ids=[CASE_B], doc_type="evaluation").status == "added"
    code_documents(store, load_codebook(folder / "exchange.yaml"))
    with store.session() as session:
        refs = {(r.document_id, r.theme, r.start): r for r in session.scalars(select(Reference))}
        first_partnership = refs[(doc_a, "partnership", 0)]
        innovation_b = next(r for (d, t, _), r in refs.items() if d == doc_b and t == "innovation")
        coproduction_b = next(r for (d, t, _), r in refs.items() if d == doc_b and t == "coproduction")
        start = TEXT_A.index("shaped the service")
        manual = Reference(document_id=doc_a, theme="innovation", term="(manual)", start=start,
                           end=start + len("shaped the service"), origin="manual")
        session.add(manual)
        session.flush()
        session.add_all([
            ReviewDecision(reference_id=first_partnership.id, coder="ana", decided_at=T0, decision="accept"),
            ReviewDecision(reference_id=innovation_b.id, coder="ana", decided_at=T0, decision="reject"),
            ReviewDecision(reference_id=coproduction_b.id, coder="ben", decided_at=T0, decision="recode",
                           new_theme="partnership"),
            ReviewDecision(reference_id=manual.id, coder="ben", decided_at=T0, decision="accept"),
            Memo(target_kind="study", target_id="", author="ana", text="Start with the GB cases.", created_at=T0),
            Memo(target_kind="document", target_id=str(doc_a), author="ben", text="Read twice 🤔", created_at=T0),
            Memo(target_kind="case", target_id=CASE_A, author="ana", text="A strong partnership.", created_at=T0),
            Memo(target_kind="reference", target_id=str(manual.id), author="ben", text="Borderline.",
                 created_at=T0),
        ])
    return study, store, {"a": doc_a, "b": doc_b, "c": doc_c, "manual": manual.id}


def note_text(archive: zipfile.ZipFile, note: etree._Element) -> str:
    """A note's text, from the file its plainTextPath names (``internal://NAME`` is ``sources/NAME``)."""
    return archive.read("sources/" + note.get("plainTextPath").removeprefix("internal://")).decode("utf-8")


def qde_of(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return archive.read("project.qde")


def without_time(xml: bytes) -> bytes:
    root = etree.fromstring(xml)
    del root.attrib["modifiedDateTime"]
    return etree.tostring(root)


def test_export_is_valid_complete_and_stable(source_study, refi_qda_dir: Path, tmp_path: Path) -> None:
    study, store, _ = source_study
    first = export_qdpx(study, tmp_path / "one.qdpx", store, now=T0)
    export_qdpx(study, tmp_path / "two.qdpx", store, now=T0 + dt.timedelta(days=3))
    xml = qde_of(tmp_path / "one.qdpx")
    assert validation_errors(xml, refi_qda_dir / "Project-mrt2019.xsd") == []
    assert xml != qde_of(tmp_path / "two.qdpx")  # the export time differs ...
    assert without_time(xml) == without_time(qde_of(tmp_path / "two.qdpx"))  # ... and nothing else
    root = etree.fromstring(xml)
    # accepted (1), recoded (1) and manual (1) references; the rejected and the unreviewed ones stay home
    assert first.references == {"manual": 1, "reviewed": 2}
    # what the console says: 3 references were reviewed (2 accepted, one of them recoded, and 1 rejected)
    lines = first.lines()
    assert lines[0].endswith("; references exported: 2 accepted in review, 1 manual")
    assert "not exported: 1 reference rejected in review" in lines
    assert "not exported: 5 unreviewed references (--all exports them)" in lines
    selections = root.findall(".//q:PlainTextSelection", NS)
    assert len(selections) == 3
    with zipfile.ZipFile(tmp_path / "one.qdpx") as archive:
        names = sorted(archive.namelist())
        source_a = root.find(".//q:TextSource[@name='Emoji and CRLF']", NS)
        text = archive.read("sources/" + source_a.get("plainTextPath").removeprefix("internal://")).decode()
        assert text == TEXT_A and "\r\n" in text  # exactly the stored text, CRLF and all
        docx_source = root.find(".//q:TextSource[@name='essex.docx']", NS)
        rich = docx_source.get("richTextPath").removeprefix("internal://")
        assert hashlib.sha256(archive.read("sources/" + rich)).hexdigest() == hashlib.sha256(
            (study.base_dir / "essex.docx").read_bytes()).hexdigest()
        pdf = root.find(".//q:PDFSource[@name='kent.pdf']", NS)  # the original PDF and its text representation
        assert archive.read("sources/" + pdf.get("path").removeprefix("internal://")).startswith(b"%PDF")
        representation = pdf.find("q:Representation", NS)
        assert "Partnership working in Kent." in archive.read(
            "sources/" + representation.get("plainTextPath").removeprefix("internal://")).decode()
        notes = {note_text(archive, n): n.get("guid") for n in root.findall(".//q:Note", NS)}
    assert len(names) == 11  # project.qde, four texts, two originals, four notes
    manual = next(s for s in selections if s.get("name") == "shaped the service")
    start = TEXT_A.index("shaped the service")  # code points: the emoji before it counts once
    assert (int(manual.get("startPosition")), int(manual.get("endPosition"))) == (start, start + 18)
    users = {u.get("name"): u.get("guid") for u in root.findall(".//q:User", NS)}
    assert set(users) == {"ana", "ben"}
    assert manual.find("q:Coding", NS).get("creatingUser") == users["ben"]
    # nested codes with the terms in the documented form
    ways = root.find(".//q:Codes/q:Code", NS)
    assert (ways.get("name"), ways.get("isCodable")) == ("Ways of working", "false")
    assert [c.get("name") for c in ways.findall("q:Code", NS)] == ["Partnership working", "Co-production"]
    partnership = ways.find("q:Code", NS).find("q:Description", NS).text
    assert partnership.startswith("Working as one partnership.\n\n--- sibkit theme ---\nid: partnership\n")
    assert "- term: close partner*\n  exclude:\n  - close partner agency" in partnership
    # cases with the study's attributes, as INDIGO gives them
    case = root.find(".//q:Case[@name='INDIGO-POJ-0121']", NS)
    variables = {v.get("guid"): v.get("name") for v in root.findall(".//q:Variable", NS)}
    values = {variables[v.find("q:VariableRef", NS).get("targetGUID")]: v[1].text
              for v in case.findall("q:VariableValue", NS)}
    assert values["country"] == "GB" and values["class"] in ("successful", "struggling", "insufficient data")
    assert values["live_year"].isdigit() and 2016 <= int(values["live_year"]) <= 2021
    assert {r.get("targetGUID") for r in case.findall("q:SourceRef", NS)} == {source_a.get("guid")}
    # memos as notes, where they belong
    assert set(notes) == {"Start with the GB cases.", "Read twice 🤔", "A strong partnership.", "Borderline."}
    assert root.find("q:NoteRef", NS).get("targetGUID") == notes["Start with the GB cases."]
    assert source_a.find("q:NoteRef", NS).get("targetGUID") == notes["Read twice 🤔"]
    assert manual.find("q:NoteRef", NS).get("targetGUID") == notes["Borderline."]
    link = root.find(".//q:Link", NS)
    assert (link.get("originGUID"), link.get("targetGUID")) == (notes["A strong partnership."], case.get("guid"))


def test_all_adds_unreviewed_references_marked_by_a_note(source_study, refi_qda_dir: Path) -> None:
    study, store, _ = source_study
    xml, files, summary = project_files(study, store, include_all=True, now=T0)
    assert validation_errors(xml, refi_qda_dir / "Project-mrt2019.xsd") == []
    # 8 automatic hits (4 in A, 2 in B, 1 in the DOCX, 1 in the PDF); 3 reviewed, 1 of them rejected; 1 manual
    assert summary.references == {"manual": 1, "reviewed": 2, "unreviewed": 5}
    assert summary.lines()[0].endswith("; references exported: 2 accepted in review, 1 manual, 5 unreviewed")
    assert "not exported: 1 reference rejected in review" in summary.lines()
    root = etree.fromstring(xml)
    marker = root.find(".//q:Note[@name='sibkit: unreviewed auto references']", NS)
    marker_text = files[marker.get("plainTextPath").removeprefix("internal://")].decode()
    assert marker_text.startswith("sibkit: references of origin 'auto', not reviewed")
    marked = root.findall(f".//q:Coding/q:NoteRef[@targetGUID='{marker.get('guid')}']", NS)
    assert len(marked) == 5


def snapshot(store) -> dict[str, set]:
    refs = references(store)
    with store.session() as session:
        shas = dict(session.execute(select(Document.id, Document.sha256)).all())
        documents = {(d.sha256, d.title, d.text, d.doc_type) for d in session.scalars(select(Document))}
        links = {(shas[d], c) for d, c in session.execute(select(DocumentCase.document_id, DocumentCase.case_id))}
        memos = {(m.target_kind, m.author, m.text) for m in session.scalars(select(Memo))}
    live = refs[refs["counts_for"].notna()]
    return {"documents": documents, "links": links, "memos": memos,
            "references": {(shas[r.document_id], r.start, r.end, r.counts_for, r.origin, bool(r.reviewed), r.text)
                           for r in live.itertuples()}}


def test_round_trip_into_a_new_study(source_study, indigo_dir: Path, tmp_path: Path) -> None:
    study, store, _ = source_study
    export_qdpx(study, tmp_path / "a.qdpx", store, include_all=True, now=T0)
    target = load_study(write_study(tmp_path / "b", indigo_dir))
    result = import_qdpx(tmp_path / "a.qdpx", target)
    assert result.problems == [] and not result.unsupported and result.new_themes == []
    assert set(result.themes.values()) == {"ways", "partnership", "coproduction", "innovation"}
    new_store = open_store(target.database_url())
    assert snapshot(new_store) == snapshot(store)
    with new_store.session() as session:
        coders = {(r.coder, r.decision) for r in session.scalars(select(ReviewDecision))}
    assert coders == {("ana", "accept"), ("ben", "accept")}
    again = import_qdpx(tmp_path / "a.qdpx", target)  # the same project twice adds nothing
    assert sum(again.added.values()) == 0
    # exporting the imported study gives the same project: every GUID came back
    export_qdpx(target, tmp_path / "b.qdpx", new_store, include_all=True, now=T0)
    assert qde_of(tmp_path / "b.qdpx") == qde_of(tmp_path / "a.qdpx")


def test_command_line_both_directions(source_study, indigo_dir: Path, tmp_path: Path, refi_qda_dir: Path) -> None:
    study, _, _ = source_study
    done = run_cli("export", "qdpx", str(study.path), "-o", str(tmp_path / "s.qdpx"), "--xsd",
                   str(refi_qda_dir / "Project-mrt2019.xsd"))
    assert done.returncode == 0, done.stderr
    assert "4 documents (2 with their original file)" in done.stdout
    target = write_study(tmp_path / "c", indigo_dir)
    done = run_cli("import", "qdpx", str(tmp_path / "s.qdpx"), str(target))
    assert done.returncode == 0, done.stderr
    assert "added 4 documents, 3 references, 3 decisions" in done.stdout


def test_an_edited_memo_keeps_its_guid(tmp_path: Path) -> None:
    path = tmp_path / "study.yaml"
    path.write_text("title: Memos\n", encoding="utf-8")
    study = load_study(path)
    store = open_store(study.database_url())
    with store.session() as session:
        first = Memo(target_kind="study", target_id="", author="ana", text="First thoughts.", created_at=T0)
        session.add(first)
    xml, _, _ = project_files(study, store, now=T0, case_data=False)
    before = etree.fromstring(xml).find(".//q:Note", NS).get("guid")
    with store.session() as session:
        session.add(Memo(target_kind="study", target_id="", author="ana", text="Second thoughts.", replaces=first.id,
                         created_at=T0))
    xml, files, _ = project_files(study, store, now=T0, case_data=False)
    notes = etree.fromstring(xml).findall(".//q:Note", NS)
    assert [(n.get("guid"), files[f"{n.get('guid')}.txt"].decode()) for n in notes] == [(before, "Second thoughts.")]


def test_every_coder_who_accepted_a_reference_travels_with_it(indigo_dir: Path, tmp_path: Path,
                                                               refi_qda_dir: Path) -> None:
    """Two or three coders reviewed: each one whose latest decision accepts a reference the study counts is a
    Coding of their own (REFI-QDA codes by user), so the team's acceptances survive a round trip."""
    study = load_study(write_study(tmp_path / "team", indigo_dir))
    store = open_store(study.database_url())
    add_text(store, TEXT_A, CASE_A, "Emoji and CRLF")
    code_documents(store, load_codebook(tmp_path / "team" / "exchange.yaml"))
    decided = {  # theme -> (coder, decision, new theme); the standing reading: the most frequent outcome
        "partnership": [("ana", "accept", None), ("ben", "accept", None)],
        "innovation": [("ana", "accept", None), ("ben", "reject", None), ("cara", "accept", None)],
        "coproduction": [("ana", "accept", None), ("ben", "recode", "innovation"), ("cara", "accept", None)],
    }
    with store.session() as session:
        refs = {r.theme: r for r in session.scalars(select(Reference).order_by(Reference.start.desc()))}
        for theme, decisions in decided.items():
            for coder, decision, new_theme in decisions:
                session.add(ReviewDecision(reference_id=refs[theme].id, coder=coder, decided_at=T0,
                                           decision=decision, new_theme=new_theme))
    export_qdpx(study, tmp_path / "team.qdpx", store, now=T0)
    qde = etree.fromstring(qde_of(tmp_path / "team.qdpx"))
    assert validation_errors(qde_of(tmp_path / "team.qdpx"), refi_qda_dir / "Project-mrt2019.xsd") == []
    users = {u.get("guid"): u.get("name") for u in qde.iterfind(".//q:User", NS)}
    codings = sorted(users[c.get("creatingUser")] for c in qde.iterfind(".//q:Coding", NS))
    # partnership: ana, ben; innovation: ana, cara (ben rejected); coproduction: ana, cara (ben moved it away)
    assert codings == ["ana", "ana", "ana", "ben", "cara", "cara"]
    target = load_study(write_study(tmp_path / "fresh", indigo_dir))
    result = import_qdpx(tmp_path / "team.qdpx", target)
    assert "added 1 document, 3 references, 6 decisions, 68 cases," in result.lines()[0]
    assert not any(line.startswith("already in the study") for line in result.lines())
    with open_store(target.database_url()).session() as session:
        back = {(r.theme, d.coder) for d, r in session.execute(
            select(ReviewDecision, Reference).join(Reference, Reference.id == ReviewDecision.reference_id))}
    assert back == {("partnership", "ana"), ("partnership", "ben"), ("innovation", "ana"), ("innovation", "cara"),
                    ("coproduction", "ana"), ("coproduction", "cara")}
