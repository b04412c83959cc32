"""Importing projects in the shapes NVivo, ATLAS.ti, MAXQDA and QualCoder write (REFI-QDA 1.5), built
here by hand: each ``project.qde`` follows the specification and the habits of its tool (file and
folder names, GUID style, nesting, where text and notes live)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from lxml import etree
from sqlalchemy import select

from sibkit.coding import load_codebook, references
from sibkit.interop import import_qdpx, read_qdpx
from sibkit.store import Document, DocumentCase, Memo, ReviewDecision, open_store
from sibkit.store.models import QdaSet, QdaValue
from sibkit.study import load_study
from sibkit.testing import make_zip as make_qdpx

HEAD = '<?xml version="1.0" encoding="utf-8"?>\n'


@pytest.fixture()
def study(tmp_path: Path):
    path = tmp_path / "study.yaml"
    path.write_text("title: Imports\ncodebook: relational-sib\n", encoding="utf-8")
    return load_study(path)


def coded(study) -> set[tuple[str, str, str, str]]:
    """(document title, coded text, theme, coder) for every imported reference."""
    store = open_store(study.database_url())
    refs = references(store)
    with store.session() as session:
        coders = dict(session.execute(select(ReviewDecision.reference_id, ReviewDecision.coder)).all())
    return {(r.title, r.text, r.theme, coders.get(r.reference_id, "")) for r in refs.itertuples()}


# --- NVivo: project.qde, sources/, lower-case GUIDs, codes nested under a folder that is not codable,
# cases with attribute values and their sources, memos as notes in files, source sets.

NVIVO_TEXT = "Interview with the provider.\nWe worked as one partnership with the council.\nPayments worried us.\n"
NVIVO = HEAD + """<Project xmlns="urn:QDA-XML:project:1.0" name="SIB interviews" origin="NVivo 14.23.0 (Windows)"
  creatingUserGUID="0b7a3f2e-1111-4c1e-9b1a-2f5e6d7c8a90" creationDateTime="2024-05-02T10:00:00Z">
  <Users>
    <User guid="0b7a3f2e-1111-4c1e-9b1a-2f5e6d7c8a90" name="Dana Researcher"/>
  </Users>
  <CodeBook><Codes>
    <Code guid="5a1d2c3b-0000-4aaa-8bbb-000000000001" name="Ways of working" isCodable="false">
      <Code guid="5a1d2c3b-0000-4aaa-8bbb-000000000002" name="One partnership" isCodable="true" color="#3366ff">
        <Description>Partners act as one team.</Description>
      </Code>
    </Code>
    <Code guid="5a1d2c3b-0000-4aaa-8bbb-000000000003" name="Payment worries" isCodable="true"/>
  </Codes></CodeBook>
  <Variables>
    <Variable guid="7c000000-0000-4000-8000-000000000001" name="Role" typeOfVariable="Text"/>
    <Variable guid="7c000000-0000-4000-8000-000000000002" name="Years" typeOfVariable="Integer"/>
  </Variables>
  <Cases>
    <Case guid="ca5e0000-0000-4000-8000-000000000001" name="Provider A">
      <VariableValue><VariableRef targetGUID="7c000000-0000-4000-8000-000000000001"/>
        <TextValue>provider</TextValue></VariableValue>
      <VariableValue><VariableRef targetGUID="7c000000-0000-4000-8000-000000000002"/>
        <IntegerValue>7</IntegerValue></VariableValue>
      <SourceRef targetGUID="d0c00000-0000-4000-8000-000000000001"/>
    </Case>
  </Cases>
  <Sources>
    <TextSource guid="d0c00000-0000-4000-8000-000000000001" name="Interview provider A"
        plainTextPath="internal://d0c00000-0000-4000-8000-000000000001.txt"
        creatingUser="0b7a3f2e-1111-4c1e-9b1a-2f5e6d7c8a90" creationDateTime="2024-05-02T10:05:00Z">
      <PlainTextSelection guid="5e100000-0000-4000-8000-000000000001" name="worked as one partnership"
          startPosition="{p1}" endPosition="{p1e}" creatingUser="0b7a3f2e-1111-4c1e-9b1a-2f5e6d7c8a90">
        <Coding guid="c0d10000-0000-4000-8000-000000000001" creatingUser="0b7a3f2e-1111-4c1e-9b1a-2f5e6d7c8a90"
            creationDateTime="2024-05-03T09:00:00Z">
          <CodeRef targetGUID="5a1d2c3b-0000-4aaa-8bbb-000000000002"/>
        </Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="5e100000-0000-4000-8000-000000000002" name="Payments worried us."
          startPosition="{p2}" endPosition="{p2e}">
        <Coding guid="c0d10000-0000-4000-8000-000000000002" creatingUser="0b7a3f2e-1111-4c1e-9b1a-2f5e6d7c8a90">
          <CodeRef targetGUID="5a1d2c3b-0000-4aaa-8bbb-000000000003"/>
        </Coding>
      </PlainTextSelection>
      <NoteRef targetGUID="n0000000-0000-4000-8000-000000000001"/>
    </TextSource>
  </Sources>
  <Notes>
    <Note guid="a0000000-0000-4000-8000-000000000001" name="Memo on interview A"
        plainTextPath="internal://a0000000-0000-4000-8000-000000000001.txt"
        creatingUser="0b7a3f2e-1111-4c1e-9b1a-2f5e6d7c8a90" creationDateTime="2024-05-04T08:00:00Z"/>
  </Notes>
  <Sets>
    <Set guid="5e700000-0000-4000-8000-000000000001" name="Providers">
      <MemberSource targetGUID="d0c00000-0000-4000-8000-000000000001"/>
    </Set>
  </Sets>
