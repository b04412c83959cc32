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
import functools
import itertools
import re
import sys
from dataclasses import dataclass
from typing import NamedTuple

import ahocorasick
import numpy as np

from sibkit.coding.codebook import Codebook, Term

_WORDS = re.compile(r"\w+")
_WORD_TAIL = re.compile(r"\w*")
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


def _is_word(ch: str) -> bool:
    """Python's ``re`` ``\\w`` for one character (alphanumeric in Unicode, or the underscore), quickly."""
    return ch.isalnum() or ch == "_"


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32).copy()


@functools.cache
def _character_tables() -> tuple[np.ndarray, np.ndarray]:
    """For every code point: whether Python's ``re`` counts it as a word character (``\\w``), and
    as white space (``\\s``)."""
    every = "".join(map(chr, range(0x110000)))
    tables = []
    for pattern in (_WORDS, _WHITESPACE):
        table = np.zeros(0x110000, dtype=bool)
        for found in pattern.finditer(every):
            table[found.start():found.end()] = True
        tables.append(table)
    return tables[0], tables[1]


def word_starts(text: str) -> np.ndarray:
    """Offsets where a word (a run of ``\\w``) starts, as ``re.finditer(r"\\w+", text)`` finds them."""
    word = _character_tables()[0][_code_points(text)]
    return np.flatnonzero(word & ~np.concatenate(([False], word[:-1])))


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
        code_points = _code_points(text)
        space = _character_tables()[1][code_points]
        keep = ~space
        keep[1:] |= ~space[:-1]  # a white-space character stays when the one before it is not white space
        kept = np.where(space, 32, code_points)[keep]
        self.text = kept.tobytes().decode("utf-32-le", errors="surrogatepass")
        self.offsets = np.flatnonzero(keep)  # original offset of each collapsed offset


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
        literals = self.literals
        for case_sensitive, automaton in self._automata.items():
            collapsed = _Collapsed(text if case_sensitive else fold_case(text))
            haystack = collapsed.text
            size = len(haystack)
            keys: list[tuple[str, str, str]] = []
            starts: list[int] = []
            stops: list[int] = []
            for end, (length, indexes) in automaton.iter(haystack):
                start = end - length + 1
                if start > 0 and _is_word(haystack[start - 1]) and _is_word(haystack[start]):
                    continue
                after = end + 1
                for index in indexes:
                    literal = literals[index]
                    stop = after
                    if literal.wildcard:
                        stop = _WORD_TAIL.match(haystack, stop).end()  # type: ignore[union-attr]
                    elif stop < size and _is_word(haystack[stop]) and _is_word(haystack[stop - 1]):
                        continue
                    keys.append(literal.key)
                    starts.append(start)
                    stops.append(stop)
            if keys:  # back to original offsets, all at once
                offsets = collapsed.offsets
                original_starts = offsets[np.array(starts)].tolist()
                original_ends = (offsets[np.array(stops) - 1] + 1).tolist()
                for key, start, end in zip(keys, original_starts, original_ends, strict=True):
                    found.setdefault(key, set()).add((start, end))
        return found

    def match(self, text: str) -> list[Hit]:
        """Every hit of every theme's terms in ``text``, sorted by position."""
        spans = self._spans(text)
        hits: set[Hit] = set()
        starts: np.ndarray | None = None
        for (theme, term, role), found in spans.items():
            if role == "term":
                hits.update(Hit(theme, term, s, e) for s, e in found)
            elif role == "a" and (theme, term, "b") in spans:
                if starts is None:
                    starts = word_starts(text)
                others = sorted(spans[(theme, term, "b")])
                limit = self.near[(theme, term)]
                for a_start, a_end in found:
                    best = _nearest(starts, (a_start, a_end), others, limit)
                    if best is not None:
                        hits.add(Hit(theme, term, min(a_start, best[0]), max(a_end, best[1])))
        if self.exclusions or any(role == "skip" for _, _, role in spans):
            hits = {hit for hit in hits if not _excluded(hit, spans)}
        return sorted(hits, key=lambda h: (h.start, h.end, h.theme, h.term))


def _word_index(starts: np.ndarray, position: int) -> int:
    return int(np.searchsorted(starts, position, side="right")) - 1


def _nearest(starts: np.ndarray, span: tuple[int, int], others: list[tuple[int, int]],
             limit: int) -> tuple[int, int] | None:
    """The closest other span (by words between, then position) within ``limit`` words.

    Only others starting between ``limit`` words before and after the span (plus the longest
    other span, in characters) can qualify, so only those are looked at."""
    first, last = _word_index(starts, span[0]), _word_index(starts, span[1] - 1)
    window = others
    if len(starts):
        longest = max(end - start for start, end in others)
        before, after = first - limit - 1, last + limit + 2  # word indexes bounding the qualifying others
        low_char = int(starts[before]) - longest if before >= 0 else -1
        high_char = int(starts[after]) if after < len(starts) else sys.maxsize
        window = others[bisect.bisect_left(others, (low_char, -1)):bisect.bisect_left(others, (high_char, -1))]
    best, best_key = None, None
    for other in window:
        if other[0] < span[1] and span[0] < other[1]:
            continue  # overlapping operands are not a pair
        other_first, other_last = _word_index(starts, other[0]), _word_index(starts, other[1] - 1)
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
