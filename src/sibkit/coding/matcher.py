"""The fast matcher: every codebook term found in a text, with exact code-point offsets.

How it works (measured in benchmarks/bench_matcher.py): every literal form of every term (its
hyphenated, spaced and closed forms, British and American spellings, listed endings spelled out:
see ``forms.py``) is found by one of two engines that give the same spans. With the ``fast`` extra,
Hyperscan scans the text once for all of them (see matcher_hyperscan.py). Without it, the text is
lower-cased without changing its length, runs of white space are collapsed to one space (with an
offset map back), and one Aho-Corasick automaton (pyahocorasick) finds every form at once, overlaps
included; each candidate is then checked for word boundaries (Python's ``\\w``), extended over the
rest of the word for a trailing wildcard, and mapped back to the original offsets; a wildcard inside a
phrase is extended the same way and the rest of the phrase checked with a small pattern. The engine
is ``compile_codebook(codebook, engine)``, else ``$SIBKIT_MATCHER_ENGINE``, else Hyperscan where it
can be imported.

On the spans of both engines alike, the text's structure is respected (``sibkit.text.sentences``):
a span that runs over a sentence end, a paragraph break, a list item or a heading is dropped (a
phrase, an operand, an exclusion or a skip context), and ``A NEAR/n B`` (either order) or ``A PRE/n
B`` (A first) pairs only operands in one sentence, counting only the words next to each operand.
Exclusions and skip contexts then remove hits inside them, and each hit is marked negated or not
(a cue among the five words before it in its clause, where a clause also ends at a cut point, or,
for a NEAR pair, a cue between its two operands: "the service was not changed"). The
semantics are those of the slow reference matcher in tests/test_coding_matcher.py, and property
tests check that both engines agree with it.
"""

from __future__ import annotations

import bisect
import functools
import importlib
import itertools
import os
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import ahocorasick
import numpy as np

from sibkit.coding.codebook import Codebook, Term, near_parts
from sibkit.coding.forms import (
    Literal,
    character_tables,
    code_points,
    fold_case,
    is_word,
    phrase_forms,
    rest_pattern,
    spelling_variants,
    word_endings,
    word_starts,
)
from sibkit.errors import SibkitError
from sibkit.text.sentences import crosses, cut_points

__all__ = ["ENGINES", "ENGINE_VARIABLE", "NEGATION_WINDOW", "NEGATION_WORDS", "CompiledCodebook", "Hit",
           "choose_engine", "compile_codebook", "fold_case", "hyperscan_available", "match_text", "near_pairs",
           "negated_at", "phrase_forms", "spelling_variants", "word_endings", "word_starts"]
_WORD_TAIL = re.compile(r"\w*")

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


def negation_between(text: str, start: int, end: int) -> bool:
    """Whether a negation cue is among the words of ``text[start:end]`` (the gap between the two
    operands of a ``NEAR`` pair: "the service was not changed"); "not only" is no cue."""
    for token in _NEGATION_TOKEN.finditer(text, start, end):
        word = token.group().lower()
        if word == "not":
            following = _NEGATION_TOKEN.search(text, token.end())
            if following is not None and following.group().lower() == "only":
                continue
        if word in NEGATION_WORDS or word.endswith(("n't", "n’t")):
            return True
    return False


def negated_at(text: str, start: int, pages: Sequence[int] | None = None) -> bool:
    """Whether a hit starting at ``start`` is negated: a cue among the ``NEGATION_WINDOW`` words
    before it in its clause (which also ends at a cut point: a sentence end, paragraph break, list
    item or heading; ``pages`` as in ``sibkit.text.sentences``). Only the text just before the hit is
    read (widened until it holds enough whole words), so a long document costs no more than a short one."""
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
    cuts = cut_points(text, max(low, clause), start, pages)
    if cuts:
        clause = cuts[-1] + 1
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


