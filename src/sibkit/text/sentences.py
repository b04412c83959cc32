"""Sentences and paragraphs as code-point spans of a document's stored text, and the cut points between
sentences, for the matcher (``NEAR`` and phrases stay inside one sentence), repeated-sentence
detection, suggestions, the learned reader and the recall audit.

A *cut point* is an offset where one sentence ends and the next may begin. There are four kinds, each
decided from the characters around it (so a cut point found in a window of the text is one found in
the whole text, and the matcher checks a hit without splitting the document):

- a paragraph break: a line break followed by a blank line (each such line break is a cut point);
  with page start offsets given, the blank line between two pages is no break when the sentence runs
  on (the page before ends without ``.!?:;`` or a closing quote or bracket, and the next page starts
  with a lower-case letter);
- a sentence end: ``.``, ``!`` or ``?`` (and up to three closing quotes or brackets), followed by white
  space and a capital letter, a digit or an opening quote or bracket, except after common
  abbreviations (``e.g.``, ``Dr.``, ``No.``, single initials); the cut point is just after it;
- a list item: the line break before a line that starts with a bullet (``-``, ``–``, ``•``, ``*``
  ...) or a number or letter marker (``1.``, ``2)``, ``(a)``) and a space;
- a heading: the line break after a line of one to eight words that does not end with ``.!?;,``, is at
  most 80 characters long, starts a paragraph or follows a line ending with ``.!?:``, and is followed
  by a line starting with a capital letter or a digit (INDIGO record fields, DOCX paragraphs, PDF
  section titles).

A line wrapped inside a sentence (a single line break) is no cut point. ``split_sentences`` gives the
sentences between cut points with their paragraph; ``max_length`` also cuts overlong runs without
punctuation (tables, lists) at white space, for display and embedding (the matcher uses none).
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\f\v]*\n\s*")
_PARAGRAPH_CUT = re.compile(r"\n(?=[ \t\f\v]{0,64}\n)")
_CLOSERS = "\"'”’)\\]"
_SENTENCE_END = re.compile(rf"[.!?][{_CLOSERS}]{{0,3}}(?=\s{{1,64}}[\"'“‘(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|cf|al|approx|Mr|Mrs|Ms|Dr|Prof|St|No|Nos|Fig|Vol|pp|p|ed|eds|Inc|Ltd|Co|Jan|Feb|"
    r"Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)|\b[A-Z])\.$")
_LIST_ITEM = re.compile(r"\n(?=[ \t]{0,16}(?:[-–—•▪◦·*]|\d{1,3}[.)]|\([a-zA-Z0-9]{1,3}\))[ \t])")
# a heading line, matched at its start: like a sentence's start, at most 80 characters and eight words,
# not ending a sentence or a clause, and followed by a line that starts like a sentence
_HEADING_LINE = (r"(?=[ \t]{0,16}+[\"'“‘(\[]?[A-Z0-9])(?=[^\n]{1,80}\n)(?=[ \t]*+\S++(?:[ \t]++\S++){0,7}\n)"
                 r"[^\n]*+(?<![.!?;,])\n(?=[ \t]{0,16}+[\"'“‘(\[]?[A-Z0-9])")
_FIRST_HEADING = re.compile(_HEADING_LINE)
# the line break before a heading line that starts a paragraph or follows a sentence's end
_HEADING = re.compile(r"(?<=[\n.!?:\"'”’)\]])\n(?=" + _HEADING_LINE + ")")
_JOINING_END = frozenset(".!?:;\"'”’)]")
_CANDIDATE = re.compile(r"[.!?\n]")  # every kind of cut point is at or just after one of these
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    paragraph_start: int
    paragraph_end: int


def _page_join(text: str, newline: int, page_starts: frozenset[int]) -> bool:
    """Whether the blank line at ``newline`` is the separator between two pages of one running sentence."""
    after = newline + 2
    if after not in page_starts or text[newline:after] != "\n\n" or after >= len(text):
        return False
    last = newline - 1
    while last >= 0 and text[last].isspace():
        last -= 1
    return last >= 0 and text[last] not in _JOINING_END and text[after].islower()


# how far a cut point's rule reads around it: the cut points in a window are those of the whole text
_LOOK_BACK = 84  # a heading line (at most 80 characters) before its cut point, or closers before a sentence end
_LOOK_AHEAD = 128  # white space and the first characters after a cut point


def cut_points(text: str, start: int = 0, end: int | None = None, pages: Sequence[int] | None = None) -> list[int]:
    """The sorted cut points ``p`` with ``start <= p < end`` (see the module's docstring). Only the
    window and a few characters either side are read, and the answer equals the whole text's cut
    points in that window."""
    end = len(text) if end is None else min(end, len(text))
    start = max(0, start)
    if start >= end:
        return []
    found: set[int] = set()
    page_starts = frozenset(pages or ())
    stop = min(len(text), end + _LOOK_AHEAD)
    for pattern in (_PARAGRAPH_CUT, _LIST_ITEM):  # a line break and what follows it
        for match in pattern.finditer(text, start, stop):
            if match.start() >= end:
                break
            if not (pattern is _PARAGRAPH_CUT and page_starts and _page_join(text, match.start(), page_starts)):
                found.add(match.start())
    for match in _SENTENCE_END.finditer(text, max(0, start - 4), stop):
        if match.start() >= end:
            break
        cut = match.end()
        if start <= cut < end and not _ABBREVIATION.search(text, max(0, match.start() - 8), match.start() + 1):
            found.add(cut)
    low = max(0, start - _LOOK_BACK)
    if low == 0 and _FIRST_HEADING.match(text, 0, stop):
        cut = text.index("\n")
        if start <= cut < end:
            found.add(cut)
    for match in _HEADING.finditer(text, low, stop):  # the line break before each heading line
        if match.start() >= end:
            break
        cut = text.index("\n", match.end())
        if start <= cut < end:
            found.add(cut)
    return sorted(found)


def crosses(text: str, start: int, end: int, pages: Sequence[int] | None = None) -> bool:
    """Whether ``text[start:end]`` runs over a cut point (a sentence end, a paragraph break, a list item
    or a heading) strictly inside it. Every cut point is at white space, so a span without any does not;
    nor does one without ``.!?`` or a line break in it or just before it."""
    if _SPACE.search(text, start, end) is None or _CANDIDATE.search(text, max(0, start - 4), end) is None:
        return False
    return bool(cut_points(text, start + 1, end, pages))


def _stripped(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def split_paragraphs(text: str, pages: Sequence[int] | None = None) -> list[tuple[int, int]]:
    """The paragraphs as (start, end), white space stripped: text between blank lines (with ``pages``,
    a blank line between two pages of one running sentence does not end a paragraph)."""
    page_starts = frozenset(pages or ())
    spans, start = [], 0
    for match in _PARAGRAPH_BREAK.finditer(text):
        if page_starts and _page_join(text, match.start(), page_starts) and match.end() == match.start() + 2:
            continue
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [s for s in (_stripped(text, a, b) for a, b in spans) if s[0] < s[1]]


def _cut_long(text: str, start: int, end: int, max_length: int) -> list[tuple[int, int]]:
    pieces = []
    while end - start > max_length:
        cut = text.rfind(" ", start + max_length // 2, start + max_length)
        cut = cut if cut > start else start + max_length
        pieces.append(_stripped(text, start, cut))
        start = cut
    pieces.append(_stripped(text, start, end))
    return [p for p in pieces if p[0] < p[1]]


def split_sentences(text: str, max_length: int | None = 600, pages: Sequence[int] | None = None) -> list[Sentence]:
    """Every sentence of ``text`` in order, with the span of the paragraph it belongs to: the stripped
    text between cut points (``max_length``: overlong runs also cut at white space; None: never)."""
    sentences = []
    cuts = cut_points(text, 0, len(text), pages)
    for paragraph_start, paragraph_end in split_paragraphs(text, pages):
        low = bisect.bisect_left(cuts, paragraph_start)
        high = bisect.bisect_left(cuts, paragraph_end)
        bounds = [paragraph_start, *cuts[low:high], paragraph_end]
        for a, b in itertools.pairwise(bounds):
            a, b = _stripped(text, a, b)
            if a >= b:
                continue
            for s, e in (_cut_long(text, a, b, max_length) if max_length else [(a, b)]):
                sentences.append(Sentence(s, e, paragraph_start, paragraph_end))
    return sentences
