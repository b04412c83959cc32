"""The fast matcher: every codebook term found in a text, with exact code-point offsets.

How it works (measured in benchmarks/bench_matcher.py): every literal form of every term (its
hyphenated, spaced and closed forms, British and American spellings) is found by one of two
engines that give the same spans. With the ``fast`` extra, Hyperscan scans the text once for all
of them (see matcher_hyperscan.py). Without it, the text is lower-cased without changing its
length, runs of white space are collapsed to one space (with an offset map back), and one
Aho-Corasick automaton (pyahocorasick) finds every form at once, overlaps included; each
candidate is then checked for word boundaries (Python's ``\\w``), extended over the rest of the
word for a trailing wildcard, and mapped back to the original offsets; a wildcard inside a phrase
is extended the same way and the rest of the phrase checked with a small pattern. The engine is
``compile_codebook(codebook, engine)``, else ``$SIBKIT_MATCHER_ENGINE``, else Hyperscan where it can
be imported. NEAR/n pairs (counting only the words next to each operand), exclusions and skip
contexts are resolved on the spans, and each hit is marked negated or not. The semantics are those
of the slow reference matcher in tests/test_coding_matcher.py, and property tests check that both
engines agree with it.
"""

from __future__ import annotations

import bisect
import functools
import importlib
import itertools
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

import ahocorasick
import numpy as np

from sibkit.coding.codebook import Codebook, Term, near_parts
from sibkit.errors import SibkitError

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
    """Every literal form of a phrase: words joined by a hyphen or a space also hyphenated, spaced
    and closed (co-production, co production, coproduction; joint working, joint-working,
    jointworking), each word in British and American spelling. After a wildcard word there is no
    closed form (``work*closely`` would be ambiguous)."""
    tokens = re.split(r"([ -])", phrase)
    words = tokens[0::2]
    if not variants:
        return {phrase}
    word_options = [sorted(spelling_variants(w)) for w in words]
    separator_options = [["-", " "] if before.endswith("*") else ["-", " ", ""]
                         for before in words[:-1]]
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
    negated: bool = False


# Negation: a hit is negated when one of these cues is among the NEGATION_WINDOW words before it in
# the same clause (a clause ends at . ; : ! ? or at "but", "however", "although", "though").
# "not only" is not a negation. Words are runs of \w with inner apostrophes (didn't, wasn’t).
NEGATION_WINDOW = 5
NEGATION_WORDS = frozenset({"not", "no", "never", "without", "nor", "neither", "lack", "lacks", "lacked", "lacking",
                            "failed", "fail", "fails", "failing", "absence", "absent", "cannot", "none", "nothing",
                            "little", "unable", "refused"})
_CLAUSE_END = re.compile(r"[.;:!?]|\b(?:but|however|although|though)\b", re.IGNORECASE)
_NEGATION_TOKEN = re.compile(r"\w+(?:['’]\w+)*")
# found in the lower-cased text wherever a cue is (and in some places where none is): where it is not,
# nothing is negated
_CUE_HINT = re.compile(r"\b(?:not?|nor|none|nothing|never|neither|without|lack\w*|fail\w*|absen\w*|cannot|little|"
                       r"unable|refused)\b|n['’]t\b")
# matches where at least NEGATION_WINDOW + 3 words are (each word atomic, so never split in two)
_ENOUGH_WORDS = re.compile(rf"(?:(?>\w+(?:['’]\w+)*)\W*){{{NEGATION_WINDOW + 3}}}")


def negated_at(text: str, start: int) -> bool:
    """Whether a hit starting at ``start`` is negated: a cue among the ``NEGATION_WINDOW`` words
    before it in its clause. Only the text just before the hit is read (widened until it holds
    enough whole words), so a long document costs no more than a short one."""
    low = max(0, start - 80)
    if _CUE_HINT.search(text[low:start].lower()) is None and (
            low == 0 or _ENOUGH_WORDS.search(text, low, start) is not None):
        return False  # the window's words all lie in these 80 characters, and none of them is a cue
    size = 80
    while True:
        low = max(0, start - size)
        tokens = list(_NEGATION_TOKEN.finditer(text, low, start))
        if tokens:  # a word running on past the hit's start (not'co, o'neill) is not before it
            whole = _NEGATION_TOKEN.match(text, tokens[-1].start())
            if whole is not None and whole.end() > start:
                tokens.pop()
        if low > 0 and tokens:
            tokens.pop(0)  # may be the cut-off end of a longer word
        if low == 0 or len(tokens) > NEGATION_WINDOW:
            break
        size *= 4
    clause = max((m.end() for m in _CLAUSE_END.finditer(text, low, start)), default=0)
    window = [t for t in tokens if t.start() >= clause][-NEGATION_WINDOW:]
    for index, token in enumerate(window):
        word = token.group().lower()
        if word == "not":
            following = window[index + 1] if index + 1 < len(window) else _NEGATION_TOKEN.search(text, token.end())
            if following is not None and following.group().lower() == "only":
                continue
        if word in NEGATION_WORDS or word.endswith(("n't", "n’t")):
            return True
    return False


