"""The fast matcher: every codebook term found in a text, with exact code-point offsets.

How it works (measured in benchmarks/bench_matcher.py): the text is lower-cased without
changing its length, runs of white space are collapsed to one space (with an offset map back),
and one Aho-Corasick automaton (pyahocorasick) finds every literal form of every term at once,
overlaps included. Each candidate is then checked for word boundaries (Python's ``\\w``),
extended over the rest of the word for a trailing wildcard, and mapped back to the original
offsets. NEAR/n pairs and exclusions are resolved on the hits. The semantics are those of the
slow reference matcher in tests/test_coding_matcher.py, and property tests check they agree.
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from typing import NamedTuple

import ahocorasick

from sibkit.coding.codebook import Codebook, Term

_WORD_CHAR = re.compile(r"\w")
_WORDS = re.compile(r"\w+")
_WHITESPACE = re.compile(r"\s+")

# British -> American spelling rules, applied to single words (and reversed)
_SPELLING_RULES = [
    (re.compile(r"isation"), "ization"), (re.compile(r"is(e|ed|es|ing)$"), r"iz\1"),
    (re.compile(r"ys(e|ed|es|ing)$"), r"yz\1"), (re.compile(r"our(s|ed|ing|able|ful)?$"), r"or\1"),
    (re.compile(r"^programme(s|d)?$"), r"program\1"), (re.compile(r"^centre(s|d)?$"), r"center\1"),
    (re.compile(r"^behaviour"), "behavior"), (re.compile(r"lled$"), "led"), (re.compile(r"lling$"), "ling"),
]
_REVERSE_RULES = [
    (re.compile(r"ization"), "isation"), (re.compile(r"iz(e|ed|es|ing)$"), r"is\1"),
    (re.compile(r"yz(e|ed|es|ing)$"), r"ys\1"), (re.compile(r"^behavior"), "behaviour"),
    (re.compile(r"^program(s)?$"), r"programme\1"), (re.compile(r"^center(s|ed)?$"), r"centre\1"),
]
# words whose -ise/-our endings are not British spellings of an American -ize/-or
_SPELLING_EXCEPTIONS = {"advise", "advised", "advises", "advising", "compromise", "comprise", "comprised",
                        "enterprise", "enterprises", "exercise", "exercised", "expertise", "franchise", "merchandise",
                        "premise", "premises", "promise", "promised", "promises", "raise", "raised", "rise", "wise",
                        "otherwise", "likewise", "revise", "revised", "supervise", "supervised", "supervising",
                        "surprise", "surprised", "televise", "devise", "devised", "improvise", "precise", "concise",
                        "noise", "poise", "praise", "praised", "cruise", "disguise", "despise", "arise", "arising",
                        "our", "ours", "four", "hour", "hours", "pour", "sour", "tour", "your", "yours", "flour",
                        "devour", "contour", "paralyse", "analyse"}


def fold_case(text: str) -> str:
    """Lower-case a text without changing its length (a character whose lower case is longer,
    such as 'İ', is kept as it is), so offsets in the folded text are offsets in the original."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(low if len(low := ch.lower()) == 1 else ch for ch in text)


def is_word_char(ch: str) -> bool:
    return _WORD_CHAR.match(ch) is not None


def spelling_variants(word: str) -> set[str]:
    """The word and its British/American counterparts (e.g. organisation/organization)."""
    found = {word}
    if word.rstrip("*") in _SPELLING_EXCEPTIONS:
        return found
    for pattern, replacement in _SPELLING_RULES + _REVERSE_RULES:
        stem = word.rstrip("*")
        changed = pattern.sub(replacement, stem, count=1)
        if changed != stem:
            found.add(changed + word[len(stem):])
    if word.endswith("*"):  # 'organis*' also finds 'organiz...'
        stem = word[:-1]
        for british, american in (("is", "iz"), ("ys", "yz"), ("our", "or")):
            if stem.endswith(british):
                found.add(stem[: -len(british)] + american + "*")
            if stem.endswith(american) and american != "or":
                found.add(stem[: -len(american)] + british + "*")
    return found


