"""How a project's selection offsets are counted (code points, UTF-16 units, CRLF as one character),
decided from evidence that needs no selection names: a real NVivo 12 export (read in place from
../shared) and generated projects in each reading."""

from __future__ import annotations

import random
import re
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from sibkit.interop import import_qdpx, read_qdpx
from sibkit.interop.offsets import READINGS, choose_offsets
from sibkit.interop.reader import Selection, TextDocument
from sibkit.study import load_study

NS = {"q": "urn:QDA-XML:project:1.0"}
WORD = re.compile(r"\w")


def on_word_boundary(text: str, position: int) -> bool:
    """Not inside a word (two word characters either side) and not between the CR and LF of a line break."""
    if position in (0, len(text)):
        return True
    before, after = text[position - 1], text[position]
    if before == "\r" and after == "\n":
        return False
    return not (WORD.match(before) and WORD.match(after))


def raw_nvivo(path: Path) -> tuple[str, list[tuple[int, int]]]:
    """The source text and the positions exactly as NVivo wrote them (read with zipfile and lxml)."""
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("project.qde"))
        source = root.find(".//q:TextSource", NS)
        name = source.get("plainTextPath").removeprefix("internal://")
        text = archive.read(f"Sources/{name}").decode("utf-8-sig")
    positions = [(int(s.get("startPosition")), int(s.get("endPosition")))
                 for s in source.findall("q:PlainTextSelection", NS)]
    return text, positions


def test_nvivo_12_windows_counts_utf16_units(refi_qda_dir: Path, tmp_path: Path) -> None:
    path = refi_qda_dir / "samples" / "nvivo12win-oltas.qdpx"
    text, positions = raw_nvivo(path)
    assert len(positions) == 97 and "\r\n" in text and any(ord(c) > 0xFFFF for c in text)
    units = text.encode("utf-16-le")
    project = read_qdpx(path)
    assert project.offsets is not None and project.offsets.reading == "UTF-16 units"
    assert not project.offsets.weak
    document = project.documents[0]
    assert document.text == text and document.offsets == "UTF-16 units"
    assert len(document.selections) == 97
    for selection, (start, end) in zip(document.selections, positions, strict=True):
        span = document.text[selection.start:selection.end]
        assert span == units[2 * start:2 * end].decode("utf-16-le")  # what NVivo coded
        assert on_word_boundary(text, selection.start) and on_word_boundary(text, selection.end), span
    # read as code points, most selections would not even start and end on word boundaries
    as_code_points = sum(on_word_boundary(text, a) and on_word_boundary(text, b) for a, b in positions)
    assert project.offsets.fits == {"code points": as_code_points, "UTF-16 units": 97,
                                    "CRLF counted as one character": project.offsets.fits[READINGS[2]]}
    assert as_code_points < 70 and project.offsets.fits[READINGS[2]] < 70
    # imported into a study: every reference on the words NVivo coded, and the summary says how
    study_path = tmp_path / "study.yaml"
    study_path.write_text("title: Oltás\n", encoding="utf-8")
    result = import_qdpx(path, load_study(study_path))
    assert result.added["references"] == 97 and result.added["documents"] == 1
    line = next(line for line in result.lines() if line.startswith("offsets"))
    assert line.startswith("offsets read as UTF-16 units: 97 of 97 selections start and end on word boundaries")
    assert f"code points {as_code_points}" in line and "NVivo" in line
    assert not any("weak" in problem for problem in result.problems)


# --- generated projects: words, punctuation, CRLF line ends and emoji (outside the BMP), selections
# that start and end on words, the offsets written in one of the three readings, names left empty

def written(text: str, position: int, reading: str) -> int:
    before = text[:position]
    if reading == "UTF-16 units":
        return len(before.encode("utf-16-le")) // 2
    if reading == "CRLF counted as one character":
        return len(before.replace("\r\n", "\n"))
    return position