</Project>
""".replace("n0000000-0000-4000-8000-000000000001", "a0000000-0000-4000-8000-000000000001")


def test_nvivo_shape(study, tmp_path: Path) -> None:
    p1 = NVIVO_TEXT.index("worked as one partnership")
    p2 = NVIVO_TEXT.index("Payments worried us.")
    qde = NVIVO.format(p1=p1, p1e=p1 + 25, p2=p2, p2e=p2 + 20)
    path = make_qdpx(tmp_path / "nvivo.qdpx", {
        "project.qde": qde, "sources/d0c00000-0000-4000-8000-000000000001.txt": NVIVO_TEXT,
        "sources/a0000000-0000-4000-8000-000000000001.txt": "Ask about the outcomes fund."})
    codings = read_qdpx(path).tables()["codings"]  # a look before importing, as DataFrames
    assert codings[["code", "coder", "text"]].values.tolist() == [
        ["One partnership", "Dana Researcher", "worked as one partnership"],
        ["Payment worries", "Dana Researcher", "Payments worried us."]]
    result = import_qdpx(path, study)
    assert result.problems == [] and not result.unsupported
    assert result.added["documents"] == 1 and result.added["cases"] == 1 and result.added["memos"] == 1
    assert coded(study) == {
        ("Interview provider A", "worked as one partnership", "one-partnership", "Dana Researcher"),
        ("Interview provider A", "Payments worried us.", "payment-worries", "Dana Researcher")}
    themes = {t.id: t for t in result.new_themes}
    assert set(themes) == {"ways-of-working", "one-partnership", "payment-worries"}
    assert themes["one-partnership"].parent == "ways-of-working"
    assert themes["one-partnership"].definition == "Partners act as one team."
    assert themes["ways-of-working"].terms == []
    written = load_codebook(result.codebook_path)  # a working codebook: the study's themes and the new ones
    assert {"one-partnership", "vision-values"} <= {t.id for t in written.themes}
    store = open_store(study.database_url())
    with store.session() as session:
        assert session.execute(select(DocumentCase.case_id)).scalars().all() == ["Provider A"]
        values = {(v.target_kind, v.target_id, v.value) for v in session.scalars(select(QdaValue))}
        assert values == {("case", "Provider A", "provider"), ("case", "Provider A", "7")}
        memo = session.scalars(select(Memo)).one()
        assert (memo.target_kind, memo.author) == ("document", "Dana Researcher")
        assert memo.text.endswith("Ask about the outcomes fund.")
        assert session.scalars(select(QdaSet.name)).all() == ["Providers"]


# --- ATLAS.ti: Project.qde and Sources/ with upper-case GUIDs and file names (the paths in the .qde
# in lower case), flat code names "Group::Code", quotation comments as Description, a PDF with a text
# Representation and region selections, a video kept outside, links, a network (graph).

ATLAS_TEXT = "Investors met the team monthly. Co-production with families began in 2019.\n"
PDF_TEXT = "Evaluation report.\nThe outcomes were met in full.\n"
ATLAS = HEAD + """<Project xmlns="urn:QDA-XML:project:1.0" name="SIB evaluations"
  origin="ATLAS.ti 23.2.1 (Mac)" basePath="/Users/someone/Documents/ATLAS.ti">
  <Users>
    <User guid="AD68FBE7-E1EE-4A82-A279-23CC698C89EB" name="Ravi"/>
  </Users>
  <CodeBook><Codes>
    <Code guid="7496BA52-9C8D-4396-8FAB-CC438614E453" name="Practice" isCodable="true" color="#966450"/>
    <Code guid="0983E32E-6866-431A-BD94-DAC9BB963825" name="Practice::Co-production" isCodable="true">
      <Description>Services designed with the people who use them.</Description>
    </Code>
    <Code guid="D299EFAE-5779-46DC-9827-A3D1A5D544BC" name="Outcomes met" isCodable="true"/>
  </Codes></CodeBook>
  <Sources>
    <TextSource guid="51AD8E46-427A-4E6B-AFE7-BD96C1EFF0AD" name="Board minutes.docx"
        plainTextPath="internal://c8a57c71-d156-4a94-8407-2bd2fa57e2a4.txt">
      <PlainTextSelection guid="4191294A-E287-4510-95B0-69BCE4638E56" name="Co-production with families"
          startPosition="{a1}" endPosition="{a1e}" creatingUser="AD68FBE7-E1EE-4A82-A279-23CC698C89EB"
          creationDateTime="2023-09-01T12:00:00Z">
        <Description>Check the year with the provider.</Description>
        <Coding guid="445A6AEC-1400-4502-919D-0867832FF211" creatingUser="AD68FBE7-E1EE-4A82-A279-23CC698C89EB">
          <CodeRef targetGUID="0983E32E-6866-431A-BD94-DAC9BB963825"/>
        </Coding>
      </PlainTextSelection>
    </TextSource>
    <PDFSource guid="03F134F1-AB05-46E6-8702-1D6930D7F7F0" name="Evaluation.pdf"
        path="internal://484934bd-97ff-4f8c-9690-b9e77a9092b5.pdf">
      <PDFSelection guid="95916796-D0A0-4B49-80B0-5A5C8B94AE13" page="0" firstX="18" firstY="45" secondX="577"
          secondY="234" name="a region">
        <Coding guid="DA81AC20-2C10-45DE-9D95-1F87DF90D77D" creatingUser="AD68FBE7-E1EE-4A82-A279-23CC698C89EB">
          <CodeRef targetGUID="D299EFAE-5779-46DC-9827-A3D1A5D544BC"/>
        </Coding>
      </PDFSelection>
      <Representation guid="B09E8D25-66A6-4D7E-A884-3E1A11A40E7C" name="Representation_for_Evaluation.pdf"
          plainTextPath="internal://b09e8d25-66a6-4d7e-a884-3e1a11a40e7c.txt">
        <PlainTextSelection guid="27A5F0C2-E225-4D6A-8297-F4FEC794D890" name="The outcomes were met in full."
            startPosition="{b1}" endPosition="{b1e}">
          <Coding guid="4B1F2D56-CCE9-46F9-8248-E110F3352C5A" creatingUser="AD68FBE7-E1EE-4A82-A279-23CC698C89EB">
            <CodeRef targetGUID="D299EFAE-5779-46DC-9827-A3D1A5D544BC"/>
          </Coding>
        </PlainTextSelection>
      </Representation>
    </PDFSource>
    <VideoSource guid="9D260347-8F7D-4161-89F7-DCC93CC34170" name="Launch.mp4"
        path="relative:///5293A7DD-8139-4811-88E4-3357E3AA64E1.mp4">
      <VideoSelection guid="0EF270BA-47AD-4107-B78F-7697362BCA44" begin="14706" end="17706" name="00:14.70">
        <Coding guid="04EBEC7D-EAB4-43FC-8167-ADB14F921143" creatingUser="AD68FBE7-E1EE-4A82-A279-23CC698C89EB">
          <CodeRef targetGUID="7496BA52-9C8D-4396-8FAB-CC438614E453"/>
        </Coding>
      </VideoSelection>
    </VideoSource>
  </Sources>
  <Notes>
    <Note guid="E41BE463-FDF3-4ED0-B668-119C53D8D687" name="Research plan"
        creatingUser="AD68FBE7-E1EE-4A82-A279-23CC698C89EB">
      <PlainTextContent>Compare the two boards.</PlainTextContent>
    </Note>
  </Notes>
  <Links>
    <Link guid="7B56978E-9D9F-4D47-B4EC-436E2F6B8BE5" direction="OneWay"
        originGUID="E41BE463-FDF3-4ED0-B668-119C53D8D687" targetGUID="51AD8E46-427A-4E6B-AFE7-BD96C1EFF0AD"
        name="Memo-Document"/>
  </Links>
  <Sets>
    <Set guid="2324B638-D629-4970-B2E8-8B5BFD0A8D6B" name="Practices">
      <MemberCode targetGUID="0983E32E-6866-431A-BD94-DAC9BB963825"/>
    </Set>
  </Sets>
  <Graphs>
    <Graph guid="2BD17780-DA8D-4F9E-835A-5FA8CF02EF11" name="Network"/>
  </Graphs>
