"""Where in a document a hit lies: its own prose, or extracted text that is not (a reference list, a
table of contents, a running header or footer), or a sentence the document already said.

A hit in any zone but ``body`` is stored and shown with its zone, and does not count (a coder may
overrule that in review). The zones are found from the extracted text alone, line by line:

- ``references``: a heading line such as "References", "Bibliography", "Works cited", "Endnotes"
  (numbered or not) followed within 15 lines by at least two lines that look like citations (a year
  in brackets, an author list "Surname, A.", a URL or DOI, "et al.", "Available at"), or directly
  (a blank line between or not) by one line that starts like a reference entry; the zone runs
  from the heading while such lines keep coming (it ends after 8 lines without one, or at an
  "Appendix"/"Annex"/"Glossary" heading). Without a heading, five or more lines that each start
  like a reference entry ("Surname, A. (2019)", "Cabinet Office (2013)", "[12]"), at most three
  lines apart, are a reference list too.
- ``contents``: a "Contents" / "Table of contents" heading and the lines after it that end with a
  page number; or three or more entries with dot leaders ("Introduction ........ 4") or a tab before
  a page number, close together, with or without a heading.
- ``header``: with page starts known (PDF), a line among the first or last two of a page whose shape
  (digits blurred, case and spacing folded) is at the edge of at least three pages and a quarter of
  them (the import removed those on half the pages or more already).
- ``repeat``: a sentence whose text (case and spacing folded) already occurred earlier in the
  document (INDIGO record fields that repeat each other, a summary repeated in the body): it counts
  once, where it first occurs.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from sibkit.text.sentences import Sentence, split_sentences

#: where a hit can lie; only ``body`` counts
ZONES = ("body", "references", "contents", "header", "repeat")
ZONE_WORDS = {"body": "the document's text", "references": "a reference list", "contents": "a table of contents",
              "header": "a running header or footer", "repeat": "a sentence repeated from earlier in the document"}

_REFERENCES_HEADING = re.compile(
    r"[ \t]*(?:(?:\d+(?:\.\d+)*|[IVXivx]+|[A-Z])[.)]?[ \t]+)?(?:references|bibliography|works cited|reference list|"
    r"list of references|sources|endnotes|notes and references|references and notes|literature cited|"
    r"further reading|citations)[ \t]*:?[ \t]*", re.IGNORECASE)
_END_OF_REFERENCES = re.compile(r"[ \t]*(?:(?:\d+(?:\.\d+)*|[A-Z])[.)]?[ \t]+)?(?:appendix|appendices|annex|annexe|"
                                r"glossary|acknowledg(?:e)?ments|about the authors?)\b", re.IGNORECASE)
_YEAR = r"(?:19|20)\d{2}[a-z]?"
_CITATION = re.compile(
    rf"\(\s*{_YEAR}\s*\)|\(\s*[A-Z][^()]{{0,60}},\s*{_YEAR}\s*\)|https?://|www\.|\bdoi\b|doi\.org|\bet al\.|"
    rf"\bavailable (?:at|from|online)\b|\bretrieved from\b|\baccessed\b|"
    rf"^[ \t]*(?:\[\d{{1,3}}\]|\d{{1,3}}[.)])?[ \t]*[A-Z][\w'’\-]+,[ \t]+(?:[A-Z]\.|[A-Z][a-z]+\b).*\b{_YEAR}\b",
    re.IGNORECASE | re.MULTILINE)
_ENTRY_START = re.compile(
    rf"[ \t]*(?:\[\d{{1,3}}\][ \t]*|\d{{1,3}}[.)][ \t]+)?(?:"
    rf"[A-Z][\w'’\-]+,[ \t]+(?:[A-Z]\.[ \t]?)+.*\b{_YEAR}\b|"  # Surname, A. B. ... 2019
    # Surname, Firstname (2019) Title
    rf"[A-Z][\w'’\-]+,[ \t]+[A-Z][a-z]+\b.{{0,40}}\(\s*{_YEAR}\s*\)[.,]?[ \t]+[\"“‘'A-Z]|"
    # an organisation as author: Cabinet Office (2013)
    rf"[A-Z][\w&'’\-]*(?:[ \t]+(?:[A-Z&][\w&'’\-]*|of|for|and|the)){{0,7}}[ \t]*\(\s*{_YEAR}\s*\)[.,]?[ \t]+"
    rf"[\"“‘'A-Z]|"  # ... followed by a title
    rf"\[\d{{1,3}}\][ \t]*\S)")
_CONTENTS_HEADING = re.compile(r"[ \t]*(?:table of[ \t]+)?contents(?:[ \t]+page)?[ \t]*:?[ \t]*", re.IGNORECASE)
_LEADER_ENTRY = re.compile(r"(?:\.{3,}|…{2,}|(?:[ \t]\.){3,}|\t)[ \t]*\d{1,4}\b")
_LEADER_PART = re.compile(r"\.\.\.|……|\t| \.")  # one of these is in every _LEADER_ENTRY
_PAGE_NUMBER_END = re.compile(r".*\S[ \t]+\d{1,4}[ \t]*$")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Zone:
    start: int
    end: int
    kind: str


def _lines(text: str) -> list[tuple[int, int]]:
    """Each line's (start, end), the line break excluded."""
    spans, start = [], 0
    while True:
        end = text.find("\n", start)
        if end < 0:
            spans.append((start, len(text)))
            return spans
        spans.append((start, end))
        start = end + 1