def phrase_forms(phrase: str, variants: bool = True) -> set[str]:
    """Every literal form of a phrase: hyphenated words also spaced and closed
    (co-production, co production, coproduction), each word in British and American spelling."""
    tokens = re.split(r"([ -])", phrase)
    words, separators = tokens[0::2], tokens[1::2]
    if not variants:
        return {phrase}
    word_options = [sorted(spelling_variants(w)) for w in words]
    separator_options = [["-", " ", ""] if s == "-" else [s] for s in separators]
    forms = set()
    for chosen_words in itertools.product(*word_options):
        for chosen_separators in itertools.product(*separator_options):
            text = chosen_words[0]
            for separator, word in zip(chosen_separators, chosen_words[1:], strict=True):
                text += separator + word
            forms.add(text)
    return forms


class Hit(NamedTuple):
    theme: str
    term: str
    start: int
    end: int


@dataclass(frozen=True)
class _Literal:
    key: tuple[str, str, str]  # (theme, term, role): role is "term", "a", "b", "exclude", "skip"
    text: str  # folded unless case-sensitive, single spaces
    wildcard: bool
    case_sensitive: bool


class _Collapsed:
    """A text with white-space runs collapsed to one space, and the way back to original offsets."""

    def __init__(self, text: str) -> None:
        self.text, self._breaks, self._removed = self._build(text)

    @staticmethod
    def _build(text: str) -> tuple[str, list[int], list[int]]:
        pieces: list[str] = []
        breaks: list[int] = [0]  # collapsed positions after which more characters were removed
        removed: list[int] = [0]  # characters removed before that position (cumulative)
        last = 0
        length = 0
        total_removed = 0
        for match in _WHITESPACE.finditer(text):
            pieces.append(text[last:match.start()])
            length += match.start() - last
            pieces.append(" ")
            length += 1
            run = match.end() - match.start()
            if run > 1:
                total_removed += run - 1
                breaks.append(length)
                removed.append(total_removed)
            last = match.end()
        pieces.append(text[last:])
        return "".join(pieces), breaks, removed

    def original(self, position: int) -> int:
        """Original offset of a collapsed offset."""
        index = bisect.bisect_right(self._breaks, position) - 1
        return position + self._removed[index]


