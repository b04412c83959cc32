"""Sentences, cut points and zones of extracted text: hand-worked examples, a window of the text against
the whole text (hypothesis), and a generated multi-page PDF with a contents page, a running header on a
few pages and a reference list, imported, coded and counted."""

from __future__ import annotations

import bisect
import hashlib
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from sibkit.coding import case_theme_counts, code_documents, kwic, parse_codebook, references
from sibkit.corpus.extraction import extract
from sibkit.corpus.importer import store_document
from sibkit.hostile import pdf_file
from sibkit.store import open_store
from sibkit.text import structure
from sibkit.text.sentences import crosses, cut_points, split_sentences
from sibkit.text.structure import document_structure, repeated_sentences, zones


def pieces(text: str, **options) -> list[str]:
    return [text[s.start:s.end] for s in split_sentences(text, max_length=None, **options)]


def test_headings_list_items_and_wrapped_lines() -> None:
    text = ("INDIGO record: Example (INDIGO-POJ-9999)\n\nIntervention\nThe provider delivers support. Referrals "
            "come\nfrom social workers.\n\nOutcome metrics\n- Number housed\n- Number in work.\nNo changes\nThe "
            "service ran as planned.")
    assert pieces(text) == ["INDIGO record: Example (INDIGO-POJ-9999)", "Intervention",
                            "The provider delivers support.", "Referrals come\nfrom social workers.", "Outcome metrics",
                            "- Number housed", "- Number in work.", "No changes", "The service ran as planned."]
    # every cut point is white space: the blank line after the title (40), the line break after a heading
    # (54, 183), the space after "support." (85), after "workers." (121, also a paragraph break), before
    # each list item (138, 154) and after "work." (172)
    assert cut_points(text) == [40, 54, 85, 121, 138, 154, 172, 183]
    assert {text[p] for p in cut_points(text)} == {"\n", " "}


def test_a_sentence_running_on_to_the_next_page_is_one_sentence() -> None:
    text = "The partners met every\n\nmonth to review the data. Then\n\nThe second page."
    pages = [0, text.index("month"), text.index("The second")]
    # without pages, every blank line ends a paragraph
    assert pieces(text) == ["The partners met every", "month to review the data.", "Then", "The second page."]
    # with them, a page that starts in lower case continues the sentence of the page before
    assert pieces(text, pages=pages) == ["The partners met every\n\nmonth to review the data.", "Then",
                                         "The second page."]
    assert not crosses(text, 4, text.index("review"), pages) and crosses(text, 4, text.index("review"))


ALPHABET = [*"ab AB.!?:;-\n\t\"'1e", "e.g.", "Dr.", " - ", "\n\n", "\n- ", "Key\n", "(a) "]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=120).map("".join), st.integers(0, 200), st.integers(0, 200))
def test_the_cut_points_of_a_window_are_those_of_the_whole_text(text: str, start: int, length: int) -> None:
    whole = cut_points(text)
    assert cut_points(text, start, start + length) == [p for p in whole if start <= p < start + length]
    # and a span crosses one exactly when a cut point lies strictly inside it
    end = min(len(text), start + length)
    if start < end:
        assert crosses(text, start, end) == any(start < p < end for p in whole)
    # sentences are the stripped runs between cut points and paragraph breaks, in order, covering the text
    covered = set()
    for sentence in split_sentences(text, max_length=None):
        assert not any(sentence.start < p < sentence.end for p in whole)
        covered.update(range(sentence.start, sentence.end))
    assert all(i in covered for i, c in enumerate(text) if not c.isspace())


def test_reference_lists_contents_and_repeated_sentences() -> None:
    text = ("Contents\nExecutive summary ........ 3\n1. Introduction ........ 5\n2. Findings ........ 9\n\n"
            "Executive summary\nThe service was co-produced with young people.\n\n"
            "Findings\nThe service was  co-produced\nwith young people. Partners worked closely.\n\n"
            "References\nCarter, E. (2019) Co-production in outcomes contracts. Policy & Politics.\n"
            "Fraser, A., Tan, S. and Lagarde, M. (2018) Narratives of promise. Social Policy.\n"
            "Cabinet Office (2013) Partnership working and social investment.\n\n"
            "Appendix A\nThe co-production workshops.")
    found = zones(text)
    assert [(z.kind, text[z.start:z.end].split("\n")[0]) for z in found] == [("contents", "Contents"),
                                                                           ("references", "References")]
    assert text[found[1].start:found[1].end].endswith("Partnership working and social investment.")
    # the findings repeat the summary's sentence (spacing and a line break aside): it counts once
    sentences = split_sentences(text, max_length=None)
    assert [text[s.start:s.end] for s in repeated_sentences(text, sentences)] == [
        "The service was  co-produced\nwith young people."]
    structure = document_structure(text)
    at = {word: structure.zone_of(text.index(word), text.index(word) + 4) for word in
          ("Executive summary ....", "co-produced with", "co-produced\nwith", "Co-production in", "workshops")}
    assert at == {"Executive summary ....": "contents", "co-produced with": "body", "co-produced\nwith": "repeat",
                  "Co-production in": "references", "workshops": "body"}