</Project>
"""


def test_atlas_ti_shape(study, tmp_path: Path) -> None:
    a1 = ATLAS_TEXT.index("Co-production with families")
    b1 = PDF_TEXT.index("The outcomes were met in full.")
    qde = ATLAS.format(a1=a1, a1e=a1 + 27, b1=b1, b1e=b1 + 30)
    path = make_qdpx(tmp_path / "atlas.qdpx", {
        "Project.qde": qde, "Sources/C8A57C71-D156-4A94-8407-2BD2FA57E2A4.TXT": ATLAS_TEXT,
        "Sources/B09E8D25-66A6-4D7E-A884-3E1A11A40E7C.TXT": PDF_TEXT,
        "Sources/484934BD-97FF-4F8C-9690-B9E77A9092B5.PDF": b"%PDF-1.4 not really read\n"})
    result = import_qdpx(path, study)
    assert result.problems == []
    assert dict(result.unsupported) == {"PDF region selections": 1, "codings of PDF regions": 1, "video sources": 1,
                                        "video selections": 1, "codings of video sources": 1, "graphs": 1}
    themes = {t.id: t for t in result.new_themes}
    assert themes["practice-co-production"].parent == "practice"  # "Practice::Co-production"
    assert coded(study) == {
        ("Board minutes.docx", "Co-production with families", "practice-co-production", "Ravi"),
        ("Evaluation.pdf", "The outcomes were met in full.", "outcomes-met", "Ravi")}
    store = open_store(study.database_url())
    with store.session() as session:
        memos = {(m.target_kind, m.text) for m in session.scalars(select(Memo))}
        assert memos == {("reference", "Check the year with the provider."),
                         ("document", "Research plan\n\nCompare the two boards.")}
        pdf = session.scalars(select(Document).where(Document.title == "Evaluation.pdf")).one()
        assert pdf.text == PDF_TEXT and pdf.guid == "03F134F1-AB05-46E6-8702-1D6930D7F7F0"
    lines = result.lines()
    assert any("not supported, not imported: 1 PDF region selections" in line for line in lines)


# --- MAXQDA: the project file not named project.qde, GUIDs in braces, texts with a byte-order mark and
# CRLF line ends (offsets count every code point of the file), document variables, document sets.

MAXQDA_TEXT = "Q: How did it start?\r\nA: The commissioner trusted us 😊 from day one.\r\nQ: And later?\r\n"
MAXQDA = HEAD + """<Project xmlns="urn:QDA-XML:project:1.0" name="SIB Studie" origin="MAXQDA 2022 (Release 22.7.0)">
  <Users><User guid="{{C32A2BD5-537F-4838-8B17-DF9EFBAFDF4B}}" name="Jana" id="JA"/></Users>
  <CodeBook><Codes>
    <Code guid="{{D7AA29DA-519B-4946-9B90-253B6DB8FD0A}}" name="Vertrauen" isCodable="true" color="#FFFF00">
      <Description>Trust between partners</Description>
    </Code>
  </Codes></CodeBook>
  <Variables>
    <Variable guid="{{12365523-1035-4AFA-9E7B-281FE0BC51C5}}" name="Interviewdatum" typeOfVariable="Date"/>
  </Variables>
  <Sources>
    <TextSource guid="{{69A4332D-5B31-4915-B520-5275CFC21B40}}" name="Interview 1"
        plainTextPath="internal://{{69A4332D-5B31-4915-B520-5275CFC21B40}}.txt">
      <PlainTextSelection guid="{{B49D7982-BB8E-4335-80AF-DC869CCC3F45}}" name="The commissioner trusted us"
          startPosition="{m1}" endPosition="{m1e}" creatingUser="{{C32A2BD5-537F-4838-8B17-DF9EFBAFDF4B}}">
        <Coding guid="{{2284BF5B-8F78-45B6-A6EF-A128D991408B}}"
            creatingUser="{{C32A2BD5-537F-4838-8B17-DF9EFBAFDF4B}}">
          <CodeRef targetGUID="{{D7AA29DA-519B-4946-9B90-253B6DB8FD0A}}"/>
        </Coding>
      </PlainTextSelection>
      <VariableValue>
        <VariableRef targetGUID="{{12365523-1035-4AFA-9E7B-281FE0BC51C5}}"/><DateValue>2023-02-14</DateValue>
      </VariableValue>
    </TextSource>
  </Sources>
  <Sets>
    <Set guid="{{CDD38088-85AA-45BB-B2BC-6615A7FDAB08}}" name="Interviews">
      <MemberSource targetGUID="{{69A4332D-5B31-4915-B520-5275CFC21B40}}"/>
    </Set>
  </Sets>