class CompiledCodebook:
    """A codebook turned into one automaton per case mode; reuse it for every document."""

    def __init__(self, codebook: Codebook) -> None:
        self.codebook = codebook
        self.literals: list[_Literal] = []
        self.near: dict[tuple[str, str], int] = {}
        self.exclusions: set[tuple[str, str]] = set()
        for theme in codebook.themes:
            for term in theme.terms:
                self._add_term(theme.id, term)
                if term.exclude:
                    self.exclusions.add((theme.id, term.term))
            for context in theme.skip_contexts:
                self._add(theme.id, "*", "skip", context, True, False)
        self._automata: dict[bool, ahocorasick.Automaton] = {}
        for case_sensitive in (False, True):
            automaton = ahocorasick.Automaton()
            entries: dict[str, list[int]] = {}
            for index, literal in enumerate(self.literals):
                if literal.case_sensitive == case_sensitive:
                    entries.setdefault(literal.text, []).append(index)
            for text, indexes in entries.items():
                automaton.add_word(text, (len(text), tuple(indexes)))
            if entries:
                automaton.make_automaton()
                self._automata[case_sensitive] = automaton

    def _add(self, theme: str, term: str, role: str, phrase: str, variants: bool, case_sensitive: bool) -> None:
        for form in phrase_forms(" ".join(phrase.split()), variants):
            wildcard = form.endswith("*")
            text = form.rstrip("*")
            if not case_sensitive:
                text = fold_case(text)
            self.literals.append(_Literal((theme, term, role), text, wildcard, case_sensitive))

    def _add_term(self, theme: str, term: Term) -> None:
        near = term.near
        if near:
            self._add(theme, term.term, "a", near[0], term.variants, term.case_sensitive)
            self._add(theme, term.term, "b", near[2], term.variants, term.case_sensitive)
            self.near[(theme, term.term)] = near[1]
        else:
            self._add(theme, term.term, "term", term.term, term.variants, term.case_sensitive)
        for phrase in term.exclude:
            self._add(theme, term.term, "exclude", phrase, term.variants, False)

    def _spans(self, text: str) -> dict[tuple[str, str, str], set[tuple[int, int]]]:
        found: dict[tuple[str, str, str], set[tuple[int, int]]] = {}
        for case_sensitive, automaton in self._automata.items():
            collapsed = _Collapsed(text if case_sensitive else fold_case(text))
            haystack = collapsed.text
            size = len(haystack)
            for end, (length, indexes) in automaton.iter(haystack):
                start = end - length + 1
                if start > 0 and is_word_char(haystack[start - 1]) and is_word_char(haystack[start]):
                    continue
                after = end + 1
                for index in indexes:
                    literal = self.literals[index]
                    stop = after
                    if literal.wildcard:
                        while stop < size and is_word_char(haystack[stop]):
                            stop += 1
                    elif stop < size and is_word_char(haystack[stop]) and is_word_char(haystack[stop - 1]):
                        continue
                    span = (collapsed.original(start), collapsed.original(stop - 1) + 1)
                    found.setdefault(literal.key, set()).add(span)
        return found

    def match(self, text: str) -> list[Hit]:
        """Every hit of every theme's terms in ``text``, sorted by position."""
        spans = self._spans(text)
        hits: set[Hit] = set()
        word_starts: list[int] | None = None
        for (theme, term, role), found in spans.items():
            if role == "term":
                hits.update(Hit(theme, term, s, e) for s, e in found)
            elif role == "a":
                if word_starts is None:
                    word_starts = [m.start() for m in _WORDS.finditer(text)]
                others = sorted(spans.get((theme, term, "b"), ()))
                limit = self.near[(theme, term)]
                for a_start, a_end in found:
                    best = _nearest(word_starts, (a_start, a_end), others, limit)
                    if best is not None:
                        hits.add(Hit(theme, term, min(a_start, best[0]), max(a_end, best[1])))
        if self.exclusions or any(role == "skip" for _, _, role in spans):
            hits = {hit for hit in hits if not _excluded(hit, spans)}
        return sorted(hits, key=lambda h: (h.start, h.end, h.theme, h.term))


def _word_index(word_starts: list[int], position: int) -> int:
    return bisect.bisect_right(word_starts, position) - 1


def _nearest(word_starts: list[int], span: tuple[int, int], others: list[tuple[int, int]],
             limit: int) -> tuple[int, int] | None:
    """The closest other span (by words between, then position) within ``limit`` words."""
    first, last = _word_index(word_starts, span[0]), _word_index(word_starts, span[1] - 1)
    best, best_key = None, None
    for other in others:
        if other[0] < span[1] and span[0] < other[1]:
            continue  # overlapping operands are not a pair
        other_first, other_last = _word_index(word_starts, other[0]), _word_index(word_starts, other[1] - 1)
        between = other_first - last - 1 if other[0] >= span[1] else first - other_last - 1
        if between <= limit:
            key = (between, other[0])
            if best_key is None or key < best_key:
                best, best_key = other, key
    return best


def _excluded(hit: Hit, spans: dict[tuple[str, str, str], set[tuple[int, int]]]) -> bool:
    for role_key in ((hit.theme, hit.term, "exclude"), (hit.theme, "*", "skip")):
        for start, end in spans.get(role_key, ()):
            if start <= hit.start and hit.end <= end:
                return True
    return False


def compile_codebook(codebook: Codebook) -> CompiledCodebook:
    return CompiledCodebook(codebook)


def match_text(text: str, compiled: CompiledCodebook) -> list[Hit]:
    return compiled.match(text)