def test_entries_without_a_heading_and_lines_that_only_cite() -> None:
    entries = "\n".join(f"Author{i}, A. (20{10 + i}) Co-production in practice, part {i}." for i in range(5))
    text = "Our findings\nCo-production grew.\n\n" + entries + "\n\nNotes\nThe council co-produced the plan."
    assert [z.kind for z in zones(text)] == ["references"]
    # in-text citations in a paragraph are no reference list, nor is an INDIGO "Notes" heading
    prose = "\n".join(["As Carter (2019) and Fraser et al. (2018) argue, co-production matters."] * 6)
    assert zones(prose) == [] and zones("Notes\nCo-production with young people (2019 onwards).") == []


def test_a_reference_list_of_one_entry_right_under_its_heading() -> None:
    # the walk-through's evaluation.txt: the heading, then one entry on the next line
    text = ("Evaluation of the SIB\n\nThe providers co-produced the outreach plan.\n\nReferences\n"
            "Smith, J. (2019) Co-production in public services. London: Policy Press.")
    heading = text.index("References")
    assert zones(text) == [structure.Zone(heading, len(text), "references")]
    spaced = text.replace("References\n", "References\n\n")
    assert zones(spaced) == [structure.Zone(heading, len(spaced), "references")]
    # a heading over prose is no reference list, one entry or not
    assert zones("Sources\nThe data came from the providers and were checked in 2019 by the council.") == []


SURNAMES = ["Smith", "O'Neill", "Carter-Jones", "Fraser", "Lagarde", "Ng"]
TITLE_WORDS = ["outcomes", "social", "impact", "bonds", "in", "practice", "commissioning", "the", "of", "partnership"]
PROSE_WORDS = ["the", "service", "was", "co-produced", "with", "young", "people", "and", "partners", "worked",
               "closely", "over", "years", "council", "outcomes", "payments"]


@st.composite
def reference_entries(draw: st.DrawFn) -> str:
    surname = draw(st.sampled_from(SURNAMES))
    initials = draw(st.sampled_from(["A.", "J. R.", "B.", "K.L."]))
    year = draw(st.integers(1990, 2025))
    title = " ".join(draw(st.lists(st.sampled_from(TITLE_WORDS), min_size=1, max_size=6))).capitalize()
    author = draw(st.sampled_from([f"{surname}, {initials} ({year})", f"{surname}, {initials} {year},",
                                   f"Cabinet Office ({year})"]))
    return f"{author} {title}."


@st.composite
def prose_lines(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(PROSE_WORDS), min_size=3, max_size=14))
    return " ".join(words).capitalize() + "."


@settings(max_examples=200, deadline=None)
@given(before=st.lists(prose_lines(), min_size=1, max_size=4), blank=st.booleans(),
       heading=st.sampled_from(["References", "Bibliography", "2. References", "Works cited", "Sources"]),
       entries=st.lists(reference_entries(), min_size=1, max_size=4),
       after=st.lists(prose_lines(), max_size=3))
def test_a_reference_list_under_its_heading_is_found_with_or_without_a_blank_line(
        before: list[str], blank: bool, heading: str, entries: list[str], after: list[str]) -> None:
    body = "\n".join(before) + "\n\n"
    listed = heading + ("\n\n" if blank else "\n") + "\n".join(entries)
    text = body + listed + ("\n\nAppendix A\n" + "\n".join(after) if after else "")
    assert zones(text) == [structure.Zone(len(body), len(body) + len(listed), "references")]


@settings(max_examples=200, deadline=None)
@given(before=st.lists(prose_lines(), max_size=3), blank=st.booleans(),
       heading=st.sampled_from(["References", "Sources", "Further reading", "Notes"]),
       lines=st.lists(prose_lines(), min_size=1, max_size=6))