def _line_pattern(pattern: re.Pattern[str], whole: bool) -> re.Pattern[str]:
    """``pattern`` anchored at each line's start (and end when ``whole``): one scan of the text finds
    the lines that ``pattern.match`` (or ``fullmatch``) line by line would."""
    return re.compile(r"^(?:" + pattern.pattern + (r")$" if whole else ")"), pattern.flags | re.MULTILINE)


_REFERENCES_HEADING_LINE = _line_pattern(_REFERENCES_HEADING, whole=True)
_ENTRY_START_LINE = _line_pattern(_ENTRY_START, whole=False)
_CONTENTS_HEADING_LINE = _line_pattern(_CONTENTS_HEADING, whole=True)


def _line_indexes(pattern: re.Pattern[str], text: str, starts: list[int], needs: str | None = None) -> list[int]:
    """The lines (by index; ``starts``: each line's start) where ``pattern`` (a line pattern) matches;
    ``needs``: a lower-case word every match holds (the text is scanned only when it has it)."""
    if needs is not None and needs not in text.casefold():  # casefold: as re.IGNORECASE folds (ſ is s)
        return []
    return [bisect.bisect_right(starts, found.start()) - 1 for found in pattern.finditer(text)]


def _reference_zones(text: str, lines: list[tuple[int, int]]) -> list[Zone]:
    found: list[Zone] = []
    starts = [s for s, _ in lines]
    cited: dict[int, bool] = {}  # a line's citation test, made only near a heading (headings are rare)

    def citation(i: int) -> bool:
        known = cited.get(i)
        if known is None:
            known = cited[i] = bool(_CITATION.search(text, *lines[i]))
        return known

    after = 0  # lines before this one are in a zone found already
    for index in _line_indexes(_REFERENCES_HEADING_LINE, text, starts):
        if index < after:
            continue
        s = lines[index][0]
        ahead = [i for i in range(index + 1, min(len(lines), index + 16)) if citation(i)]
        first = ahead[0] if len(ahead) >= 2 else _entry_under_heading(text, lines, index)
        if first is not None:
            last, quiet, position = first, 0, first + 1
            while position < len(lines) and quiet < 8:
                ls, le = lines[position]
                if _END_OF_REFERENCES.match(text, ls, le) and le - ls < 60:
                    break
                if citation(position):
                    last, quiet = position, 0
                elif le > ls:
                    quiet += 1
                position += 1
            end = _wrapped_end(text, lines, last)
            found.append(Zone(s, end, "references"))
            after = bisect.bisect_right(starts, end)
    # entries without a heading: five or more lines starting like a reference entry, close together
    entries = _line_indexes(_ENTRY_START_LINE, text, starts)
    run: list[int] = []
    for i in [*entries, len(lines) + 10]:
        if run and i - run[-1] > 4:
            if len(run) >= 5:
                zone = Zone(lines[run[0]][0], _wrapped_end(text, lines, run[-1]), "references")
                if not any(z.start <= zone.start < z.end for z in found):
                    found.append(zone)
            run = []
        run.append(i)
    return found


def _entry_under_heading(text: str, lines: list[tuple[int, int]], heading: int) -> int | None:
    """The line right under a references heading (a blank line between allowed) when it starts like a
    reference entry: a list of one entry, which the two citations a heading otherwise needs miss."""
    for position in range(heading + 1, min(len(lines), heading + 3)):
        ls, le = lines[position]
        if le > ls and text[ls:le].strip():
            return position if _ENTRY_START.match(text, ls, le) else None
    return None


def _wrapped_end(text: str, lines: list[tuple[int, int]], last: int) -> int:
    """The end of line ``last`` and of up to two lines after it that continue it (no blank line between)."""
    end = lines[last][1]
    for position in range(last + 1, min(len(lines), last + 3)):
        s, e = lines[position]
        if e <= s or (_CITATION.search(text, s, e) is None and text[s:e].strip()[:1].isupper()):
            break
        end = e
    return end