@dataclass(frozen=True)
class _Literal:
    key: tuple[str, str, str]  # (theme, term, role): "term", "a", "b", "exclude", "skip", "skip-a", "skip-b"
    text: str  # folded unless case-sensitive, single spaces; up to the first wildcard
    form: str  # the whole form, wildcards included
    wildcard: bool
    case_sensitive: bool
    rest: re.Pattern[str] | None = None  # after a wildcard inside the phrase: the rest of the phrase


def _rest_pattern(rest: str) -> re.Pattern[str]:
    """The part of a form after its first wildcard, as a pattern for the collapsed text."""
    pattern = "".join(r"\w*" if ch == "*" else re.escape(ch) for ch in rest)
    if not rest.endswith("*") and _is_word(rest[-1]):
        pattern += r"(?!\w)"
    return re.compile(pattern)


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


ENGINES = ("hyperscan", "python")
ENGINE_VARIABLE = "SIBKIT_MATCHER_ENGINE"


@functools.cache
def hyperscan_available() -> bool:
    """Whether the ``hyperscan`` package (the ``fast`` extra) can be imported on this machine."""
    try:
        importlib.import_module("hyperscan")
    except ImportError:
        return False
    return True


def choose_engine(engine: str | None = None) -> str:
    """The engine to scan with: ``engine`` if given, else ``$SIBKIT_MATCHER_ENGINE``, else Hyperscan
    where it is installed and pyahocorasick (``python``) elsewhere. Both find the same hits."""
    chosen = (engine or os.environ.get(ENGINE_VARIABLE) or "").strip().lower() or None
    if chosen is None:
        return "hyperscan" if hyperscan_available() else "python"
    if chosen not in ENGINES:
        raise SibkitError(f"unknown matcher engine {chosen!r} (from {'the argument' if engine else ENGINE_VARIABLE}); "
                          f"use one of: {', '.join(ENGINES)}")
    return chosen


class CompiledCodebook:
    """A codebook turned into one automaton per case mode; reuse it for every document."""

    def __init__(self, codebook: Codebook, engine: str | None = None) -> None:
        self.codebook = codebook
        self.literals: list[_Literal] = []
        self.near: dict[tuple[str, str], int] = {}
        self.exclusions: set[tuple[str, str]] = set()
        self.skips: dict[str, list[str]] = {}
        for theme in codebook.themes:
            for term in theme.terms:
                self._add_term(theme.id, term)
                if term.exclude:
                    self.exclusions.add((theme.id, term.term))
            for context in theme.skip_contexts:
                near = near_parts(context)
                if near:
                    self._add(theme.id, context, "skip-a", near[0], True, False)
                    self._add(theme.id, context, "skip-b", near[2], True, False)
                    self.near[(theme.id, context)] = near[1]
                else:
                    self._add(theme.id, context, "skip", context, True, False)
                self.skips.setdefault(theme.id, []).append(context)
        self.engine = choose_engine(engine)
        if self.engine == "hyperscan":
            from sibkit.coding.matcher_hyperscan import HyperscanScanner

            self._scanner: HyperscanScanner | _AhoCorasickScanner = HyperscanScanner(self.literals)
        else:
            self._scanner = _AhoCorasickScanner(self.literals)

    def _add(self, theme: str, term: str, role: str, phrase: str, variants: bool, case_sensitive: bool) -> None:
        for form in phrase_forms(" ".join(phrase.split()), variants):
            if not case_sensitive:
                form = fold_case(form)
            head, star, rest = form.partition("*")
            self.literals.append(_Literal((theme, term, role), head, form, bool(star), case_sensitive,
                                          _rest_pattern(rest) if rest else None))

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
        return self._scanner.spans(text)

    def match(self, text: str) -> list[Hit]:
        """Every hit of every theme's terms in ``text``, sorted by position; a hit in a negated
        clause is marked ``negated`` (see ``NEGATION_WORDS``)."""
        spans = self._spans(text)
        hits: set[tuple[str, str, int, int]] = set()
        skipped: dict[str, set[tuple[int, int]]] = {}  # per theme: the spans of its skip contexts
        for (theme, term, role), found in spans.items():
            if role == "term":
                hits.update((theme, term, s, e) for s, e in found)
            elif role == "skip":
                skipped.setdefault(theme, set()).update(found)
            elif role in ("a", "skip-a") and (theme, term, role[:-1] + "b") in spans:
                pairs = near_pairs(text, found, spans[(theme, term, role[:-1] + "b")], self.near[(theme, term)])
                if role == "a":
                    hits.update((theme, term, s, e) for s, e in pairs)
                else:
                    skipped.setdefault(theme, set()).update(pairs)
        if self.exclusions or skipped:
            hits = {hit for hit in hits if not _excluded(hit, spans.get((hit[0], hit[1], "exclude"), ()),
                                                         skipped.get(hit[0], ()))}
        negation: dict[int, bool] = {}
        for _, _, start, _ in hits:
            if start not in negation:
                negation[start] = negated_at(text, start)
        return sorted((Hit(theme, term, start, end, negation[start]) for theme, term, start, end in hits),
                      key=lambda h: (h.start, h.end, h.theme, h.term))