def test_a_heading_over_prose_is_no_zone(before: list[str], blank: bool, heading: str, lines: list[str]) -> None:
    text = "\n".join([*before, heading]) + ("\n\n" if blank else "\n") + "\n".join(lines)
    assert zones(text) == []


# ---------------------------------------------------------------------------------------------
# a generated PDF: eight pages, a contents page, a header on three pages, a reference list


def multipage_pdf(pages: list[list[str]]) -> bytes:
    """A PDF with one page per list of lines (Helvetica, ASCII), each line its own text line."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    kids = []
    font = 3
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for lines in pages:
        body = "BT /F1 11 Tf 72 740 Td 14 TL " + " ".join(
            "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '" for line in lines) + " ET"
        stream = body.encode("latin-1")
        objects.append(b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream")
        content = len(objects)
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 {font} 0 R "
                       f">> >> /Contents {content} 0 R >>".encode())
        kids.append(len(objects))
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] /Count {len(kids)} >>".encode()
    return pdf_file(objects)


REPORT = [
    ["Evaluation of the Northfield service", "", "Contents", "1 Summary ........ 2", "2 Findings ........ 3",
     "3 References ........ 8"],
    ["Co-production Chapter", "Summary", "Young people co-produced the service with staff."],
    ["Co-production Chapter", "Findings", "Partners met monthly. Peer mentors ran the drop-in."],
    ["Co-production Chapter", "The council reviewed the data each quarter."],
    ["The provider kept its caseloads small."],
    ["Housing outcomes were verified by the council."],
    ["Employment outcomes were verified by the job centre."],
    ["References", "Carter, E. (2019) Co-production and outcomes contracts. Policy & Politics.",
     "Fraser, A., Tan, S. and Lagarde, M. (2018) Narratives of promise. Social Policy.",
     "Dayson, C. (2017) Evaluating social innovation and co-production. London."],
]
BOOK = """
name: small
themes:
  - id: coproduction
    name: Co-production
    terms: [co-produc*, peer mentor*]
