"""The matcher's Hyperscan engine (the ``fast`` extra): every literal form found by one native scan.

Hyperscan scans bytes, so a text is handed to it as ASCII of the same length: each non-ASCII
character becomes ``?`` (``str.encode("ascii", "replace")``), so byte offsets are code-point
offsets. Nothing is lower-cased first: the patterns are compiled case-insensitive (ASCII case is
all that is left once non-ASCII characters are ``?``; the Kelvin sign, the one non-ASCII character
whose lower case is ASCII, is replaced by ``k`` first). A form's part up to its first wildcard
becomes a pattern: its ASCII characters escaped, a space as a run of Python's ASCII white space
(or ``?``, which may stand for a non-ASCII space), ``\\b`` where a word character meets the outside,
and for a trailing wildcard ``\\w*\\b``. Leftmost starts are reported (a pattern made of literal
words and white-space runs has one start per end).

In an ASCII text these patterns decide exactly what the reference decides (Python's ``\\w`` and
``\\s`` agree with Hyperscan's on ASCII), so a hit is taken as reported; only a form with a wildcard
inside it is finished in Python (the rest of its word and the rest of the phrase). In a text with
non-ASCII characters the scan finds a superset (``?`` counts as a word boundary and as white space),
and each candidate is checked with the form's exact Python pattern on its lower-cased neighbourhood.
Forms whose part before the first wildcard holds a non-ASCII character or a ``?`` are left to
Python altogether (``str.find`` of their first word, then the exact pattern).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sibkit.optional import require

if TYPE_CHECKING:
    from sibkit.coding.matcher import _Literal

_ASCII_SPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f "  # Python's \s among ASCII characters
_SPACE_RUN = rb"[\t\n\x0b\x0c\r\x1c-\x1f \x3f]+"
_KELVIN = "\u212a"  # the one non-ASCII character whose lower case is ASCII ('k')

# how each pattern's reports are finished
_TAKE = 0  # exact as reported in an ASCII text
_TAKE_NO_QUESTION = 1  # exact in an ASCII text unless the span holds a real '?' (matched as white space)
_FINISH = 2  # a wildcard inside the form, or a head not ending in an ASCII word character: exact pattern


def _ascii_word(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def exact_pattern(form: str) -> str:
    """A literal form (folded unless case-sensitive; ``*`` a wildcard) as a Python pattern with the
    reference's meaning: whole words, any run of white space for a space, ``\\w*`` for a wildcard."""
    body = "".join(r"\s+" if ch == " " else r"\w*" if ch == "*" else re.escape(ch) for ch in form)
    if re.match(r"\w", form[0]):
        body = r"(?<!\w)" + body
    if re.match(r"\w", form[-1]):
        body += r"(?!\w)"
    return body


def _hyperscan_pattern(head: str, wildcard: bool, inner_wildcard: bool) -> tuple[bytes, int]:
    """The Hyperscan pattern of a form's head (ASCII, no ``?``) and how its reports are finished."""
    out = [rb"\b"] if _ascii_word(head[0]) else []
    for ch in head:
        if ch == " ":
            out.append(_SPACE_RUN)
        elif _ascii_word(ch):
            out.append(ch.encode())
        else:
            out.append(b"\\x%02x" % ord(ch))
    kind = _TAKE_NO_QUESTION if " " in head else _TAKE
    if inner_wildcard:
        kind = _FINISH  # Python finishes the word and the rest of the phrase
    elif _ascii_word(head[-1]):
        out.append(rb"\w*\b" if wildcard else rb"\b")
    else:
        kind = _FINISH
    return b"".join(out), kind


def _collect(pattern_id: int, start: int, end: int, flags: int, found: list) -> None:
    found.append((pattern_id, start, end))