</Project>
"""


def test_maxqda_shape(study, tmp_path: Path) -> None:
    m1 = MAXQDA_TEXT.index("The commissioner trusted us 😊")
    qde = MAXQDA.format(m1=m1, m1e=m1 + 29)
    path = make_qdpx(tmp_path / "maxqda.qdpx", {
        "SIB Studie.qde": qde.encode("utf-8-sig"),
        "sources/{69A4332D-5B31-4915-B520-5275CFC21B40}.txt": MAXQDA_TEXT.encode("utf-8-sig")})
    result = import_qdpx(path, study)
    assert result.problems == [] and not result.unsupported
    assert coded(study) == {("Interview 1", "The commissioner trusted us 😊", "vertrauen", "Jana")}
    store = open_store(study.database_url())
    with store.session() as session:
        document = session.scalars(select(Document)).one()
        assert document.text == MAXQDA_TEXT  # BOM gone, CRLF kept: offsets stay those of the file
        assert document.guid == "{69A4332D-5B31-4915-B520-5275CFC21B40}"
        values = {(v.target_kind, v.value) for v in session.scalars(select(QdaValue))}
        assert values == {("document", "2023-02-14")}


# --- QualCoder: lower-case GUIDs, sources/, categories as codes that are not codable with codes nested
# in them, a case with its sources, a text linked beside the project (relative://), a coding memo.

QC_TEXT = "The investor asked for weekly data. Staff felt micromanaged.\n"
QC_LINKED = "Linked file: the intermediary adapted the service model.\n"
QUALCODER = HEAD + """<Project xmlns="urn:QDA-XML:project:1.0" name="sib_project" origin="QualCoder 3.5"
  creationDateTime="2024-01-10T10:00:00Z">
  <Users><User guid="6f1b1c1e-2d2e-4f4f-8a8a-1b1b1c1c1d1d" name="default"/></Users>
  <CodeBook><Codes>
    <Code guid="11111111-aaaa-4bbb-8ccc-000000000001" name="Relationships" isCodable="false">
      <Description>Category</Description>
      <Code guid="11111111-aaaa-4bbb-8ccc-000000000002" name="Micromanagement" isCodable="true"/>
      <Code guid="11111111-aaaa-4bbb-8ccc-000000000003" name="Adapting the service" isCodable="true"/>
    </Code>
  </Codes></CodeBook>
  <Cases>
    <Case guid="22222222-aaaa-4bbb-8ccc-000000000001" name="Site 1">
      <SourceRef targetGUID="33333333-aaaa-4bbb-8ccc-000000000001"/>
      <SourceRef targetGUID="33333333-aaaa-4bbb-8ccc-000000000002"/>
    </Case>
  </Cases>
  <Sources>
    <TextSource guid="33333333-aaaa-4bbb-8ccc-000000000001" name="site1_notes.txt"
        plainTextPath="internal://33333333-aaaa-4bbb-8ccc-000000000001.txt">
      <PlainTextSelection guid="44444444-aaaa-4bbb-8ccc-000000000001" name="Staff felt micromanaged."
          startPosition="{q1}" endPosition="{q1e}">
        <Coding guid="55555555-aaaa-4bbb-8ccc-000000000001" creatingUser="6f1b1c1e-2d2e-4f4f-8a8a-1b1b1c1c1d1d"
            creationDateTime="2024-01-11T09:00:00">
          <CodeRef targetGUID="11111111-aaaa-4bbb-8ccc-000000000002"/>
          <NoteRef targetGUID="66666666-aaaa-4bbb-8ccc-000000000001"/>
        </Coding>
      </PlainTextSelection>
    </TextSource>
    <TextSource guid="33333333-aaaa-4bbb-8ccc-000000000002" name="linked.txt" plainTextPath="relative://linked.txt">
      <Coding guid="55555555-aaaa-4bbb-8ccc-000000000002" creatingUser="6f1b1c1e-2d2e-4f4f-8a8a-1b1b1c1c1d1d">
        <CodeRef targetGUID="11111111-aaaa-4bbb-8ccc-000000000003"/>
      </Coding>
    </TextSource>
    <TextSource guid="33333333-aaaa-4bbb-8ccc-000000000003" name="inline.txt">
      <PlainTextContent>Typed in directly.</PlainTextContent>
    </TextSource>
  </Sources>
  <Notes>
    <Note guid="66666666-aaaa-4bbb-8ccc-000000000001" name="coding memo"
        creatingUser="6f1b1c1e-2d2e-4f4f-8a8a-1b1b1c1c1d1d">
      <PlainTextContent>Weekly reporting is the trigger.</PlainTextContent>
    </Note>
  </Notes>