def project_of(text: str, spans: list[tuple[int, int]], reading: str) -> TextDocument:
    selections = [Selection(f"s{i}", written(text, a, reading), written(text, b, reading), "", "", [], [], None, i)
                  for i, (a, b) in enumerate(spans)]
    return TextDocument("d", "doc", text, "", selections, [], [], [])


words = st.text(alphabet="abcdeéfghij", min_size=2, max_size=9)
tokens = st.one_of(words, st.sampled_from(["🙂", "👍🏽", "🤝", "😊😊"]))
separators = st.sampled_from([" ", " ", " ", ", ", ".\r\n", "\r\n", "! "])


@st.composite
def generated(draw: st.DrawFn) -> tuple[str, list[tuple[int, int]], str]:
    text, starts, ends = "", [], []
    for word in [draw(words), *draw(st.lists(tokens, min_size=8, max_size=60))]:
        if WORD.match(word):
            starts.append(len(text))
            ends.append(len(text) + len(word))
        text += word + draw(separators)
    pairs = draw(st.lists(st.tuples(st.integers(0, len(starts) - 1), st.integers(0, 4)), min_size=1, max_size=12))
    spans = sorted({(starts[i], ends[min(len(ends) - 1, i + n)]) for i, n in pairs})
    return text, spans, draw(st.sampled_from(READINGS))


@settings(max_examples=150, deadline=None)
@given(case=generated())
def test_a_generated_project_is_read_in_its_own_reading_or_the_doubt_is_said(case) -> None:
    text, spans, reading = case
    document = project_of(text, spans, reading)
    choice = choose_offsets([document], origin="")
    got = [(s.start, s.end) for s in document.selections]
    if choice.weak:
        assert choice.warning()  # in doubt, the import says so
    else:
        assert got == spans  # never wrong without a warning (where readings agree, either is right)


@pytest.mark.parametrize("reading", READINGS)
def test_projects_like_real_ones_are_read_right_every_time(reading: str) -> None:
    """Two hundred projects shaped like interview notes (sentences, line breaks, a few emoji, ten
    coded passages each): each one is read in the reading it was written in, with no doubt said."""
    rng = random.Random(f"offsets {reading}")
    vocabulary = ["the", "partners", "met", "weekly", "and", "agreed", "a", "shared", "plan", "for", "families",
                  "outcomes", "were", "late", "because", "referrals", "dropped", "trust", "grew", "slowly"]
    for _ in range(200):
        text, starts, ends = "", [], []
        for _sentence in range(rng.randint(15, 40)):
            for _word in range(rng.randint(4, 12)):
                word = rng.choice(vocabulary)
                starts.append(len(text))
                ends.append(len(text) + len(word))
                text += word + " "
            text = text[:-1] + rng.choice([". ", ".\r\n", "! 🙂 ", ". 👍🏽\r\n", "? "])
        spans = sorted({(starts[i], ends[min(len(ends) - 1, i + rng.randint(0, 15))])
                        for i in rng.sample(range(len(starts)), 10)})
        document = project_of(text, spans, reading)
        choice = choose_offsets([document], origin="")
        assert not choice.weak, (choice.warning(), text)
        assert [(s.start, s.end) for s in document.selections] == spans
        if choice.differing:
            assert choice.reading == reading


def test_without_evidence_the_tool_decides_and_the_doubt_is_said() -> None:
    text = "🙂 a b c\r\n"  # 'b' written in UTF-16 units (5-6) reads as ' ' in code points: both fit
    for origin, expected in (("NVivo for Mac 12.2", "UTF-16 units"), ("", "code points")):
        document = project_of(text, [(4, 5)], "UTF-16 units")
        choice = choose_offsets([document], origin=origin)
        assert (choice.reading, choice.weak, choice.differing) == (expected, True, 1)
        warning = choice.warning()
        assert warning.startswith("offsets: the selections do not tell") and "check" in warning
        assert ("NVivo" in warning) == bool(origin)
