"""Sentences with their paragraph, as code-point spans of a document's stored text.

Paragraphs are separated by a blank line; a sentence ends at ``.``, ``!`` or ``?`` (closing quotes
and brackets included) followed by white space and a capital letter, digit or opening quote,
except after common abbreviations (``e.g.``, ``Dr.``, ``No.``, single initials). Overlong runs
without punctuation (tables, lists) are cut at white space so no sentence exceeds ``max_length``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\f\v]*\n\s*")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*(?=\s+[\"'“‘(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|cf|al|approx|Mr|Mrs|Ms|Dr|Prof|St|No|Nos|Fig|Vol|pp|p|ed|eds|Inc|Ltd|Co|Jan|Feb|"
    r"Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)|\b[A-Z])\.$")


@dataclass(frozen=True)
class Sentence:
    start: int
    end: int
    paragraph_start: int
    paragraph_end: int


def _stripped(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _paragraphs(text: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for match in _PARAGRAPH_BREAK.finditer(text):
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


def split_sentences(text: str, max_length: int = 600) -> list[Sentence]:
    """Every sentence of ``text`` in order, with the span of the paragraph it belongs to."""
    sentences = []
    for paragraph_start, paragraph_end in _paragraphs(text):
        start = paragraph_start
        bounds = []
        for match in _SENTENCE_END.finditer(text, paragraph_start, paragraph_end):
            if _ABBREVIATION.search(text, max(start, match.start() - 8), match.start() + 1):
                continue
            bounds.append((start, match.end()))
            start = match.end()
        bounds.append((start, paragraph_end))
        for a, b in bounds:
            for s, e in _cut_long(text, *_stripped(text, a, b), max_length):
                sentences.append(Sentence(s, e, paragraph_start, paragraph_end))
    return sentences