"""


def test_a_generated_pdf_keeps_hits_in_its_reference_list_and_contents_but_does_not_count_them(tmp_path: Path) -> None:
    extracted = extract(multipage_pdf(REPORT), "report.pdf")
    assert extracted.status == "ok" and len(extracted.pages) == 8
    text = extracted.text
    kinds = {z.kind: text[z.start:z.end] for z in zones(text, extracted.pages)}
    assert set(kinds) == {"contents", "header", "references"}
    assert kinds["references"].startswith("References\nCarter") and kinds["references"].endswith("London.")
    assert kinds["header"] == "Co-production Chapter"  # at the top of pages 2-4 (3 of 8: the import kept it)

    store = open_store(f"sqlite:///{tmp_path / 'study.sqlite'}")
    store_document(store, sha256=hashlib.sha256(text.encode()).hexdigest(), extracted=extracted, case_ids=["A"],
                   title="report.pdf", doc_type="evaluation", origin="report.pdf")
    code_documents(store, parse_codebook(BOOK))
    refs = references(store).sort_values("start")
    # stored: three header hits, the body's "co-produced" and "Peer mentors", two in the reference list
    assert list(zip(refs["text"], refs["zone"], refs["page"], strict=True)) == [
        ("Co-production", "header", 2), ("co-produced", "body", 2), ("Co-production", "header", 3),
        ("Peer mentors", "body", 3), ("Co-production", "header", 4), ("Co-production", "references", 8),
        ("co-production", "references", 8)]
    assert list(refs["counts"]) == [False, True, False, True, False, False, False]
    counts = case_theme_counts(store, ["A"], ["coproduction"]).set_index("case_id")
    assert counts.loc["A", "references"] == 2 and counts.loc["A", "effective_references"] == 2
    shown = kwic(store, "coproduction").set_index("text")
    assert shown.loc["Peer mentors", "why_not"] == "" and shown["why_not"].tolist().count("in a reference list") == 2


def test_sibkit_text_structure_prints_the_zones_of_a_pdf(tmp_path: Path) -> None:
    import json

    from sibkit.testing import run_cli

    path = tmp_path / "report.pdf"
    path.write_bytes(multipage_pdf(REPORT))
    done = run_cli("text", "structure", str(path), "--json")
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["pages"] == 8
    assert [(z["kind"], z["first_line"]) for z in payload["zones"]] == [
        ("contents", "Contents"), ("header", "Co-production Chapter"), ("header", "Co-production Chapter"),
        ("header", "Co-production Chapter"), ("references", "References")]
    printed = run_cli("text", "structure", str(path))
    # the header repeats on pages 3 and 4: two repeated sentences too (their zone, header, comes first)
    assert "a reference list at" in printed.stdout and "5 zones and 2 repeated sentences" in printed.stdout
    assert run_cli("text", "structure", str(tmp_path / "none.pdf")).returncode == 2


# --------------------------------------------------------------------------------------------
# Zones found by one scan of the text equal those of the line-by-line tests they replaced (the
# earlier implementation, kept here as the oracle; its _wrapped_end did not change).

def reference_zones_line_by_line(text: str, lines: list[tuple[int, int]]) -> list[structure.Zone]:
    found: list[structure.Zone] = []
    citation = [bool(structure._CITATION.search(text, s, e)) for s, e in lines]
    index = 0
    while index < len(lines):
        s, e = lines[index]
        if structure._REFERENCES_HEADING.fullmatch(text, s, e):
            ahead = [i for i in range(index + 1, min(len(lines), index + 16)) if citation[i]]
            under = [i for i in range(index + 1, min(len(lines), index + 3)) if text[slice(*lines[i])].strip()][:1]
            if len(ahead) < 2 and under and structure._ENTRY_START.match(text, *lines[under[0]]):
                ahead = under * 2  # one entry right under the heading
            if len(ahead) >= 2:
                last, quiet, position = ahead[0], 0, ahead[0] + 1
                while position < len(lines) and quiet < 8:
                    ls, le = lines[position]
                    if structure._END_OF_REFERENCES.match(text, ls, le) and le - ls < 60:
                        break
                    if citation[position]:
                        last, quiet = position, 0
                    elif le > ls:
                        quiet += 1
                    position += 1
                end = structure._wrapped_end(text, lines, last)
                found.append(structure.Zone(s, end, "references"))
                index = bisect.bisect_right([ls for ls, _ in lines], end)
                continue
        index += 1
    # entries without a heading: five or more lines starting like a reference entry, close together
    entries = [i for i, (s, e) in enumerate(lines) if structure._ENTRY_START.match(text, s, e)]
    run: list[int] = []
    for i in [*entries, len(lines) + 10]:
        if run and i - run[-1] > 4:
            if len(run) >= 5:
                zone = structure.Zone(lines[run[0]][0], structure._wrapped_end(text, lines, run[-1]), "references")
                if not any(z.start <= zone.start < z.end for z in found):
                    found.append(zone)
            run = []
        run.append(i)
    return found


def contents_zones_line_by_line(text: str, lines: list[tuple[int, int]]) -> list[structure.Zone]:
    found: list[structure.Zone] = []
    leaders = [len(structure._LEADER_ENTRY.findall(text, s, e)) for s, e in lines]
    index = 0
    while index < len(lines):
        s, e = lines[index]
        heading = bool(structure._CONTENTS_HEADING.fullmatch(text, s, e))
        if heading or leaders[index]:
            entries, last, position, gap = 0, index if not heading else -1, index + (1 if heading else 0), 0
            while position < len(lines) and gap <= 2:
                ls, le = lines[position]
                if leaders[position] or (heading and structure._PAGE_NUMBER_END.match(text, ls, le)):
                    entries += max(1, leaders[position])
                    last, gap = position, 0
                elif le > ls:
                    gap += 1
                position += 1
            if last >= 0 and entries >= 3:
                found.append(structure.Zone(s, lines[last][1], "contents"))
                index = last + 1
                continue
        index += 1
    return found


LINE_PIECES = ["References", "2. Bibliography:", "Contents", "Table of contents", "Appendix A", "Annex",
               "Smith, J. (2019) Working together. London.", "Cabinet Office (2013) Social outcomes.",
               "[12] A report", "Jones, A. B. 2020, Outcomes", "Introduction ........ 4", "Methods\t12",
               "Findings  7", "see https://example.org/x", "doi 10.1/abc", "et al.", "(2018)", "(\n2019)",
               "The partners worked together.", "", "   ", "Available at www.x.org", "3. Results . . . 9",
               "Lee, Ann (2017) “Title", "A … … 5", "x\r", "12345", "Notes and references"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(LINE_PIECES), max_size=40))
def test_zones_by_one_scan_equal_the_line_by_line_zones(pieces: list[str]) -> None:
    text = "\n".join(pieces)
    lines = structure._lines(text)
    assert structure._reference_zones(text, lines) == reference_zones_line_by_line(text, lines)
    assert structure._contents_zones(text, lines) == contents_zones_line_by_line(text, lines)