class _Collapsed:
    """A text with white-space runs collapsed to one space, and the way back to original offsets."""

    def __init__(self, text: str) -> None:
        points = code_points(text)
        space = character_tables()[1][points]
        keep = ~space
        keep[1:] |= ~space[:-1]  # a white-space character stays when the one before it is not white space
        kept = np.where(space, 32, points)[keep]
        self.text = kept.tobytes().decode("utf-32-le", errors="surrogatepass")
        self.offsets = np.flatnonzero(keep)  # original offset of each collapsed offset


ENGINES = ("hyperscan", "python")
ENGINE_VARIABLE = "SIBKIT_MATCHER_ENGINE"


@functools.cache
def hyperscan_available() -> bool:
    """Whether the ``hyperscan`` package (a dependency on x86-64) can be imported on this machine."""
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


def describe_engine() -> str:
    """The matcher engine in use, in words, for ``sibkit --version`` and ``sibkit study check``."""
    try:
        engine = choose_engine()
    except SibkitError as exc:
        return f"none ({exc})"
    chosen = bool(os.environ.get(ENGINE_VARIABLE, "").strip())
    if engine == "hyperscan":
        if not hyperscan_available():
            return (f"hyperscan, asked for by {ENGINE_VARIABLE} but not installed "
                    "(it comes with pip install sibkit on x86-64)")
        return "hyperscan (native)" + (f", chosen by {ENGINE_VARIABLE}" if chosen else "")
    if chosen:
        return f"python (pyahocorasick; chosen by {ENGINE_VARIABLE})"
    return ("python (pyahocorasick; Hyperscan, faster, is not installed here: pip install sibkit brings it "
            "on x86-64)")


