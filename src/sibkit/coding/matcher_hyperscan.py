"""The matcher's Hyperscan engine (a core dependency on x86-64; the ``fast`` extra is kept for old install
commands): candidate spans of every literal form from one native scan, finished and checked in Python
with the same meaning as the reference.

Hyperscan scans bytes, so a text is handed to it as ASCII of the same length: each non-ASCII
character becomes ``?`` (``str.encode("ascii", "replace")``), so byte offsets are code-point
offsets. An ASCII text is not lower-cased: the patterns are case-insensitive, and ASCII case is
the only case left (the Kelvin sign, the one non-ASCII character whose lower case is ASCII, is
replaced by ``k`` first). A form's *head* (its part up to the first wildcard) becomes a pattern:
``\\b`` where an ASCII word character meets the outside, the characters escaped, and a space as a
run of 1 to 16 of Python's ASCII white-space characters or ``?`` (``?`` may stand for a non-ASCII
space). Patterns have no start-of-match tracking, which would make the scan several times
slower: a start is the end less the head's length, or, across white space, found by stepping
back over the head's words and the runs between them (one way only: a word holds neither white
space nor ``?``). A gap longer than 16 is found by a pattern of its own (17 white-space
characters; a pattern that starts with a class of characters *not* white space would make the
whole scan slow), and the heads whose words meet there are checked at that place.

In an ASCII text the patterns decide exactly what the reference decides (Python's ``\\w`` and
``\\s`` agree with Hyperscan's on ASCII) except the end of a word after a wildcard, the rest of a
form after an inner wildcard, and a real ``?`` taken for white space: those are finished with the
form's exact Python pattern. In a text with non-ASCII characters (``?`` counts as a boundary and as
white space) the whole text is lower-cased once and every candidate is checked with the exact
pattern. Forms whose head holds a non-ASCII character or a ``?`` are left to Python altogether
(``str.find`` of their first word, then the exact pattern).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
from collections.abc import Sequence
from typing import Any

from sibkit import memo, paths
from sibkit.coding.forms import Literal, exact_pattern, fold_case
from sibkit.optional import require

_GAP_CLASS = rb"[\t\n\x0b\x0c\r\x1c-\x1f \x3f]"  # Python's \s among ASCII characters, and '?'
_GAP_BYTES = frozenset(b"\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f ?")
_MAX_GAP = 16  # white space between the words of a head, in one pattern; longer gaps: _LONG_GAP
_LONG_GAP = _GAP_CLASS + b"{%d}" % (_MAX_GAP + 1)  # reported at every end within a longer run
_GAP_RUN = re.compile(_GAP_CLASS + b"+")
_WORD_TAIL = re.compile(r"\w*")
_REST_WORD = re.compile(r"\W+(\w+)(\*?)")  # a rest's separator, its first word, and a wildcard after it
_NEXT_WORD = re.compile(r"\W+(\w+)")
_KELVIN = "\u212a"  # the one non-ASCII character whose lower case is ASCII ('k')

# how a pattern's reports are finished in an ASCII text
_TAKE = 0  # exact as reported
_TAIL = 1  # a trailing wildcard: the rest of the word is added
_FINISH = 2  # the form's exact pattern from the start decides (and gives the end)


def _ascii_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def _head_pattern(head: str, end_of_form: bool) -> bytes:
    """The Hyperscan pattern of a head (ASCII, without ``?``); ``end_of_form``: no wildcard follows."""
    out = [rb"\b"] if _ascii_word(head[0]) else []
    for ch in head:
        if ch == " ":
            out.append(_GAP_CLASS + b"{1,%d}" % _MAX_GAP)
        elif _ascii_word(ch):
            out.append(ch.encode())
        else:
            out.append(b"\\x%02x" % ord(ch))
    if end_of_form and _ascii_word(head[-1]):
        out.append(rb"\b")
    return b"".join(out)


def _collect(pattern_id: int, start: int, end: int, flags: int, found: list) -> None:
    found.append((pattern_id, end))


class _Entry:
    """One Hyperscan pattern: the literals it stands for and how its reports are finished."""

    __slots__ = ("always", "by_prefix", "by_word", "forms", "keys", "kind", "lengths", "spaced")

    def __init__(self, head: str, kind: int, indexes: list[int], literals: Sequence[Literal]) -> None:
        self.kind = kind
        self.keys = tuple(literals[i].key for i in indexes)
        by_form: dict[str, tuple[int, list[tuple[str, str, str]]]] = {}
        for index in indexes:  # literals of one form (a term and a NEAR operand, say) share a check
            by_form.setdefault(literals[index].form, (index, []))[1].append(literals[index].key)
        self.forms = tuple((index, tuple(keys)) for index, keys in by_form.values())
        self.lengths = tuple(len(word) for word in head.split(" "))  # the head's words, last first below
        self.spaced = len(self.lengths) > 1
        # forms "head* rest" whose rest starts with a separator: which of them can match is told by the
        # word after the wildcard's word ("chang*" is the head of 48 forms, "chang* to the service"...)
        self.by_prefix: dict[str, list[tuple[int, tuple]]] = {}  # the word's first three letters
        self.by_word: dict[str, list[tuple[int, tuple]]] = {}  # a whole word of one or two letters
        self.always: list[tuple[int, tuple]] = []  # forms the next word does not tell about
        for form in self.forms:
            literal = literals[form[0]]
            rest = literal.form.partition("*")[2]
            word = _REST_WORD.match(rest) if literal.wildcard and rest else None
            if word is None or not word.group(1).isascii():  # an ASCII word compares the same folded or not
                self.always.append(form)
            elif len(word.group(1)) >= 3:
                self.by_prefix.setdefault(word.group(1)[:3].lower(), []).append(form)
            elif word.group(2) != "*":
                self.by_word.setdefault(word.group(1).lower(), []).append(form)
            else:
                self.always.append(form)

    def forms_after(self, haystack: str, end: int) -> Sequence[tuple[int, tuple]]:
        """The forms that can match where this head ends at ``end``: a form whose rest starts with a
        separator and a word needs that word (its first three letters, or all of a shorter one) right
        after the wildcard's word; a necessary condition only, the form's pattern still decides."""
        if not self.by_prefix and not self.by_word:
            return self.forms
        after = _NEXT_WORD.match(haystack, _WORD_TAIL.match(haystack, end).end())  # type: ignore[union-attr]
        if after is None:
            return self.always
        word = after.group(1)  # lower-cased a few letters at a time: the keys are ASCII, which a character
        # lowered to two (such as 'İ') can never equal, whichever case mode the text is checked in
        found = self.by_prefix.get(word[:3].lower(), ()) if len(word) >= 3 else self.by_word.get(word.lower(), ())
        return [*found, *self.always] if found else self.always

    def start(self, data: bytes, end: int) -> int:
        """Where a report ending at ``end`` starts: back over the last word, then over each run of
        white space and the word before it."""
        lengths = self.lengths
        position = end - lengths[-1]
        for length in lengths[-2::-1]:
            position -= 1
            while position > 0 and data[position - 1] in _GAP_BYTES:
                position -= 1
            position -= length
        return position


def _database_key(hyperscan: Any, patterns: list[bytes], flags: int) -> str:
    return hashlib.sha256(repr((getattr(hyperscan, "__version__", ""), flags, patterns)).encode()).hexdigest()


def kept_database(hyperscan: Any, patterns: list[bytes], flags: int, key: str | None = None) -> Any | None:
    """The database of ``patterns`` as kept in the data folder by :func:`compiled_database`, or None
    when none is kept or the kept copy cannot be read (another CPU, a damaged file)."""
    found, serialised = memo.fetch(key or _database_key(hyperscan, patterns, flags), paths.data_dir() / "hyperscan")
    if not found:
        return None
    try:
        database = hyperscan.loadb(serialised, hyperscan.HS_MODE_BLOCK)
        database.scratch = hyperscan.Scratch(database)
    except Exception:  # made for another platform, or damaged
        return None
    return database


def compiled_database(hyperscan: Any, patterns: list[bytes], flags: int) -> Any:
    """A Hyperscan block-mode database of ``patterns``. Compiling the default codebook takes seconds,
    so the compiled database is kept in the user's data folder under a hash of the patterns, the flags
    and Hyperscan's version, and read back next time; a copy that cannot be read is compiled again
    and replaced."""
    key = _database_key(hyperscan, patterns, flags)
    database = kept_database(hyperscan, patterns, flags, key)
    if database is not None:
        return database
    database = hyperscan.Database()
    database.compile(expressions=patterns, ids=list(range(len(patterns))), flags=[flags] * len(patterns))
    memo.store(key, hyperscan.dumpb(database), paths.data_dir() / "hyperscan", keep=16)
    return database


class DatabaseNotKept(Exception):
    """``HyperscanScanner(..., kept_only=True)`` found no kept database for some of its patterns."""

    def __init__(self, hyperscan: Any, missing: list[tuple[list[bytes], int]]) -> None:
        super().__init__("no compiled Hyperscan database is kept for this codebook yet")
        self.hyperscan = hyperscan
        self.missing = missing

    def compile_in_background(self) -> threading.Thread:
        """Compile and keep the missing databases on a daemon thread (Hyperscan's compiler releases the
        GIL), so that the next run finds them; a process that ends first leaves them for next time."""
        def work() -> None:
            for patterns, flags in self.missing:
                with contextlib.suppress(Exception):  # a failed compile here is only a missed head start
                    compiled_database(self.hyperscan, patterns, flags)

        thread = threading.Thread(target=work, name="sibkit-hyperscan-compile", daemon=True)
        thread.start()
        return thread


class _LazyPatterns:
    """Each literal's exact pattern, compiled the first time a candidate needs it: most literals of a
    codebook are never checked in a run, and compiling all of them (thousands) took over a second."""

    __slots__ = ("_compiled", "_flags", "_sources")

    def __init__(self, sources: list[str], flags: int) -> None:
        self._sources = sources
        self._flags = flags
        self._compiled: list[re.Pattern[str] | None] = [None] * len(sources)

    def __getitem__(self, index: int) -> re.Pattern[str]:
        pattern = self._compiled[index]
        if pattern is None:
            pattern = self._compiled[index] = re.compile(self._sources[index], self._flags)
        return pattern


class HyperscanScanner:
    """Every span of every literal of a compiled codebook, found with Hyperscan."""

    def __init__(self, literals: Sequence[Literal], kept_only: bool = False) -> None:
        """``kept_only``: raise :class:`DatabaseNotKept` rather than compile a database that the data
        folder does not hold yet."""
        hyperscan = require("hyperscan", "fast", "the hyperscan matcher engine")
        missing: list[tuple[list[bytes], int]] = []
        # a NEAR operand (or skip-context operand) is worth finishing only where its partner may occur too
        partner_role = {"a": "b", "b": "a", "skip-a": "skip-b", "skip-b": "skip-a"}
        self._partner = {literal.key: (*literal.key[:2], partner_role[literal.key[2]]) for literal in literals
                         if literal.key[2] in partner_role}
        self.literals = literals
        self._databases: dict[bool, Any] = {}
        self._entries: dict[bool, list[_Entry]] = {}
        # per case mode: length of a head's word before a gap -> that word -> (entry, gap number)
        self._gap_words: dict[bool, dict[int, dict[bytes, list[tuple[_Entry, int]]]]] = {}
        self._slow: dict[bool, list[int]] = {False: [], True: []}  # literals left to Python
        sources = [exact_pattern(literal.form) for literal in literals]
        self._exact = _LazyPatterns(sources, 0)
        self._exact_ignore_case = _LazyPatterns(sources, re.IGNORECASE)
        for case_sensitive in (False, True):
            grouped: dict[tuple[bytes, int, str], list[int]] = {}
            for index, literal in enumerate(literals):
                if literal.case_sensitive != case_sensitive:
                    continue
                head = literal.text
                if not head.isascii() or "?" in head:
                    self._slow[case_sensitive].append(index)
                    continue
                if literal.rest is not None or not _ascii_word(head[-1]):
                    kind = _FINISH
                else:
                    kind = _TAIL if literal.wildcard else _TAKE
                pattern = _head_pattern(head, not literal.wildcard)
                grouped.setdefault((pattern, kind, head), []).append(index)
            if not grouped:
                continue
            # one order whatever the order of the forms (sets): the compiled database is kept by its patterns
            grouped = dict(sorted(grouped.items()))
            entries = [_Entry(head, kind, indexes, literals)
                       for (_, kind, head), indexes in grouped.items()]
            patterns = [pattern for pattern, _, _ in grouped]
            gap_words: dict[int, dict[bytes, list[tuple[_Entry, int]]]] = {}
            for entry, (_, _, head) in zip(entries, grouped, strict=True):
                words = head.split(" ")
                for gap, word in enumerate(words[:-1]):
                    folded = word.encode() if case_sensitive else word.lower().encode()
                    gap_words.setdefault(len(word), {}).setdefault(folded, []).append((entry, gap))
            if gap_words:
                patterns.append(_LONG_GAP)
            flags = 0 if case_sensitive else hyperscan.HS_FLAG_CASELESS
            if kept_only:
                database = kept_database(hyperscan, patterns, flags)
                if database is None:
                    missing.append((patterns, flags))
                    continue
            else:
                database = compiled_database(hyperscan, patterns, flags)
            self._databases[case_sensitive] = database
            self._entries[case_sensitive] = entries
            self._gap_words[case_sensitive] = gap_words
        if missing:
            raise DatabaseNotKept(hyperscan, missing)
        self._slow_keys = {literals[index].key for index in self._slow[False] + self._slow[True]}

    def spans(self, text: str) -> dict[tuple[str, str, str], set[tuple[int, int]]]:
        found: dict[tuple[str, str, str], set[tuple[int, int]]] = {}
        if not text:
            return found
        ascii_text = text.isascii()
        folded = ""  # a text with non-ASCII characters, lower-cased, to check candidates on
        if ascii_text:
            data = text.encode("ascii")
        else:
            folded = fold_case(text)
            data = text.encode("ascii", "replace")
        scans = []
        for case_sensitive, database in self._databases.items():
            scanned = data
            if not ascii_text and not case_sensitive and _KELVIN in text:
                scanned = text.replace(_KELVIN, "k").encode("ascii", "replace")
            reports: list[tuple[int, int]] = []
            database.scan(scanned, match_event_handler=_collect, context=reports)
            scans.append((case_sensitive, self._candidates(scanned, reports, self._entries[case_sensitive],
                                                           case_sensitive)))
        wanted = self._wanted_keys(scans)
        for case_sensitive, candidates in scans:
            if ascii_text:
                self._finish(text, data, candidates, self._exact if case_sensitive else self._exact_ignore_case,
                             found, wanted)
            else:
                self._finish(text if case_sensitive else folded, data, candidates, self._exact, found, wanted)
        for case_sensitive, indexes in self._slow.items():
            if ascii_text:  # a head with a non-ASCII character is nowhere in an ASCII text
                indexes = [index for index in indexes if self.literals[index].text.isascii()]
            if indexes:
                haystack = text if case_sensitive else folded or text.lower()
                self._python_only(haystack, indexes, found)
        return found

    def _wanted_keys(self, scans: list[tuple[bool, list[tuple[_Entry, int, int]]]]) -> set | None:
        """The keys worth finishing in this text: every key that may have a span here, less the NEAR
        (and skip-context) operands whose partner has none (no pair can form without it). None: all."""
        if not self._partner:
            return None
        present = set(self._slow_keys)  # a literal left to Python may have spans anywhere
        for entry in {entry for _, candidates in scans for entry, _, _ in candidates}:
            present.update(entry.keys)
        partner = self._partner
        return {key for key in present if key not in partner or partner[key] in present}

    def _candidates(self, data: bytes, reports: list[tuple[int, int]], entries: list[_Entry],
                    case_sensitive: bool) -> list[tuple[_Entry, int, int]]:
        """(entry, start, end) of each report, and of each head whose words meet at a long gap."""
        out = []
        count = len(entries)
        last_gap_end = -2
        for pattern_id, end in reports:
            if pattern_id < count:
                entry = entries[pattern_id]
                start = entry.start(data, end) if entry.spaced else end - entry.lengths[0]
                out.append((entry, start, end))
                continue
            if end == last_gap_end + 1:  # the same long gap, one character on
                last_gap_end = end
                continue
            last_gap_end = end
            gap_start = end - _MAX_GAP - 1  # a gap of white space longer than _MAX_GAP starts here
            while gap_start > 0 and data[gap_start - 1] in _GAP_BYTES:
                gap_start -= 1
            gap_end = _GAP_RUN.match(data, gap_start).end()  # type: ignore[union-attr]
            for length, words in self._gap_words[case_sensitive].items():
                before = data[max(0, gap_start - length):gap_start]
                for entry, gap in words.get(before if case_sensitive else before.lower(), ()):
                    # the head's words after this gap, then back from the gap over the words before it
                    position = gap_start - entry.lengths[gap]
                    for length_before in entry.lengths[gap - 1::-1] if gap else ():
                        position -= 1
                        while position > 0 and data[position - 1] in _GAP_BYTES:
                            position -= 1
                        position -= length_before
                    if position >= 0:
                        out.append((entry, position, -gap_end))  # a negative end: to be found by the pattern
        return out

    def _finish(self, haystack: str, data: bytes, candidates: list[tuple[_Entry, int, int]],
                exact: _LazyPatterns, found: dict, wanted: set | None = None) -> None:
        """Spans from candidates: taken as reported (a trailing wildcard's word finished) where the
        candidate and the characters around it hold no ``?``, else checked with the form's exact
        pattern on ``haystack`` (the text, lower-cased if it has non-ASCII characters), which gives
        the end. ``wanted``: only these keys get spans (see ``_wanted_keys``)."""
        live: dict[_Entry, tuple] = {}  # each entry's wanted keys
        for entry, start, end in candidates:
            if wanted is not None:
                keys = live.get(entry)
                if keys is None:
                    keys = live[entry] = tuple(key for key in entry.keys if key in wanted)
                if not keys:
                    continue
            else:
                keys = entry.keys
            kind = entry.kind
            if end >= 0 and kind != _FINISH and data.find(b"?", start - 1 if start else 0, end + 1) < 0:
                if kind == _TAIL:
                    end = _WORD_TAIL.match(haystack, end).end()  # type: ignore[union-attr]
                for key in keys:
                    spans = found.get(key)
                    if spans is None:
                        found[key] = {(start, end)}
                    else:
                        spans.add((start, end))
                continue
            for index, form_keys in entry.forms_after(haystack, end) if end >= 0 else entry.forms:
                match = exact[index].match(haystack, start)
                if match is not None:
                    span = (start, match.end())
                    for key in form_keys:
                        if wanted is None or key in wanted:
                            found.setdefault(key, set()).add(span)

    def _python_only(self, haystack: str, indexes: list[int], found: dict) -> None:
        """Forms Hyperscan is not given: each place their first word occurs, checked with their pattern."""
        for index in indexes:
            literal = self.literals[index]
            first = re.split(r"[ *]", literal.form)[0]
            pattern = self._exact[index]
            position = haystack.find(first)
            while position >= 0:
                match = pattern.match(haystack, position)
                if match is not None:
                    found.setdefault(literal.key, set()).add((position, match.end()))
                position = haystack.find(first, position + 1)