</Project>
"""


def test_qualcoder_shape(study, tmp_path: Path) -> None:
    q1 = QC_TEXT.index("Staff felt micromanaged.")
    (tmp_path / "linked.txt").write_text(QC_LINKED, encoding="utf-8")
    path = make_qdpx(tmp_path / "qualcoder.qdpx", {
        "project.qde": QUALCODER.format(q1=q1, q1e=q1 + 24),
        "sources/33333333-aaaa-4bbb-8ccc-000000000001.txt": QC_TEXT})
    result = import_qdpx(path, study, sources=tmp_path)  # relative:// files: read from a folder the user names
    assert [p for p in result.problems if "as --sources asked" not in p] == [] and not result.unsupported
    assert coded(study) == {("site1_notes.txt", "Staff felt micromanaged.", "micromanagement", "default"),
                            ("linked.txt", QC_LINKED, "adapting-the-service", "default")}  # the whole source
    store = open_store(study.database_url())
    with store.session() as session:
        titles = set(session.scalars(select(Document.title)))
        assert titles == {"site1_notes.txt", "linked.txt", "inline.txt"}
        linked = set(session.scalars(select(DocumentCase.case_id)))
        assert linked == {"Site 1"}
        memo = session.scalars(select(Memo)).one()
        assert (memo.target_kind, memo.text) == ("reference", "coding memo\n\nWeekly reporting is the trigger.")
    assert {t.id: t.parent for t in result.new_themes}["micromanagement"] == "relationships"


def test_offsets_counted_without_cr_or_in_utf16_units_are_recognised(study, tmp_path: Path) -> None:
    """Some tools count a CRLF as one character, some count UTF-16 units: the selections' text decides."""
    text = "Line one 🙂 here.\r\nThe board trusted the provider.\r\n"
    start = text.index("The board trusted")
    lf_start = text.replace("\r", "").index("The board trusted")
    utf16_start = start + 1  # the emoji is two UTF-16 units
    projects = {"crlf.qdpx": (lf_start, "CRLF counted as one character"), "utf16.qdpx": (utf16_start, "UTF-16 units")}
    for name, (offset, _) in projects.items():
        qde = QUALCODER.format(q1=offset, q1e=offset + 17).replace("Staff felt micromanaged.", "The board trusted")
        make_qdpx(tmp_path / name, {"project.qde": qde, "sources/33333333-aaaa-4bbb-8ccc-000000000001.txt": text})
        (tmp_path / "linked.txt").write_text(QC_LINKED, encoding="utf-8")
        project = read_qdpx(tmp_path / name)
        document = project.documents[0]
        assert document.offsets == projects[name][1]
        selection = document.selections[0]
        assert document.text[selection.start:selection.end] == "The board trusted"