class CompiledCodebook:
    """A codebook turned into one automaton per case mode; reuse it for every document."""

    def __init__(self, codebook: Codebook, engine: str | None = None, kept_only: bool = False) -> None:
        """``kept_only``: with Hyperscan, raise ``DatabaseNotKept`` rather than compile its database."""
        self.codebook = codebook
        self.literals: list[Literal] = []
        self.near: dict[tuple[str, str], tuple[int, bool]] = {}  # (limit, ordered) of each NEAR or PRE pair
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
                    self.near[(theme.id, context)] = (near.limit, near.ordered)
                else:
                    self._add(theme.id, context, "skip", context, True, False)
                self.skips.setdefault(theme.id, []).append(context)
        # only a form with a space can run over a cut point (every cut point is white space)
        self._spaced = {literal.key for literal in self.literals if " " in literal.form}
        self.engine = choose_engine(engine)
        if self.engine == "hyperscan":
            from sibkit.coding.matcher_hyperscan import HyperscanScanner

            self._scanner: HyperscanScanner | _AhoCorasickScanner = HyperscanScanner(self.literals, kept_only)
        else:
            self._scanner = _AhoCorasickScanner(self.literals)

    def _add(self, theme: str, term: str, role: str, phrase: str, variants: bool, case_sensitive: bool) -> None:
        for form in phrase_forms(" ".join(phrase.split()), variants):
            if not case_sensitive:
                form = fold_case(form)
            head, star, rest = form.partition("*")
            self.literals.append(Literal((theme, term, role), head, form, bool(star), case_sensitive,
                                         rest_pattern(rest) if rest else None))

    def _add_term(self, theme: str, term: Term) -> None:
        near = term.near
        if near:
            self._add(theme, term.term, "a", near[0], term.variants, term.case_sensitive)
            self._add(theme, term.term, "b", near[2], term.variants, term.case_sensitive)
            self.near[(theme, term.term)] = (near.limit, near.ordered)
        else:
            self._add(theme, term.term, "term", term.term, term.variants, term.case_sensitive)
        for phrase in term.exclude:
            self._add(theme, term.term, "exclude", phrase, term.variants, False)

    def _spans(self, text: str) -> dict[tuple[str, str, str], set[tuple[int, int]]]:
        return self._scanner.spans(text)

    def match(self, text: str, pages: Sequence[int] | None = None) -> list[Hit]:
        """Every hit of every theme's terms in ``text``, sorted by position, none running over a cut
        point (``pages``: page start offsets, so a sentence running on to the next page is one); a hit
        in a negated clause is marked ``negated`` (see ``NEGATION_WORDS``)."""
        spans = self._spans(text)

        def crossing(start: int, end: int) -> bool:
            return crosses(text, start, end, pages)

        for key, found in spans.items():
            if key in self._spaced:
                spans[key] = {span for span in found if not crossing(*span)}
        hits: set[tuple[str, str, int, int]] = set()
        gaps: dict[tuple[str, str, int, int], list[tuple[int, int]]] = {}  # NEAR hits: between the operands
        skipped: dict[str, set[tuple[int, int]]] = {}  # per theme: the spans of its skip contexts
        for (theme, term, role), found in spans.items():
            if role == "term":
                hits.update((theme, term, s, e) for s, e in found)
            elif role == "skip":
                skipped.setdefault(theme, set()).update(found)
            elif role in ("a", "skip-a") and (theme, term, role[:-1] + "b") in spans:
                limit, ordered = self.near[(theme, term)]
                pairs = near_pairs_with_gaps(text, found, spans[(theme, term, role[:-1] + "b")], limit,
                                             ordered=ordered, crossing=crossing)
                if role == "a":
                    for (s, e), gap in pairs.items():
                        hits.add((theme, term, s, e))
                        gaps.setdefault((theme, term, s, e), []).append(gap)
                else:
                    skipped.setdefault(theme, set()).update(pairs)
        if self.exclusions or skipped:
            covers: dict[tuple[str, ...], _Cover] = {}  # each theme's skips, each term's exclusions: built once

            def cover(key: tuple[str, ...], found: Iterable[tuple[int, int]]) -> _Cover:
                made = covers.get(key)
                if made is None:
                    made = covers[key] = _Cover(found)
                return made

            def excluded(hit: tuple[str, str, int, int]) -> bool:
                theme, term, start, end = hit
                skips = skipped.get(theme)
                if skips and cover((theme,), skips).holds(start, end):
                    return True
                exclusions = spans.get((theme, term, "exclude"))
                return bool(exclusions) and cover((theme, term), exclusions).holds(start, end)

            hits = {hit for hit in hits if not excluded(hit)}
        negation: dict[int, bool] = {}
        for _, _, start, _ in hits:
            if start not in negation:
                negation[start] = negated_at(text, start, pages)
        return sorted((Hit(theme, term, start, end, negation[start] or any(
                          negation_between(text, *gap) for gap in gaps.get((theme, term, start, end), ())))
                       for theme, term, start, end in hits), key=lambda h: (h.start, h.end, h.theme, h.term))


class _AhoCorasickScanner:
    """The engine without the ``fast`` extra: pyahocorasick over the folded, collapsed text."""

    def __init__(self, literals: list[Literal]) -> None:
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
                if start > 0 and is_word(haystack[start - 1]) and is_word(haystack[start]):
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
                    elif stop < size and is_word(haystack[stop]) and is_word(haystack[stop - 1]):
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
               limit: int, *, ordered: bool = False,
               crossing: Callable[[int, int], bool] | None = None) -> set[tuple[int, int]]:
    """The spans of ``A NEAR/limit B`` (``ordered``: ``A PRE/limit B``, B after A): each A with its
    closest B that does not overlap it (fewest words between, then the first), joined into one span;
    with ``crossing``, a pair whose joined span it says runs over a cut point is no pair."""
    return set(near_pairs_with_gaps(text, a_spans, b_spans, limit, ordered=ordered, crossing=crossing))


