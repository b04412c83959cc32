"""What both matcher engines need: literal forms of codebook terms and how to read them.

A term's words become *literal forms*: hyphenated, spaced and closed forms of a phrase, British and
American spellings, a word's listed endings (``alter{,s,ed,ing}``) spelled out; a trailing ``*``
stays a wildcard (any ending). Each form becomes a :class:`Literal` the engines scan for (its part
up to the first wildcard is its *head*), and :func:`exact_pattern` is the form as a Python pattern
with the reference's meaning. Text is lower-cased by :func:`fold_case` (same length, so offsets
stay code points) and words are Python's ``\\w`` runs (:func:`word_starts`, per code point).
``matcher.py`` (pyahocorasick) and ``matcher_hyperscan.py`` both import from here and not from
each other.
"""

from __future__ import annotations

import functools
import itertools
import re
from dataclasses import dataclass

import numpy as np

_WORDS = re.compile(r"\w+")
_WORD_TAIL = re.compile(r"\w*")
_WHITESPACE = re.compile(r"\s+")
_ENDINGS = re.compile(r"\{([^{}]*)\}$")  # a word's listed endings: alter{,s,ed}

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


def is_word(ch: str) -> bool:
    """Python's ``re`` ``\\w`` for one character (alphanumeric in Unicode, or the underscore), quickly."""
    return ch.isalnum() or ch == "_"


def code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", errors="surrogatepass"), dtype=np.uint32).copy()


@functools.cache
def character_tables() -> tuple[np.ndarray, np.ndarray]:
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
    word = character_tables()[0][code_points(text)]
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


def word_endings(word: str) -> list[str]:
    """A word with its listed endings spelled out (``alter{,s,ed,ing}``: alter, alters, altered,
    altering); any other word as it is."""
    listed = _ENDINGS.search(word)
    if listed is None:
        return [word]
    stem = word[:listed.start()]
    return sorted({stem + ending for ending in listed.group(1).split(",")})


def phrase_forms(phrase: str, variants: bool = True) -> set[str]:
    """Every literal form of a phrase: each word with its listed endings spelled out; with
    ``variants``, each word in British and American spelling, and two words joined by a hyphen or a
    space also hyphenated, spaced and closed (co-production, co production, coproduction; joint
    working, joint-working, jointworking); a longer phrase as written, all spaced and all hyphenated
    (theory of change, theory-of-change). After a wildcard word there is no closed form
    (``work*closely`` would be ambiguous)."""
    tokens = re.split(r"([ -])", phrase)
    words, separators = tokens[0::2], tokens[1::2]
    if not variants:
        word_options = [word_endings(w) for w in words]
        joins = [tuple(separators)]
    else:
        word_options = [sorted(set().union(*(spelling_variants(e) for e in word_endings(w)))) for w in words]
        if len(words) == 2:
            joins = [("-",), (" ",)] + ([] if words[0].endswith("*") else [("",)])
        else:
            joins = list(dict.fromkeys([tuple(separators), ("-",) * len(separators), (" ",) * len(separators)]))
    forms = set()
    for chosen_words in itertools.product(*word_options):
        for chosen_separators in joins:
            text = chosen_words[0]
            for separator, word in zip(chosen_separators, chosen_words[1:], strict=True):
                text += separator + word
            forms.add(text)
    return forms


def exact_pattern(form: str) -> str:
    """A literal form (folded unless case-sensitive; ``*`` a wildcard) as a Python pattern with the
    reference's meaning: whole words, any run of white space for a space, ``\\w*`` for a wildcard."""
    body = "".join(r"\s+" if ch == " " else r"\w*" if ch == "*" else re.escape(ch) for ch in form)
    if re.match(r"\w", form[0]):
        body = r"(?<!\w)" + body
    if re.match(r"\w", form[-1]):
        body += r"(?!\w)"
    return body


@dataclass(frozen=True)
class Literal:
    key: tuple[str, str, str]  # (theme, term, role): "term", "a", "b", "exclude", "skip", "skip-a", "skip-b"
    text: str  # folded unless case-sensitive, single spaces; up to the first wildcard
    form: str  # the whole form, wildcards included
    wildcard: bool
    case_sensitive: bool
    rest: re.Pattern[str] | None = None  # after a wildcard inside the phrase: the rest of the phrase


def rest_pattern(rest: str) -> re.Pattern[str]:
    """The part of a form after its first wildcard, as a pattern for the collapsed text."""
    pattern = "".join(r"\w*" if ch == "*" else re.escape(ch) for ch in rest)
    if not rest.endswith("*") and is_word(rest[-1]):
        pattern += r"(?!\w)"
    return re.compile(pattern)