def _contents_zones(text: str, lines: list[tuple[int, int]]) -> list[Zone]:
    found: list[Zone] = []
    starts = [s for s, _ in lines]
    # dot-leader entries per line: only lines holding what every leader holds ("...", "……", a tab or
    # " .") are read with the leader pattern (a scan for those is six times quicker than for leaders)
    leaders: dict[int, int] = {}
    for line in sorted({bisect.bisect_right(starts, found.start()) - 1 for found in _LEADER_PART.finditer(text)}):
        count = len(_LEADER_ENTRY.findall(text, *lines[line]))
        if count:
            leaders[line] = count
    headings = set(_line_indexes(_CONTENTS_HEADING_LINE, text, starts, needs="contents"))
    after = 0
    for index in sorted(headings | leaders.keys()):
        if index < after:
            continue
        s = lines[index][0]
        heading = index in headings
        entries, last, position, gap = 0, index if not heading else -1, index + (1 if heading else 0), 0
        while position < len(lines) and gap <= 2:
            ls, le = lines[position]
            count = leaders.get(position, 0)
            if count or (heading and _PAGE_NUMBER_END.match(text, ls, le)):
                entries += max(1, count)
                last, gap = position, 0
            elif le > ls:
                gap += 1
            position += 1
        if last >= 0 and entries >= 3:
            found.append(Zone(s, lines[last][1], "contents"))
            after = last + 1
    return found


def _shape(line: str) -> str:
    return " ".join(_DIGITS.sub("#", line).casefold().split())


def _header_zones(text: str, lines: list[tuple[int, int]], pages: Sequence[int]) -> list[Zone]:
    if len(pages) < 3:
        return []
    starts = [s for s, _ in lines]
    bounds = [*pages[1:], len(text) + 1]
    edges: dict[str, list[tuple[int, int]]] = {}
    pages_of: dict[str, set[int]] = {}
    for number, (page_start, page_end) in enumerate(zip(pages, bounds, strict=True)):
        first = bisect.bisect_left(starts, page_start)
        last = bisect.bisect_left(starts, page_end)
        content = [(s, e) for s, e in lines[first:last] if text[s:e].strip()]
        for s, e in {*content[:2], *content[-2:]}:
            shape = _shape(text[s:e])
            if shape:
                edges.setdefault(shape, []).append((s, e))
                pages_of.setdefault(shape, set()).add(number)
    needed = max(3, len(pages) / 4)
    return [Zone(s, e, "header") for shape, spans in edges.items() if len(pages_of[shape]) >= needed
            for s, e in spans]


def zones(text: str, pages: Sequence[int] | None = None) -> list[Zone]:
    """The reference lists, tables of contents and running headers of ``text``, by start."""
    lines = _lines(text)
    found = _reference_zones(text, lines) + _contents_zones(text, lines)
    if pages:
        found += _header_zones(text, lines, list(pages))
    return sorted(found, key=lambda z: (z.start, z.end))


def sentence_key(text: str, sentence: Sentence) -> str:
    return " ".join(text[sentence.start:sentence.end].casefold().split())


def repeated_sentences(text: str, sentences: Sequence[Sentence]) -> list[Sentence]:
    """The sentences whose text (case and spacing folded) occurred earlier in the document."""
    seen: set[str] = set()
    repeats = []
    for sentence in sentences:
        key = sentence_key(text, sentence)
        if key in seen:
            repeats.append(sentence)
        else:
            seen.add(key)
    return repeats


@dataclass
class DocumentStructure:
    """A document's zones and repeated sentences, and the zone of any span in it."""

    zones: list[Zone] = field(default_factory=list)
    repeats: list[tuple[int, int]] = field(default_factory=list)

    def zone_of(self, start: int, end: int) -> str:
        """``references``, ``contents`` or ``header`` when the span starts in such a zone, ``repeat``
        when it lies in a repeated sentence, else ``body``."""
        for zone in self.zones:
            if zone.start <= start < zone.end:
                return zone.kind
            if zone.start > start:
                break
        index = bisect.bisect_right(self.repeats, (start, 1 << 62)) - 1
        if index >= 0 and self.repeats[index][0] <= start < self.repeats[index][1]:
            return "repeat"
        return "body"


def document_structure(text: str, pages: Sequence[int] | None = None) -> DocumentStructure:
    """The zones and the repeated sentences of a document's stored text (``pages``: its page starts)."""
    sentences = split_sentences(text, max_length=None, pages=pages)
    repeats = [(s.start, s.end) for s in repeated_sentences(text, sentences)]
    return DocumentStructure(zones(text, pages), repeats)