@settings(max_examples=80, deadline=None)
@given(data=st.data(), text=st.text(alphabet=st.sampled_from(list("ab c\r\n🙂é")), min_size=2, max_size=40),
       reading=st.sampled_from(["code points", "no CR", "UTF-16"]))
def test_any_reading_of_offsets_finds_the_named_text(data, text: str, reading: str) -> None:
    """A selection whose name is its text word for word is put on those words, or the import says it
    is in doubt."""
    import re

    from sibkit.interop.offsets import choose_offsets
    from sibkit.interop.reader import Selection, TextDocument

    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    name = text[start:end]
    words = re.compile(r"\w+").findall
    assume(words(name))
    # a tool that counts a CRLF as one character cannot start or end a selection between its CR and LF
    assume(not any(text[p - 1:p + 1] == "\r\n" for p in (start, end) if 0 < p < len(text)))

    def units(position: int) -> int:
        before = text[:position]
        if reading == "no CR":  # a CRLF counted as one character
            return len(before.replace("\r\n", "\n"))
        if reading == "UTF-16":
            return len(before.encode("utf-16-le")) // 2
        return position

    selection = Selection("g", units(start), units(end), name, "", [], [], None, 1)
    document = TextDocument("d", "doc", text, "", [selection], [], [], [])
    choice = choose_offsets([document], origin="")
    assert words(text[selection.start:selection.end]) == words(name) or choice.weak
    labels = {"no CR": "CRLF counted as one character", "UTF-16": "UTF-16 units", "code points": "code points"}
    if document.offsets == labels[reading]:  # the right reading gives back the very span
        assert (selection.start, selection.end) == (start, end)