class _AhoCorasickScanner:
    """The engine without the ``fast`` extra: pyahocorasick over the folded, collapsed text."""

    def __init__(self, literals: list[_Literal]) -> None:
        self.literals = literals
        self._automata: dict[bool, ahocorasick.Automaton] = {}
        for case_sensitive in (False, True):
            automaton = ahocorasick.Automaton()
            entries: dict[str, list[int]] = {}
            for index, literal in enumerate(literals):
                if literal.case_sensitive == case_sensitive:
                    entries.setdefault(literal.text, []).append(index)
            for text, indexes in entries.items():
                automaton.add_word(text, (len(text), tuple(indexes)))
            if entries:
                automaton.make_automaton()
                self._automata[case_sensitive] = automaton

    def spans(self, text: str) -> dict[tuple[str, str, str], set[tuple[int, int]]]:
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
                        if literal.rest is not None:
                            rest = literal.rest.match(haystack, stop)
                            if rest is None:
                                continue
                            stop = rest.end()
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

_WORD_START = re.compile(r"(?<!\w)\w")


def _word_starts_from(text: str, position: int, stop: int, count: int) -> list[int]:
    r"""Up to ``count`` offsets in ``[position, stop)`` where a word (a run of ``\w``) starts."""
    return [found.start() for found in itertools.islice(_WORD_START.finditer(text, position, stop), count)]


def near_pairs(text: str, a_spans: Iterable[tuple[int, int]], b_spans: Iterable[tuple[int, int]],
               limit: int) -> set[tuple[int, int]]:
    """The spans of ``A NEAR/limit B``: each A with its closest B that does not overlap it (fewest
    words between, then the first), joined into one span.

    Words between an A and a B after it are the word starts from A's end to B's start, less one
    (and the same with A and B swapped). Only words near the operands are read: the first B after
    an A is the best B after it, so its words are counted up to that B (at most ``limit + 2``); for
    each B, the words after it (at most ``limit + 2``) say which A's start close enough after it."""
    a_sorted, b_sorted = sorted(a_spans), sorted(b_spans)
    if not a_sorted or not b_sorted:
        return set()
    a_starts, b_starts = [a[0] for a in a_sorted], [b[0] for b in b_sorted]
    cap = limit + 2
    best: dict[tuple[int, int], tuple[int, int, int]] = {}  # A -> (words between, B's start, B's end)
    for a in a_sorted:
        index = bisect.bisect_left(b_starts, a[1])
        if index < len(b_sorted):
            b = b_sorted[index]
            between = len(_word_starts_from(text, a[1], b[0] + 1, cap)) - 1
            if between <= limit:
                best[a] = (between, b[0], b[1])
    last_a = a_starts[-1]
    for b in b_sorted:
        index = bisect.bisect_left(a_starts, b[1])
        if index == len(a_sorted):
            continue
        words = _word_starts_from(text, b[1], last_a + 1, cap)
        reach = words[-1] if len(words) == cap else sys.maxsize  # an A starting here or later is too far
        while index < len(a_sorted) and a_starts[index] < reach:
            a = a_sorted[index]
            key = (bisect.bisect_right(words, a[0]) - 1, b[0], b[1])
            current = best.get(a)
            if current is None or key < current:
                best[a] = key
            index += 1
    return {(min(a[0], b_start), max(a[1], b_end)) for a, (_, b_start, b_end) in best.items()}


def _excluded(hit: tuple[str, str, int, int], *span_sets: Iterable[tuple[int, int]]) -> bool:
    """Whether the hit lies inside one of the given spans (its term's exclusions, its theme's skips)."""
    for spans in span_sets:
        for start, end in spans:
            if start <= hit[2] and hit[3] <= end:
                return True
    return False


def compile_codebook(codebook: Codebook, engine: str | None = None) -> CompiledCodebook:
    """The codebook ready to match; ``engine`` as in :func:`choose_engine`."""
    return CompiledCodebook(codebook, engine)


def match_text(text: str, compiled: CompiledCodebook) -> list[Hit]:
    return compiled.match(text)