class HyperscanScanner:
    """Every span of every literal of a compiled codebook, found with Hyperscan."""

    def __init__(self, literals: Sequence[_Literal]) -> None:
        hyperscan = require("hyperscan", "fast", "the hyperscan matcher engine")
        self.literals = literals
        self._databases: dict[bool, object] = {}
        # per case mode and pattern id: how to finish, the literal indexes, their keys
        self._entries: dict[bool, list[tuple[int, tuple[int, ...], tuple]]] = {}
        self._slow: dict[bool, list[int]] = {False: [], True: []}  # literals left to Python
        self._exact: list[re.Pattern[str]] = []
        self._exact_ignore_case: list[re.Pattern[str]] = []
        for literal in literals:
            pattern = exact_pattern(literal.form)
            self._exact.append(re.compile(pattern))
            self._exact_ignore_case.append(re.compile(pattern, re.IGNORECASE))
        for case_sensitive in (False, True):
            grouped: dict[tuple[bytes, int], list[int]] = {}
            for index, literal in enumerate(literals):
                if literal.case_sensitive != case_sensitive:
                    continue
                head = literal.text
                if not head.isascii() or "?" in head:
                    self._slow[case_sensitive].append(index)
                    continue
                pattern, kind = _hyperscan_pattern(head, literal.wildcard, literal.rest is not None)
                grouped.setdefault((pattern, kind), []).append(index)
            if not grouped:
                continue
            entries = [(kind, tuple(indexes), tuple(literals[i].key for i in indexes))
                       for (_, kind), indexes in grouped.items()]
            database = hyperscan.Database()
            flags = hyperscan.HS_FLAG_SOM_LEFTMOST | (0 if case_sensitive else hyperscan.HS_FLAG_CASELESS)
            patterns = [pattern for pattern, _ in grouped]
            database.compile(expressions=patterns, ids=list(range(len(patterns))), flags=[flags] * len(patterns))
            self._databases[case_sensitive] = database
            self._entries[case_sensitive] = entries

    def spans(self, text: str) -> dict[tuple[str, str, str], set[tuple[int, int]]]:
        found: dict[tuple[str, str, str], set[tuple[int, int]]] = {}
        if not text:
            return found
        ascii_text = text.isascii()
        folded = ""  # a text with non-ASCII characters, lower-cased, to check candidates on
        if ascii_text:
            data = text.encode("ascii")
        else:
            from sibkit.coding.matcher import fold_case

            data = text.encode("ascii", "replace")
            folded = fold_case(text)
        for case_sensitive, database in self._databases.items():
            scanned = data
            if not ascii_text and not case_sensitive and _KELVIN in text:
                scanned = text.replace(_KELVIN, "k").encode("ascii", "replace")
            reports: list[tuple[int, int, int]] = []
            database.scan(scanned, match_event_handler=_collect, context=reports)  # type: ignore[attr-defined]
            entries = self._entries[case_sensitive]
            if ascii_text:
                self._finish_ascii(text, data, reports, entries, case_sensitive, found)
            else:
                self._finish_unicode(text if case_sensitive else folded, reports, entries, found)
        for case_sensitive, indexes in self._slow.items():
            if indexes and not ascii_text:
                self._python_only(text if case_sensitive else folded, indexes, found)
        return found

    def _finish_ascii(self, text: str, data: bytes, reports: list[tuple[int, int, int]], entries: list,
                      case_sensitive: bool, found: dict) -> None:
        exact = self._exact if case_sensitive else self._exact_ignore_case
        for pattern_id, start, end in reports:
            kind, indexes, keys = entries[pattern_id]
            if kind == _TAKE or (kind == _TAKE_NO_QUESTION and data.find(b"?", start, end) < 0):
                for key in keys:
                    spans = found.get(key)
                    if spans is None:
                        found[key] = {(start, end)}
                    else:
                        spans.add((start, end))
                continue
            for index in indexes:
                match = exact[index].match(text, start)
                if match is not None:
                    found.setdefault(self.literals[index].key, set()).add((start, match.end()))

    def _finish_unicode(self, haystack: str, reports: list[tuple[int, int, int]], entries: list,
                        found: dict) -> None:
        """Check each candidate with its form's exact pattern on the folded text (or the text itself,
        for case-sensitive forms)."""
        exact = self._exact
        literals = self.literals
        for pattern_id, start, end in reports:
            kind, indexes, _ = entries[pattern_id]
            for index in indexes:
                match = exact[index].match(haystack, start)
                if match is None:
                    continue
                literal = literals[index]
                if kind != _FINISH and not literal.wildcard and match.end() != end:
                    continue  # a form without a wildcard matches where it was reported, or not at all
                found.setdefault(literal.key, set()).add((start, match.end()))

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