def near_pairs_with_gaps(text: str, a_spans: Iterable[tuple[int, int]], b_spans: Iterable[tuple[int, int]],
                         limit: int, *, ordered: bool = False,
                         crossing: Callable[[int, int], bool] | None = None) -> dict[tuple[int, int], tuple[int, int]]:
    """:func:`near_pairs`, each joined span with the gap between its two operands (start, end).

    Words between an A and a B after it are the word starts from A's end to B's start, less one
    (and the same with A and B swapped). Only words near the operands are read: the first B after
    an A is the best B after it, so its words are counted up to that B (at most ``limit + 2``); for
    each B, the words after it (at most ``limit + 2``) say which A's start close enough after it. A
    pair that crosses a cut point is left out; a farther B on the same side crosses it too."""
    a_sorted, b_sorted = sorted(a_spans), sorted(b_spans)
    if not a_sorted or not b_sorted:
        return {}
    a_starts, b_starts = [a[0] for a in a_sorted], [b[0] for b in b_sorted]
    cap = limit + 2
    best: dict[tuple[int, int], tuple[int, int, int]] = {}  # A -> (words between, B's start, B's end)
    for a in a_sorted:
        index = bisect.bisect_left(b_starts, a[1])
        if index < len(b_sorted):
            b = b_sorted[index]
            between = len(_word_starts_from(text, a[1], b[0] + 1, cap)) - 1
            if between <= limit and not (crossing and crossing(a[0], b[1])):
                best[a] = (between, b[0], b[1])
    last_a = a_starts[-1]
    for b in () if ordered else b_sorted:
        index = bisect.bisect_left(a_starts, b[1])
        if index == len(a_sorted):
            continue
        words = _word_starts_from(text, b[1], last_a + 1, cap)
        reach = words[-1] if len(words) == cap else sys.maxsize  # an A starting here or later is too far
        while index < len(a_sorted) and a_starts[index] < reach:
            a = a_sorted[index]
            index += 1
            key = (bisect.bisect_right(words, a[0]) - 1, b[0], b[1])
            current = best.get(a)
            if (current is None or key < current) and not (crossing and crossing(b[0], a[1])):
                best[a] = key
    return {(min(a[0], b_start), max(a[1], b_end)): (min(a[1], b_end), max(a[0], b_start))
            for a, (_, b_start, b_end) in best.items()}


class _Cover:
    """Spans (a theme's skip contexts, a term's exclusions) asked whether one of them holds a hit: sorted
    by start with the farthest end reached so far, so each question is one bisection, not a pass."""

    __slots__ = ("reach", "starts")

    def __init__(self, spans: Iterable[tuple[int, int]]) -> None:
        ordered = sorted(spans)
        self.starts = [start for start, _ in ordered]
        self.reach = list(itertools.accumulate((end for _, end in ordered), max))

    def holds(self, start: int, end: int) -> bool:
        """Whether some span starts at or before ``start`` and ends at or after ``end``."""
        index = bisect.bisect_right(self.starts, start) - 1
        return index >= 0 and self.reach[index] >= end


# below this much text, compiling Hyperscan's database (3-7 s for the default codebook) costs more than
# its speed saves (about 0.05 s per MB against the Python engine, measured by benchmarks/bench_matcher.py)
SMALL_CORPUS_BYTES = 32 * 10**6


def compile_codebook(codebook: Codebook, engine: str | None = None, text_bytes: int | None = None) -> CompiledCodebook:
    """The codebook ready to match; ``engine`` as in :func:`choose_engine`.

    ``text_bytes``: about how much text will be matched. When the engine is left to sibkit and that is
    under ``SMALL_CORPUS_BYTES`` while Hyperscan's database for this codebook is not compiled yet,
    the Python engine (the same hits, no compile) matches this time and the database is compiled on
    a background thread for the next run."""
    if (engine is None and text_bytes is not None and text_bytes < SMALL_CORPUS_BYTES
            and not os.environ.get(ENGINE_VARIABLE, "").strip() and hyperscan_available()):
        from sibkit.coding.matcher_hyperscan import DatabaseNotKept

        try:
            return CompiledCodebook(codebook, "hyperscan", kept_only=True)
        except DatabaseNotKept as missing:
            missing.compile_in_background()
            return CompiledCodebook(codebook, "python")
    return CompiledCodebook(codebook, engine)


def match_text(text: str, compiled: CompiledCodebook, pages: Sequence[int] | None = None) -> list[Hit]:
    return compiled.match(text, pages)