@pytest.mark.postgres
def test_import_and_export_on_postgresql(postgres, tmp_path: Path, refi_qda_dir: Path) -> None:
    from sibkit.interop import project_files, validation_errors

    path = tmp_path / "study.yaml"
    path.write_text(f"title: Team study\ncorpus:\n  database: {postgres.new_database()}\n", encoding="utf-8")
    team = load_study(path)
    m1 = MAXQDA_TEXT.index("The commissioner trusted us 😊")
    archive = make_qdpx(tmp_path / "maxqda.qdpx", {
        "SIB Studie.qde": MAXQDA.format(m1=m1, m1e=m1 + 29),
        "sources/{69A4332D-5B31-4915-B520-5275CFC21B40}.txt": MAXQDA_TEXT.encode("utf-8-sig")})
    result = import_qdpx(archive, team)
    assert result.problems == [] and result.added["references"] == 1
    assert coded(team) == {("Interview 1", "The commissioner trusted us 😊", "vertrauen", "Jana")}
    xml, sources, _ = project_files(team, case_data=False)
    assert validation_errors(xml, refi_qda_dir / "Project-mrt2019.xsd") == []
    root = etree.fromstring(xml)
    q = {"q": "urn:QDA-XML:project:1.0"}
    assert root.find(".//q:TextSource", q).get("guid") == "{69A4332D-5B31-4915-B520-5275CFC21B40}"  # kept
    assert root.find(".//q:Code[@name='Vertrauen']", q).get("guid") == "{D7AA29DA-519B-4946-9B90-253B6DB8FD0A}"
    assert sources["{69A4332D-5B31-4915-B520-5275CFC21B40}.txt"].decode() == MAXQDA_TEXT
